"""Accepting an upload and showing attempts: the rules shared by the pages and the JSON API.

An upload passes the same intake as ``grader grade`` (grader.intake.staging.stage) before it is
acknowledged, so a refusal comes back at once with the engine's own message and does not use
an attempt. The late policy, the attempt cap and the per-student rate limit of grader.yaml's
``service:`` are checked again inside the transaction that records the attempt.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from grader.authoring.release import starter_text
from grader.course.config import AssignmentConfig, CourseConfig
from grader.course.visibility import student_view
from grader.intake.notebook import sandbox_packages
from grader.intake.staging import stage
from grader.service import queue, uploads
from grader.service.database import ServicePaths
from grader.service.models import (
    AssignmentState,
    Attempt,
    AttemptResult,
    GradingWorker,
    Job,
    User,
    utcnow,
)
from grader.service.worker import safe_filename

RATE_WINDOW = dt.timedelta(hours=1)
# One intake at a time per process: CPython 3.11's ast.parse is not safe in concurrent threads
# (it fails with "AST constructor recursion depth mismatch"), and a valid upload refused for
# that would be the service's fault. Staging a .py takes milliseconds.
AST_LOCK = threading.Lock()
# Removing an upload's scratch folder costs milliseconds of directory updates on a busy disk:
# done by this one thread after the acknowledgement, not by the request.
_DISCARD = ThreadPoolExecutor(max_workers=1, thread_name_prefix="discard-scratch")
STALE_SCRATCH_S = 3600  # scratch folders a killed service left behind


class Refused(Exception):
    """An upload or request the service refuses; ``status`` is the HTTP status to answer."""

    def __init__(self, status: int, message: str, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.retry_after = status, message, retry_after


@dataclass
class Service:
    """What every request needs: the course, the data folder and the database."""

    course: CourseConfig
    paths: ServicePaths
    sessions: sessionmaker[Session]
    database: str  # for /health and the start-up line, without password
    secure_cookies: bool = False
    _starters: dict[str, str | None] = field(default_factory=dict)

    def assignment(self, name: str) -> AssignmentConfig:
        if name not in self.course.assignments:
            raise Refused(404, f"there is no assignment {name!r}")
        return self.course.assignments[name]

    def starter(self, cfg: AssignmentConfig) -> str | None:
        if cfg.name not in self._starters:
            self._starters[cfg.name] = starter_text(cfg)
        return self._starters[cfg.name]

    @cached_property
    def scratch(self) -> Path:
        folder = self.paths.root / "incoming"
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.iterdir():
            if old.stat().st_mtime < time.time() - STALE_SCRATCH_S:
                _DISCARD.submit(shutil.rmtree, old, ignore_errors=True)
        return folder


@dataclass(frozen=True)
class Standing:
    """A student's position on one assignment."""

    used: int
    left: int | None  # None: no cap
    late_now: bool


def standing(db: Session, service: Service, user: User, cfg: AssignmentConfig) -> Standing:
    used = db.scalar(select(func.count()).select_from(Attempt).where(
        Attempt.user_id == user.id, Attempt.assignment == cfg.name)) or 0
    cap = service.course.service.max_attempts
    return Standing(used, max(cap - used, 0) if cap else None,
                    cfg.due is not None and utcnow() > cfg.due)


def _check_rules(db: Session, service: Service, user: User, cfg: AssignmentConfig) -> bool:
    """Raises Refused when the rules forbid another attempt now; returns whether it is late."""
    rules = service.course.service
    late = cfg.due is not None and utcnow() > cfg.due
    if late and rules.late_policy == "refuse":
        raise Refused(403, f"{cfg.name} was due {cfg.due.isoformat()}; late submissions are "
                      "not accepted")
    mine = (Attempt.user_id == user.id, Attempt.assignment == cfg.name)
    used = db.scalar(select(func.count()).select_from(Attempt).where(*mine)) or 0
    if rules.max_attempts and used >= rules.max_attempts:
        raise Refused(403, f"you have used all {rules.max_attempts} attempts of {cfg.name}; "
                      "your grade is the attempt shown on the assignment page")
    if rules.uploads_per_hour:
        since = utcnow() - RATE_WINDOW
        recent = list(db.scalars(select(Attempt.submitted_at).where(
            Attempt.user_id == user.id, Attempt.submitted_at > since)
            .order_by(Attempt.submitted_at)))
        if len(recent) >= rules.uploads_per_hour:
            wait = int((recent[0] + RATE_WINDOW - utcnow()).total_seconds()) + 1
            raise Refused(429, f"at most {rules.uploads_per_hour} uploads per hour: try "
                          f"again in {wait // 60} min {wait % 60} s", retry_after=wait)
    return late


def accept_upload(service: Service, user_id: int, cfg: AssignmentConfig, filename: str,
                  stream: BinaryIO) -> Attempt:
    """Check, store and queue an upload; the returned attempt is committed (acknowledged)."""
    with service.sessions() as db:
        _check_rules(db, service, db.get(User, user_id), cfg)
    # Received into scratch space, checked by the intake, and kept only when accepted: a
    # refused upload never enters the store.
    tmp = tempfile.mkdtemp(dir=service.scratch)
    try:
        received = Path(tmp) / "received"
        sha, size = uploads.receive(stream, received)
        copy = Path(tmp) / "upload" / safe_filename(filename)
        copy.parent.mkdir()
        shutil.copyfile(received, copy)
        with AST_LOCK:
            sub = stage(copy, cfg.module, Path(tmp) / "work", starter=service.starter(cfg),
                        packages=sandbox_packages(cfg.torch_in_sandbox))
        if sub.error is not None:
            raise Refused(422, sub.error)
        uploads.keep(service.paths.uploads, received, sha)
    finally:
        _DISCARD.submit(shutil.rmtree, tmp, ignore_errors=True)
    with service.sessions() as db:
        user = db.scalar(select(User).where(User.id == user_id).with_for_update())
        late = _check_rules(db, service, user, cfg)
        attempt = queue.enqueue(db, user, cfg.name, sha, size, Path(filename).name[:255], late)
        db.commit()
        return attempt


def published(db: Session, assignment: str) -> bool:
    state = db.get(AssignmentState, assignment)
    return bool(state and state.published)


@dataclass(frozen=True)
class AttemptView:
    """An attempt as its student may see it."""

    attempt: Attempt
    status: str               # queued | running | the result's status
    ahead: int                # jobs before it while queued
    result: dict[str, Any] | None  # the full result (staff) ...
    view: dict[str, Any] | None    # ... and what the student may see of it

    def api(self) -> dict[str, Any]:
        return {"id": self.attempt.id, "assignment": self.attempt.assignment,
                "status": self.status, "score": self.view["score"] if self.view else None,
                "max_score": self.result["max_score"] if self.result else None,
                "attempt": self.attempt.number, "late": self.attempt.late,
                "submitted_at": self.attempt.submitted_at.isoformat(timespec="seconds"),
                **({"queue_position": self.ahead + 1} if self.status == "queued" else {})}


def visible_attempt(db: Session, user: User, attempt_id: int) -> Attempt:
    """The attempt if this user may see it: their own, or any for staff; else 404 (the same
    answer whether or not it exists)."""
    attempt = db.get(Attempt, attempt_id)
    if attempt is None or (attempt.user_id != user.id and not user.is_staff):
        raise Refused(404, "no such submission")
    return attempt


def attempt_view(db: Session, service: Service, attempt: Attempt) -> AttemptView:
    status, ahead = queue.queue_place(db, attempt.id)
    stored = db.scalar(select(AttemptResult).where(AttemptResult.attempt_id == attempt.id))
    result = json.loads(stored.data) if stored is not None else None
    view = None
    if result is not None:
        cfg = service.course.assignments.get(attempt.assignment)
        view = student_view(result, utcnow(), cfg.due if cfg else None,
                            published(db, attempt.assignment))
    if status == "done" or (result is not None and status not in ("queued", "running")):
        status = str(result["status"]) if result is not None else "queued"
    return AttemptView(attempt, status, ahead, result, view)


def history(db: Session, user: User, assignment: str) -> list[Attempt]:
    return list(db.scalars(select(Attempt).where(
        Attempt.user_id == user.id, Attempt.assignment == assignment)
        .order_by(Attempt.number.desc())))


def open_jobs(db: Session) -> dict[str, int]:
    """Queued and running jobs, and the grading processes seen within three leases."""
    rows = db.execute(select(Job.status, func.count()).where(Job.status.in_(queue.OPEN))
                      .group_by(Job.status)).all()
    alive = db.scalar(select(func.count()).select_from(GradingWorker).where(
        GradingWorker.seen_at > utcnow() - 3 * queue.LEASE)) or 0
    return {"queued": 0, "running": 0, **{s: n for s, n in rows}, "grading_processes": alive}
