"""The worker's CPU time, measured from outside by the trusted process, never reported by it.

Verdicts such as "vectorized" (a7) and "analytic backward" (a4) compare the CPU time a student
function costs with a reference's. The student's side is read from the kernel: the slot
cgroup's counter (grader.sandbox.cgroups.CpuCounter) counts every thread and process of the
slot (BLAS threads, helpers a student starts) and nothing of other processes; the slot's idle
zygote adds nothing. Without cgroups (``--insecure``) the fallback sums ``/proc/<pid>/stat``
user + system time (and that of reaped children) over the worker's process tree, in clock
ticks (10 ms): coarser, and said so in ``source``.

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
                     f"/proc stat of the worker's process tree ({CLOCK_TICK_NS // 10**6} ms "
                     "ticks; no cgroup)")


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


def process_tree_ns(root: int) -> int:
    """User + system CPU of ``root`` and its descendants, and of their reaped children."""
    children: dict[int, list[int]] = {}
    times: dict[int, int] = {}
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
        times[pid] = sum(int(f) for f in fields[11:15])  # utime stime cutime cstime
    total, todo, seen = 0, [root], set()
    while todo:
        pid = todo.pop()
        if pid in seen:
            continue
        seen.add(pid)
        total += times.get(pid, 0)
        todo.extend(children.get(pid, ()))
    return total * CLOCK_TICK_NS
