"""A grading process of the service: claims jobs from the database queue and grades each in a
forked child through the same engine as ``grader grade`` (grader.grading.submission), from a
warm sandbox (grader.sandbox.zygote) kept per assignment. The child writes results.json under
``attempts/<id>/``; this process records it with ``queue.finish`` while renewing its lease, and
kills a child that outlives the submission's wall-clock limit (a crashed result says so).

When grader.yaml names a cluster backend (``backend: {kind: ray, ...}``), each job is sent
through the same seam as ``grader grade --backend ray`` (grader.grading.backends): this process
is the driver, writes the result through the results store when it comes back and records it,
and a thread renews the lease while the task runs on the cluster."""

from __future__ import annotations

import logging
import os
import re
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time
import traceback
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from grader.course.config import AssignmentConfig, CourseConfig
from grader.grading.backends import Backend, Graded, get_backend
from grader.grading.batch import EXIT_FAULT_RECORDED, Zygotes, child_result, limit_slot, warm_up
from grader.grading.options import (
    EXIT_GRADER_FAULT,
    GradeOptions,
    choose_sandbox,
    choose_seed,
    resolve_device,
    suite_sha256,
)
from grader.grading.plugin import SuiteError
from grader.grading.submission import crashed_result, grade_submission, with_digest
from grader.intake.identity import BatchEntry
from grader.results.store import AssignmentResults
from grader.sandbox.cgroups import BatchCgroups
from grader.sandbox.zygote import Zygote
from grader.service import queue
from grader.service.database import ServicePaths
from grader.service.models import GradingWorker, utcnow
from grader.service.uploads import materialize

log = logging.getLogger("grader.service.worker")
HARD_LIMIT_SLACK_S = 60  # beyond the submission's own limit, for start-up and writing
IDLE_POLL_S = 0.3
GRADING_NICENESS = 10
MAX_TRIES = 3  # claims of one job before it is recorded as crashed


def safe_filename(name: str) -> str:
    """The uploaded name reduced to a plain file name the engine accepts."""
    stem, dot, suffix = Path(name).name.rpartition(".")
    stem = re.sub(r"[^A-Za-z0-9_-]", "_", stem)[:80] or "submission"
    return f"{stem}{dot}{suffix.lower()}" if dot else stem


class GradingProcess:
    """One grading slot: a loop over the queue with at most one submission at a time."""

    def __init__(self, course: CourseConfig, paths: ServicePaths,
                 sessions: sessionmaker[Session], slot: int, *, insecure: bool = False,
                 timeout_s: float | None = None) -> None:
        self.course, self.paths, self.sessions, self.slot = course, paths, sessions, slot
        self.insecure, self.timeout_s = insecure, timeout_s
        self.name = f"{socket.gethostname()}:{os.getpid()}:{slot}"
        setting = next(iter(course.assignments.values())).sandbox if course.assignments \
            else "bwrap"
        # A cluster's nodes check their own sandbox (a node without one grades nothing).
        self.backend: Backend | None = get_backend(course) if course.backend.kind != "local" \
            else None
        self.sandbox = "bwrap" if self.backend is not None and setting == "bwrap" else \
            choose_sandbox(setting, insecure)
        self.cgroups = BatchCgroups.create() \
            if self.sandbox == "bwrap" and self.backend is None else None
        self.warm: tuple[str, Zygotes] | None = None
        self.scratch = Path(tempfile.mkdtemp(prefix="grader-service-"))
        os.chmod(self.scratch, 0o755)
        self.stopping = False

    def run(self) -> None:
        signal.signal(signal.SIGTERM, self._stop)
        signal.signal(signal.SIGINT, self._stop)
        last_sweep = 0.0
        try:
            while not self.stopping:
                try:
                    if time.monotonic() - last_sweep > queue.LEASE.total_seconds() / 3:
                        self._sweep()
                        last_sweep = time.monotonic()
                    with self.sessions() as db:
                        claimed = queue.claim(db, self.name)
                    if claimed is None:
                        time.sleep(IDLE_POLL_S)
                        continue
                    self.grade_or_fail(claimed)
                except SQLAlchemyError as exc:
                    # The database is away or busy: a job in hand keeps its lease until it
                    # runs out and is queued again; nothing is recorded half.
                    log.error("database error, retrying: %s", exc)
                    time.sleep(2)
        finally:
            self.close()

    def _stop(self, *_: object) -> None:
        self.stopping = True

    def _sweep(self) -> None:
        """Heartbeat for /health, and jobs of dead grading processes back to the queue."""
        with self.sessions() as db:
            row = db.get(GradingWorker, self.name) or GradingWorker(name=self.name)
            row.seen_at = utcnow()
            db.add(row)
            db.commit()
            stale = queue.requeue_stale(db)
        if stale:
            log.info("requeued %d jobs whose grading process stopped", stale)

    def options(self, cfg: AssignmentConfig, attempt_id: int) -> GradeOptions:
        return GradeOptions(
            out=self.paths.attempts / str(attempt_id), seed=choose_seed(cfg.seed, None),
            sandbox=self.sandbox, insecure=self.insecure,
            device="cpu" if self.backend is not None else  # the backend picks the nodes'
            resolve_device(cfg.device, cfg.torch_in_sandbox), workers=1,
            regrade=True, timeout_s=self.timeout_s, progress=False, cgroups=self.cgroups)

    def _zygotes(self, cfg: AssignmentConfig, opts: GradeOptions) -> Zygotes | None:
        """The warm sandbox for this assignment (one at a time: it shares the slot cgroup)."""
        if self.sandbox != "bwrap":
            return None
        if self.warm is not None and self.warm[0] == cfg.name:
            return self.warm[1]
        if self.warm is not None:
            self.warm[1].close()
        warm_up(cfg)
        limit_slot(cfg, opts, self.slot, baseline=None)
        self.warm = (cfg.name, Zygotes(cfg, opts, self.scratch))
        return self.warm[1]

    def grade_or_fail(self, claimed: queue.Claimed) -> None:
        """Grade; a job that cannot be graded (the grader's fault, or one that took its
        grading process down MAX_TRIES times) gets a crashed result saying so, instead of
        coming back forever."""
        why = None
        if claimed.tries > MAX_TRIES:
            why = f"grading was interrupted {claimed.tries - 1} times"
        else:
            try:
                self.grade(claimed)
                return
            except (SQLAlchemyError, KeyboardInterrupt):
                raise
            except Exception as exc:
                log.exception("grading attempt %d failed", claimed.attempt_id)
                why = f"the grader failed ({type(exc).__name__}: {exc})"
        self.record_crash(claimed, why)

    def record_crash(self, claimed: queue.Claimed, why: str) -> None:
        try:
            cfg = self.course.assignment(claimed.assignment)
            entry = BatchEntry(Path(claimed.filename), "graded", student_id=claimed.login,
                               display_name=claimed.display_name, late=claimed.late)
            result = crashed_result(cfg, entry, self.options(cfg, claimed.attempt_id), "",
                                    why).to_dict()
        except Exception:  # not even the assignment is known any more
            result = {"status": "crashed", "score": 0.0, "max_score": 0.0, "tests": [],
                      "error": f"grading did not finish: {why}", "student_id": claimed.login,
                      "assignment": claimed.assignment}
        with self.sessions() as db:
            queue.finish(db, self.paths, claimed, self.name, result,
                         self.course.service.counts, self.course.service.late_policy)

    def grade(self, claimed: queue.Claimed) -> None:
        cfg = self.course.assignment(claimed.assignment)
        opts = self.options(cfg, claimed.attempt_id)
        suite = suite_sha256(cfg)
        files = AssignmentResults.of(opts.out, cfg.name).student(claimed.login)
        started = time.monotonic()
        with tempfile.TemporaryDirectory(prefix="upload-", dir=self.scratch) as tmp:
            os.chmod(tmp, 0o755)
            path = materialize(self.paths.uploads, claimed.upload_sha256,
                               Path(tmp) / safe_filename(claimed.filename),
                               claimed.submitted_at.timestamp())
            entry = with_digest(BatchEntry(path, "graded", source=path,
                                           student_id=claimed.login,
                                           display_name=claimed.display_name,
                                           lms_id=claimed.login, late=claimed.late))
            if self.backend is not None:
                self._on_backend(self.backend, cfg, entry, opts, suite, claimed)
                return
            zygotes = self._zygotes(cfg, opts)
            zygote = zygotes.get(self.slot) if zygotes is not None else None
            files.results.unlink(missing_ok=True)  # a killed earlier try left its own
            code = self._fork(cfg, entry, opts, suite, zygote, claimed)
            if code is None:
                return  # the lease was lost: another process grades it
            result = child_result(cfg, entry, opts, suite, code, files)
        with self.sessions() as db:
            recorded = queue.finish(db, self.paths, claimed, self.name, result.to_dict(),
                                    self.course.service.counts,
                                    self.course.service.late_policy)
        log.info("graded attempt %d (%s, %s): %s %g/%g in %.1f s%s", claimed.attempt_id,
                 claimed.assignment, claimed.login, result.status, result.score,
                 result.max_score, time.monotonic() - started,
                 "" if recorded else " (lease lost: not recorded)")

    def _on_backend(self, backend: Backend, cfg: AssignmentConfig, entry: BatchEntry,
                    opts: GradeOptions, suite: str, claimed: queue.Claimed) -> None:
        """Grade one job on the cluster backend; this process writes its result (the
        backend's ``done`` comes after ``write_result``) and records it while the lease
        holds."""
        started = time.monotonic()
        graded: list[Graded] = []
        lost = threading.Event()
        finished = threading.Event()
        beat = threading.Thread(target=self._heartbeat, args=(claimed, finished, lost),
                                daemon=True)
        beat.start()
        try:
            backend.grade(cfg, [entry], opts, suite, graded.append)
        finally:
            finished.set()
            beat.join()
        if not graded:  # the backend ends every entry with done(); anything else is a fault
            raise RuntimeError(f"the {backend.name} backend returned no result")
        result = graded[0].result
        recorded = False
        if not lost.is_set():
            with self.sessions() as db:
                recorded = queue.finish(db, self.paths, claimed, self.name, result.to_dict(),
                                        self.course.service.counts,
                                        self.course.service.late_policy)
        log.info("graded attempt %d (%s, %s) on %s node %s: %s %g/%g in %.1f s%s",
                 claimed.attempt_id, claimed.assignment, claimed.login, backend.name,
                 graded[0].node, result.status, result.score, result.max_score,
                 time.monotonic() - started, "" if recorded else " (lease lost: not recorded)")

    def _heartbeat(self, claimed: queue.Claimed, finished: threading.Event,
                   lost: threading.Event) -> None:
        """Renew the lease while a cluster task runs (the main thread waits on Ray)."""
        while not finished.wait(queue.LEASE.total_seconds() / 3):
            try:
                with self.sessions() as db:
                    if not queue.renew(db, claimed.job_id, self.name):
                        lost.set()  # another process grades it; ours is not recorded
                        return
            except SQLAlchemyError as exc:
                log.error("database error renewing a lease, retrying: %s", exc)

    def _fork(self, cfg: AssignmentConfig, entry: BatchEntry, opts: GradeOptions, suite: str,
              zygote: Zygote | None, claimed: queue.Claimed) -> int | None:
        """Grade in a child; its exit code, or None when the lease was lost meanwhile."""
        hard_limit = (opts.timeout_s or cfg.limits.submission_timeout_s) + HARD_LIMIT_SLACK_S
        pid = os.fork()
        if pid == 0:
            os._exit(_child(cfg, entry, opts, suite, self.slot, zygote))
        started = renewed = time.monotonic()
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                return os.waitstatus_to_exitcode(status)
            now = time.monotonic()
            if now - renewed > queue.LEASE.total_seconds() / 3:
                renewed = now
                with self.sessions() as db:
                    if not queue.renew(db, claimed.job_id, self.name):
                        os.kill(pid, signal.SIGKILL)
                        os.waitpid(pid, 0)
                        return None
            if now - started > hard_limit:
                os.kill(pid, signal.SIGKILL)
            time.sleep(0.05)

    def close(self) -> None:
        if self.warm is not None:
            self.warm[1].close()
        if self.cgroups is not None:
            self.cgroups.close()
        shutil.rmtree(self.scratch, ignore_errors=True)


def _child(cfg: AssignmentConfig, entry: BatchEntry, opts: GradeOptions, suite: str,
           slot: int, zygote: Zygote | None) -> int:
    try:
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)  # pytest's own report is not ours to show
        torch = sys.modules.get("torch")
        if torch is not None:
            torch.set_num_threads(1)
        result = grade_submission(cfg, entry, opts, suite, slot, zygote)
        return EXIT_FAULT_RECORDED if result.grader_fault else 0
    except SuiteError as exc:
        sys.stderr.write(f"grader fault: {exc}\n")
        return EXIT_GRADER_FAULT
    except BaseException:
        traceback.print_exc()
        return EXIT_GRADER_FAULT


def _die_with_parent() -> None:
    """Linux: SIGKILL this process when the service that started it dies (its job's lease
    then runs out and the job is queued again)."""
    import ctypes

    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def main(argv: list[str] | None = None) -> int:
    """``python -m grader.service.worker --config grader.yaml --slot N``: one grading process
    (``grader serve`` starts them; ``grader serve --grading-only`` on other machines)."""
    import argparse

    from grader.course.config import load_config
    from grader.service.database import database_url, make_engine
    from grader.service.logs import setup_logging

    parser = argparse.ArgumentParser(prog="grader-service-worker")
    parser.add_argument("--config", type=Path, required=True)
    parser.add_argument("--slot", type=int, default=0)
    parser.add_argument("--insecure", action="store_true")
    parser.add_argument("--timeout", type=float)
    parser.add_argument("--with-parent", action="store_true")
    args = parser.parse_args(argv)
    if args.with_parent:
        _die_with_parent()
    # Below the web server's priority: acknowledging an upload at the deadline matters more
    # than grading it a moment sooner.
    os.nice(GRADING_NICENESS)
    setup_logging()
    course = load_config(args.config)
    paths = ServicePaths.of(course)
    sessions = sessionmaker(make_engine(database_url(course, paths)), expire_on_commit=False)
    GradingProcess(course, paths, sessions, args.slot, insecure=args.insecure,
                   timeout_s=args.timeout).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
