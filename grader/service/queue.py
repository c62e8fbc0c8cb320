"""The grading queue, kept in the database.

An upload is acknowledged only after its blob, its attempt row and its job are committed in one
transaction (``enqueue``). A grading process claims the oldest queued job (``claim``: a row lock
with SKIP LOCKED on PostgreSQL, an atomic conditional UPDATE on SQLite), holds a lease that it
renews while grading (``renew``), and records the result and closes the job in one transaction
(``finish``) only while it still holds the lease. A process killed mid-grading stops renewing;
``requeue_stale`` puts its job back, so every acknowledged attempt ends with exactly one result
(``results.attempt_id`` is unique; a regrade replaces it).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from grader.results.store import (
    AssignmentResults,
    StudentFiles,
    fsync_dir,
    write_text_atomic,
)
from grader.service.database import ServicePaths
from grader.service.models import (
    Attempt,
    AttemptResult,
    Job,
    Upload,
    User,
    utcnow,
)

LEASE = dt.timedelta(seconds=float(os.environ.get("GRADER_SERVICE_LEASE_S", "30")))
OPEN = ("queued", "running")


@dataclass(frozen=True)
class Claimed:
    """A job a grading process holds, with what it needs to grade it."""

    job_id: int
    attempt_id: int
    assignment: str
    login: str
    display_name: str
    upload_sha256: str
    filename: str
    submitted_at: dt.datetime
    late: bool
    tries: int  # this claim included


def enqueue(db: Session, user: User, assignment: str, sha256: str, size: int, filename: str,
            late: bool) -> Attempt:
    """The attempt and its job, in the caller's transaction (commit = acknowledged)."""
    if db.get(Upload, sha256) is None:
        db.add(Upload(sha256=sha256, size=size))
    number = (db.scalar(select(func.max(Attempt.number)).where(
        Attempt.user_id == user.id, Attempt.assignment == assignment)) or 0) + 1
    attempt = Attempt(user_id=user.id, assignment=assignment, number=number,
                      upload_sha256=sha256, filename=filename, late=late,
                      submitted_at=utcnow())
    db.add(attempt)
    db.flush()
    db.add(Job(attempt_id=attempt.id))
    return attempt


def regrade(db: Session, attempts: list[int]) -> int:
    """Queue a new grading of each attempt that has no open job; how many were queued."""
    busy = set(db.scalars(select(Job.attempt_id).where(Job.status.in_(OPEN),
                                                       Job.attempt_id.in_(attempts))))
    todo = [a for a in attempts if a not in busy]
    db.add_all(Job(attempt_id=a) for a in todo)
    return len(todo)


def claim(db: Session, worker: str) -> Claimed | None:
    """The oldest queued job, now running under ``worker``'s lease; None when none is queued.
    Commits."""
    now = utcnow()
    if db.get_bind().dialect.name == "postgresql":
        job_id = db.scalar(select(Job.id).where(Job.status == "queued").order_by(Job.id)
                           .limit(1).with_for_update(skip_locked=True))
    else:
        job_id = db.scalar(select(Job.id).where(Job.status == "queued").order_by(Job.id)
                           .limit(1))
    if job_id is None:
        db.commit()
        return None
    # Conditional: whoever else read the same id gets rowcount 0 and tries again later.
    taken = db.execute(update(Job).where(Job.id == job_id, Job.status == "queued").values(
        status="running", worker=worker, claimed_at=now, lease_until=now + LEASE,
        tries=Job.tries + 1)).rowcount
    if not taken:
        db.commit()
        return None
    row = db.execute(select(Job, Attempt, User).join(Attempt, Job.attempt_id == Attempt.id)
                     .join(User, Attempt.user_id == User.id).where(Job.id == job_id)).one()
    job, attempt, user = row
    claimed = Claimed(job.id, attempt.id, attempt.assignment, user.login, user.name,
                      attempt.upload_sha256, attempt.filename, attempt.submitted_at,
                      attempt.late, job.tries)
    db.commit()
    return claimed


def renew(db: Session, job_id: int, worker: str) -> bool:
    """Extend the lease; False when the job is no longer this worker's. Commits."""
    renewed = db.execute(update(Job).where(Job.id == job_id, Job.worker == worker,
                                           Job.status == "running")
                         .values(lease_until=utcnow() + LEASE)).rowcount
    db.commit()
    return bool(renewed)


def requeue_stale(db: Session) -> int:
    """Running jobs whose lease ran out (their process died) are queued again. Commits."""
    count = db.execute(update(Job).where(Job.status == "running", Job.lease_until < utcnow())
                       .values(status="queued", worker="", lease_until=None)).rowcount
    db.commit()
    return count


def finish(db: Session, paths: ServicePaths, claimed: Claimed, worker: str, result: dict,
           counts: str, late_policy: str) -> bool:
    """Record the result of a claimed job and close it, in one transaction, if the job is
    still this worker's; then make the student's counting attempt the one in results/.

    The counting copy is written and fsynced before that transaction: on SQLite every
    transaction holds the database's one write lock (BEGIN IMMEDIATE) and uploads wait on it,
    so inside it only a rename is left, unless another result of this student came in
    meanwhile (then the copy is written there, as the database now says)."""
    user = db.scalar(select(User).where(User.login == claimed.login))
    if not _still_ours(db, claimed, worker) or user is None:
        db.rollback()
        return False
    score = float(result.get("score") or 0.0)
    rows = [(a, s) for a, s in _graded(db, user.id, claimed.assignment)
            if a.id != claimed.attempt_id]
    rows.append((db.get(Attempt, claimed.attempt_id), score))
    expected = _counting(sorted(rows, key=lambda r: r[0].number), counts, late_policy)
    data = result if expected is None or expected.id == claimed.attempt_id else json.loads(
        db.scalar(select(AttemptResult.data).where(AttemptResult.attempt_id == expected.id)))
    db.commit()  # the reads' transaction: the lock is not held while files are written
    staged = _stage_counting(paths, expected, data, claimed)
    try:
        user = db.scalar(select(User).where(User.login == claimed.login).with_for_update())
        if not _still_ours(db, claimed, worker) or user is None:
            db.rollback()
            return False
        stored = db.scalar(select(AttemptResult).where(
            AttemptResult.attempt_id == claimed.attempt_id))
        if stored is None:
            stored = AttemptResult(attempt_id=claimed.attempt_id)
            db.add(stored)
        stored.status = str(result.get("status", "ok"))
        stored.score = score
        stored.max_score = float(result.get("max_score") or 0.0)
        stored.data = json.dumps(result)
        stored.graded_at = utcnow()
        db.execute(update(Job).where(Job.id == claimed.job_id).values(
            status="done", finished_at=utcnow(), lease_until=None))
        db.flush()
        now = counting_attempt(db, user.id, claimed.assignment, counts, late_policy)
        if staged is not None and now is not None and now.id == expected.id:
            staged.install()
            staged = None
        else:
            publish_counting(db, paths, user, claimed.assignment, counts, late_policy)
        db.commit()
    finally:
        if staged is not None:
            staged.discard()
    fsync_dir(AssignmentResults.of(paths.results, claimed.assignment)
               .student(claimed.login).folder)
    return True


def _still_ours(db: Session, claimed: Claimed, worker: str) -> bool:
    """The job is running under ``worker``'s lease (read afresh from the database)."""
    return db.scalar(select(func.count()).select_from(Job).where(
        Job.id == claimed.job_id, Job.status == "running", Job.worker == worker)) == 1


def _graded(db: Session, user_id: int, assignment: str) -> list[tuple[Attempt, float]]:
    return [(a, s) for a, s in db.execute(
        select(Attempt, AttemptResult.score)
        .join(AttemptResult, AttemptResult.attempt_id == Attempt.id)
        .where(Attempt.user_id == user_id, Attempt.assignment == assignment)
        .order_by(Attempt.number))]


def _counting(rows: list[tuple[Attempt, float]], counts: str,
              late_policy: str) -> Attempt | None:
    """The counting attempt among graded ``rows`` (in attempt order): see counting_attempt."""
    if late_policy == "on_time_counts" and any(not a.late for a, _ in rows):
        rows = [(a, s) for a, s in rows if not a.late]
    if not rows:
        return None
    if counts == "best":
        return max(rows, key=lambda r: (r[1], r[0].number))[0]
    return rows[-1][0]


def counting_attempt(db: Session, user_id: int, assignment: str, counts: str,
                     late_policy: str) -> Attempt | None:
    """The attempt that is the student's grade: the last graded one, or the best (ties: the
    later); with ``on_time_counts``, late attempts count only when no on-time one is graded."""
    return _counting(_graded(db, user_id, assignment), counts, late_policy)


def attempt_files(paths: ServicePaths, attempt: Attempt, login: str) -> StudentFiles:
    return AssignmentResults.of(paths.attempts / str(attempt.id), attempt.assignment) \
        .student(login)


def _results_text(data: dict) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def publish_counting(db: Session, paths: ServicePaths, user: User, assignment: str,
                     counts: str, late_policy: str) -> None:
    """Copy the counting attempt's results.json and graded code into results/ (the layout
    ``grader report`` reads)."""
    attempt = counting_attempt(db, user.id, assignment, counts, late_policy)
    if attempt is None:
        return
    source = attempt_files(paths, attempt, user.login)
    target = AssignmentResults.of(paths.results, assignment).student(user.login)
    stored = db.scalar(select(AttemptResult.data).where(AttemptResult.attempt_id == attempt.id))
    write_text_atomic(target.results, _results_text(json.loads(stored)))
    if source.graded_module.is_file():
        write_text_atomic(target.graded_module, source.graded_module.read_text())
    else:
        Path(target.graded_module).unlink(missing_ok=True)


@dataclass
class _Staged:
    """results/ files of a counting attempt, written and fsynced under temporary names."""

    moves: list[tuple[Path, Path]]  # (temporary, final)
    remove: Path | None             # a graded_module.py the counting attempt does not have

    def install(self) -> None:
        for tmp, final in self.moves:
            os.replace(tmp, final)
        if self.remove is not None:
            self.remove.unlink(missing_ok=True)

    def discard(self) -> None:
        for tmp, _ in self.moves:
            tmp.unlink(missing_ok=True)


def _stage_counting(paths: ServicePaths, attempt: Attempt | None, data: dict,
                    claimed: Claimed) -> _Staged | None:
    """The results/ files of ``attempt`` (whose result is ``data``), staged."""
    if attempt is None:
        return None
    source = attempt_files(paths, attempt, claimed.login)
    target = AssignmentResults.of(paths.results, claimed.assignment).student(claimed.login)
    staged = _Staged([(_fsynced_temp(target.results, _results_text(data)), target.results)],
                     None)
    if source.graded_module.is_file():
        staged.moves.append((_fsynced_temp(target.graded_module,
                                           source.graded_module.read_text()),
                             target.graded_module))
    else:
        staged.remove = target.graded_module
    return staged


def _fsynced_temp(final: Path, text: str) -> Path:
    """``text`` in a durable temporary file beside ``final`` (renamed over it later)."""
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{final.name}.", suffix=".tmp", dir=final.parent)
    with os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
        out.write(text)
        out.flush()
        os.fsync(out.fileno())
    os.chmod(name, 0o644)  # readable by TAs and web servers, as write_text_atomic makes it
    return Path(name)


def queue_place(db: Session, attempt_id: int) -> tuple[str, int]:
    """The attempt's job status (queued/running/done) and, while queued, how many jobs are
    ahead of it (running ones included)."""
    job = db.scalar(select(Job).where(Job.attempt_id == attempt_id).order_by(Job.id.desc())
                    .limit(1))
    if job is None:
        return "done", 0
    if job.status != "queued":
        return job.status, 0
    ahead = db.scalar(select(func.count()).select_from(Job).where(
        Job.status == "running")) or 0
    ahead += db.scalar(select(func.count()).select_from(Job).where(
        Job.status == "queued", Job.id < job.id)) or 0
    return "queued", ahead
