"""Planning a batch and hashing its entries in a child process under memory and time bounds.

Planning reads what students handed in (folder listings, the code of a lone module to tell a
submission from a batch) and hashing reads every byte of it: both run in a forked child with an
address-space limit, and the batch parent waits for each of its answers with a deadline. The
child sends the plan first and then one digest per graded entry, so a child that is killed or
runs out of memory while reading one entry costs only the digests not yet sent: those entries
are hashed again, each inside its own grading child, where a failure is that student's
submission error. Nothing a submission holds can end or stall the batch parent.
"""

from __future__ import annotations

import os
import pickle
import resource
import select
import signal
import struct
import time
from dataclasses import dataclass, replace
from pathlib import Path

from grader.intake.identity import BatchPlan, Roster, plan_batch
from grader.intake.walk import READ_SECONDS, digest


class PlanningError(RuntimeError):
    """The batch could not be planned (its folder, not one entry); the message says why."""


@dataclass(frozen=True)
class PlanLimits:
    """Bounds of the planning child: memory beyond what it inherits, and wall-clock time for
    the plan and for each entry's digest."""

    memory_mb: int = 1024
    plan_s: float = 120.0
    digest_s: float = READ_SECONDS + 10.0


def plan_and_hash(target: Path, module: str, rule: str, roster: Roster | None,
                  only: frozenset[str] = frozenset(),
                  limits: PlanLimits = PlanLimits()) -> BatchPlan:
    """``plan_batch`` with each graded entry's ``sha256`` set ("" where it could not be read:
    grading that entry reports why; with ``only``, entries of other students are not hashed).
    Raises PlanningError when no plan came back."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into the caller
        os.close(read_fd)
        code = 0
        try:
            _child(write_fd, target, module, rule, roster, only, limits.memory_mb)
        except BaseException:
            code = 1
        finally:
            os._exit(code)
    os.close(write_fd)
    try:
        return _collect(read_fd, limits, only)
    finally:
        os.close(read_fd)
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        os.waitpid(pid, 0)


def _child(fd: int, target: Path, module: str, rule: str, roster: Roster | None,
           only: frozenset[str], memory_mb: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and kills us
    inherited = _address_space()
    limit = inherited + (memory_mb << 20)
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    plan = plan_batch(target, module, rule, roster)
    _send(fd, ("plan", plan))
    for index, entry in enumerate(plan.entries):
        if entry.status != "graded" or (only and entry.student_id not in only):
            continue
        try:
            sha = digest(entry.source or entry.path)
        except (OSError, ValueError, RecursionError, MemoryError):
            sha = ""  # grading this entry hashes it again and records the reason
        _send(fd, ("digest", index, sha))
    _send(fd, ("done",))


def _address_space() -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) << 10
    return 0


def _send(fd: int, message: tuple) -> None:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    view = memoryview(struct.pack("!Q", len(data)) + data)
    while view:
        view = view[os.write(fd, view):]


def _collect(fd: int, limits: PlanLimits, only: frozenset[str]) -> BatchPlan:
    reader = _Reader(fd)
    message = reader.next(limits.plan_s)
    if message is None or message[0] != "plan":
        raise PlanningError(f"planning the batch stopped ({reader.why or 'no plan'}; bounds: "
                            f"{limits.memory_mb} MiB, {limits.plan_s:g} s)")
    plan: BatchPlan = message[1]
    hashed: set[int] = set()
    while True:
        message = reader.next(limits.digest_s)
        if message is None:
            left = [e for i, e in enumerate(plan.entries) if e.status == "graded"
                    and i not in hashed and not (only and e.student_id not in only)]
            if left:
                plan.warnings.append(f"hashing stopped at {left[0].path.name} ({reader.why}); "
                                     f"{len(left)} entries are hashed when they are graded")
            return plan
        if message[0] == "done":
            return plan
        _, index, sha = message
        plan.entries[index] = replace(plan.entries[index], sha256=sha)
        hashed.add(index)


class _Reader:
    """Length-prefixed pickles from the planning child, each before its deadline."""

    def __init__(self, fd: int) -> None:
        self.fd, self.buffer, self.why = fd, bytearray(), ""

    def next(self, seconds: float) -> tuple | None:
        deadline = time.monotonic() + seconds
        header = self._read(8, deadline)
        if header is None:
            return None
        body = self._read(struct.unpack("!Q", header)[0], deadline)
        return None if body is None else pickle.loads(body)  # our own child's data

    def _read(self, n: int, deadline: float) -> bytes | None:
        while len(self.buffer) < n:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.fd], [], [], left)[0]:
                self.why = "over its time limit"
                return None
            chunk = os.read(self.fd, 1 << 20)
            if not chunk:
                self.why = "the planning process ended (out of memory?)"
                return None
            self.buffer += chunk
        data = bytes(self.buffer[:n])
        del self.buffer[:n]
        return data
