"""The worker's CPU time, measured from outside by the trusted process, never reported by it.

Verdicts such as "vectorized" (a7) and "analytic backward" (a4) compare the CPU time a student
function costs with a reference's. The student's side is read from the kernel: the slot
cgroup's counter (grader.sandbox.cgroups.CpuCounter) counts every thread and process of the
slot (BLAS threads, helpers a student starts) and nothing of other processes; the slot's idle
zygote adds nothing. Without cgroups (``--insecure``) the fallback sums over the worker's process
tree each process's run time: its live threads' ``schedstat`` (nanoseconds), or its
``stat`` user + system time in clock ticks (10 ms) where that is more (threads that ended),
plus its reaped children's; ``source`` says which counter measured.

The kernel charges a running task's time at ticks and when it sleeps; a reading right after the
reply could miss the last tick of work, so ``settled`` reads until the count stops moving
(the worker is blocked waiting for the next request). Before a request the worker is idle
already (it blocked reading after its last reply), so one reading does. Time a student's
background thread keeps burning after the reply only adds to their own count.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from grader.sandbox.cgroups import CpuCounter

SETTLE_STEP_S = 0.001
SETTLE_MAX_S = 0.1
CLOCK_TICK_NS = 1_000_000_000 // os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class CpuSource:
    """How to read one worker's CPU time: ``read()`` gives nanoseconds, ``name`` says how."""

    read: Callable[[], int]
    name: str


def for_worker(cgroup_procs: tuple[str, ...], tree_pid: int) -> CpuSource:
    """The slot cgroup's counter when the worker runs in one, else its process tree."""
    counter = CpuCounter.of(tuple(Path(p).parent for p in cgroup_procs))
    if counter is not None:
        return CpuSource(counter.ns, counter.source)
    return CpuSource(lambda: process_tree_ns(tree_pid),
                     "/proc schedstat and stat of the worker's process tree (no cgroup)")


def settled(read: Callable[[], int]) -> int:
    """A reading once two in a row agree (the worker is idle), or the last one after
    SETTLE_MAX_S (something of the student's keeps running: it is theirs to pay)."""
    deadline = time.monotonic() + SETTLE_MAX_S
    last = read()
    while time.monotonic() < deadline:
        time.sleep(SETTLE_STEP_S)
        now = read()
        if now == last:
            return now
        last = now
    return last


def _own_ns(pid: int, ticks: int) -> int:
    """A process's CPU time: its live threads' run time in ns, or its tick count where more
    (the time of threads that have ended is only in the ticks)."""
    live = 0
    try:
        for task in os.scandir(f"/proc/{pid}/task"):
            try:
                live += int(Path(task.path, "schedstat").read_text().split()[0])
            except (OSError, ValueError, IndexError):
                continue
    except OSError:
        pass
    return max(live, ticks * CLOCK_TICK_NS)


def process_tree_ns(root: int) -> int:
    """CPU time of ``root`` and its descendants, and of their reaped children."""
    children: dict[int, list[int]] = {}
    own: dict[int, int] = {}  # pid -> (utime + stime) ticks
    reaped: dict[int, int] = {}  # pid -> (cutime + cstime) ticks
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            continue  # exited meanwhile
        # Fields after the command name (which may hold spaces and parentheses).
        fields = stat[stat.rindex(")") + 2:].split()
        pid = int(entry.name)
        children.setdefault(int(fields[1]), []).append(pid)
        own[pid] = int(fields[11]) + int(fields[12])
        reaped[pid] = int(fields[13]) + int(fields[14])
    total, todo, seen = 0, [root], set()
    while todo:
        pid = todo.pop()
        if pid in seen or pid not in own:
            continue
        seen.add(pid)
        total += _own_ns(pid, own[pid]) + reaped[pid] * CLOCK_TICK_NS
        todo.extend(children.get(pid, ()))
    return total
