"""The one way to get a sandboxed worker: ``start_worker``. Grading code never knows whether
it was started cold (``bwrap.WorkerProcess``) or forked from a warm zygote
(``zygote.ZygoteWorker``); both are a ``Worker``.

A worker announces itself with a ``ready`` frame before it reads any request, so before any
student code runs. A worker that dies or hangs before that frame failed because of the
grader's environment (the interpreter, numpy or the isolation could not start):
``SandboxFault``, a grader fault, never a student's error.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Protocol

from grader.sandbox import wire
from grader.sandbox.bwrap import SandboxSpec, WorkerProcess
from grader.sandbox.zygote import Zygote, ZygoteError, ZygoteWorker

# A cold worker imports numpy (and torch) under bwrap first: seconds on a loaded machine.
START_TIMEOUT_S = 120.0
MAX_READY_FRAME = 1 << 10


class Worker(Protocol):
    """A running sandboxed worker, as the trusted proxy (grader.grading.proxy) uses it."""

    to_worker: int          # pipe the proxy writes requests to
    from_worker: int        # pipe the proxy reads replies from
    submission_path: str    # the submission's folder as the worker sees it
    tree_pid: int           # a host pid whose process tree holds the worker (CPU fallback)

    def kill(self) -> None:
        """Kill the worker and everything it started; closes both pipes."""

    def wait_exit(self, timeout: float) -> None:
        """Wait up to ``timeout`` s for the worker to have ended."""

    def exit_description(self) -> str:
        """How the worker ended, in words ("exit status 1", "killed by signal SIGKILL")."""


class SandboxFault(RuntimeError):
    """The sandbox could not start a worker: the grader's fault, not the submission's."""


def staging_root(pool: Zygote | None) -> Path | None:
    """Where a submission must be staged for ``start_worker`` to reach it (None: anywhere)."""
    return pool.inbox if pool is not None and pool.usable else None


def start_worker(spec: SandboxSpec, out_fd: int, arena_fd: int,
                 pool: Zygote | None = None) -> Worker:
    """A ready worker for the submission in ``spec.submission_dir``, printing into ``out_fd``
    and mapping call arguments from the shared arena ``arena_fd``: forked from ``pool`` when
    it is alive and the submission is staged in its inbox, else started cold. Raises
    SandboxFault when the worker dies before it is ready."""
    worker: Worker | None = None
    if pool is not None and pool.usable:
        try:
            name = spec.submission_dir.relative_to(pool.inbox).as_posix()
            worker = ZygoteWorker(pool, name, out_fd, arena_fd)
        except (ValueError, ZygoteError):
            worker = None  # not staged there, or the zygote died: start this one cold
    if worker is None:
        try:
            worker = WorkerProcess(spec, out_fd, arena_fd)
        except OSError as exc:
            raise SandboxFault(f"the sandboxed worker could not be started ({exc})") from None
    _await_ready(worker)
    return worker


def _await_ready(worker: Worker) -> None:
    try:
        frame = wire.read_frame(worker.from_worker, time.monotonic() + START_TIMEOUT_S,
                                MAX_READY_FRAME)
        ready = wire.decode(frame) == {"op": "ready"}
    except (wire.FrameTimeout, wire.FrameEOF, wire.WireError, OSError):
        ready = False
    if not ready:
        worker.wait_exit(timeout=5)
        how = worker.exit_description()
        worker.kill()
        raise SandboxFault("the sandboxed worker failed before loading the submission "
                           f"({how}): the sandbox's Python environment could not start; "
                           "see the grader's log")
