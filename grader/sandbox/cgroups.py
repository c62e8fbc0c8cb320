"""Per-slot control groups: the memory, process and CPU bounds that hold for everything a
sandbox slot runs, whatever the student's code does inside.

rlimits are per process and miss memory that no process maps (SysV shared memory, a tmpfs's
pages, memfd pages after close): the memory controller charges those pages, and the kernel
memory of inodes and dentries, to the cgroup of the process that made them. One cgroup per
slot holds that slot's zygote (or cold worker) and every worker forked from it, one student
at a time. The batch makes ``<own cgroup>/dl-grader-<pid>/slot<N>`` and removes it at the end;
directories of batches whose process is gone are removed at the next start.

cgroup v2 (one unified hierarchy with the memory and pids controllers) is used where the host
has it, else v1 (one hierarchy per controller under /sys/fs/cgroup/<controller>).
"""

from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")
V1_CONTROLLERS = ("memory", "pids", "cpu")
V1_ACCOUNTING = "cpuacct"  # joined as a fourth hierarchy when mounted apart from cpu
PREFIX = "dl-grader-"
CPU_WEIGHT_V2, CPU_SHARES_V1 = 100, 1024  # the default: every slot weighs the same
# Kernel memory for TCP socket buffers per slot on v1. Workers cannot open TCP sockets (seccomp
# allows AF_UNIX only); this bounds what a suite that enabled loopback could park there.
TCP_BYTES_V1 = 64 << 20


class CgroupError(RuntimeError):
    pass


def _own_paths(proc_cgroup: str) -> dict[str, str]:
    """controller (or "" for v2) -> this process's cgroup path, from /proc/self/cgroup."""
    paths = {}
    for line in proc_cgroup.splitlines():
        _, controllers, path = line.split(":", 2)
        for name in controllers.split(",") if controllers else [""]:
            paths[name] = path
    return paths


def _write(path: Path, value: str) -> None:
    path.write_text(value)


def _pids(dirs: tuple[Path, ...]) -> set[int]:
    found: set[int] = set()
    for d in dirs:
        try:
            found |= {int(p) for p in (d / "cgroup.procs").read_text().split()}
        except OSError:
            pass
    return found


def _kill_and_remove(dirs: tuple[Path, ...], timeout: float) -> None:
    """Kill whatever is left in the cgroups, then remove their directories."""
    deadline = time.monotonic() + timeout
    while (left := _pids(dirs)) and time.monotonic() < deadline:
        for pid in left:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.02)
    for d in dirs:
        _rmdir_quietly(d)


@dataclass(frozen=True)
class SlotCgroup:
    """One slot's cgroup: one directory (v2), or one per controller of V1_CONTROLLERS (v1)."""

    version: str
    dirs: tuple[Path, ...]

    def procs_files(self) -> tuple[str, ...]:
        """What a process writes its pid to, to join (grader.sandbox.bwrap.join_cgroup)."""
        return tuple(str(d / "cgroup.procs") for d in self.dirs)

    def _dir(self, controller: str) -> Path:
        return self.dirs[0] if self.version == "v2" else \
            self.dirs[V1_CONTROLLERS.index(controller)]

    def set_limits(self, memory_bytes: int, pids: int) -> None:
        """Memory (no swap; 0: unbounded), tasks, and the CPU weight every slot shares."""
        memory, tasks, cpu = (self._dir(c) for c in V1_CONTROLLERS)
        if self.version == "v2":
            _write(memory / "memory.max", str(memory_bytes) if memory_bytes > 0 else "max")
            if (memory / "memory.swap.max").exists():
                _write(memory / "memory.swap.max", "0")
            _write(tasks / "pids.max", str(pids))
            _write(cpu / "cpu.weight", str(CPU_WEIGHT_V2))
            return
        value = str(memory_bytes) if memory_bytes > 0 else "-1"
        limits = [memory / "memory.limit_in_bytes"]
        memsw = memory / "memory.memsw.limit_in_bytes"  # memory + swap: no escape into swap
        if memsw.exists():
            # memory <= memory+swap at every step: raise memsw first, lower it last.
            limits = [memsw, *limits] if memory_bytes <= 0 or memory_bytes > \
                int(memsw.read_text()) else [*limits, memsw]
        for path in limits:
            _write(path, value)
        # v1 counts socket buffers apart from memory.limit_in_bytes and bounds them only when
        # this is set (v2 charges them to memory.max already).
        tcp = memory / "memory.kmem.tcp.limit_in_bytes"
        if tcp.exists():
            _write(tcp, str(min(memory_bytes, TCP_BYTES_V1)) if memory_bytes > 0 else "-1")
        _write(tasks / "pids.max", str(pids))
        _write(cpu / "cpu.shares", str(CPU_SHARES_V1))

    def resident_bytes(self) -> int:
        """Anonymous, shared and kernel memory charged now (page cache is reclaimable)."""
        memory = self._dir("memory")
        pairs = (line.split() for line in (memory / "memory.stat").read_text().splitlines())
        stat = {key: int(value) for key, value in pairs}
        if self.version == "v2":
            return stat.get("anon", 0) + stat.get("shmem", 0) + stat.get("kernel", 0)
        kmem = memory / "memory.kmem.usage_in_bytes"
        kernel = int(kmem.read_text()) if kmem.exists() else 0
        return stat.get("total_rss", 0) + stat.get("total_shmem", 0) + kernel

    def pids(self) -> set[int]:
        return _pids(self.dirs)

    def remove(self, timeout: float = 5.0) -> None:
        _kill_and_remove(self.dirs, timeout)


class BatchCgroups:
    """The cgroups of one batch: a parent directory per hierarchy and one slot cgroup each."""

    def __init__(self, version: str, bases: tuple[Path, ...]) -> None:
        self.version, self.bases = version, bases
        self.slots: dict[int, SlotCgroup] = {}

    @classmethod
    def create(cls, root: Path = CGROUP_ROOT, proc_cgroup: str | None = None,
               name: str | None = None) -> BatchCgroups | None:
        """The batch's cgroups on the first usable hierarchy; None when the host has none."""
        if proc_cgroup is None:
            proc_cgroup = Path("/proc/self/cgroup").read_text()
        own = _own_paths(proc_cgroup)
        name = name or f"{PREFIX}{os.getpid()}"
        for version, parents in (("v2", cls._v2_parents(root, own)),
                                 ("v1", cls._v1_parents(root, own))):
            if parents is None:
                continue
            bases = tuple(parent / name for parent in parents)
            try:
                for parent in parents:
                    _remove_stale(parent)
                for base in bases:
                    base.mkdir(exist_ok=True)
                if version == "v2":
                    _write(bases[0] / "cgroup.subtree_control", "+memory +pids +cpu")
            except OSError:
                for base in bases:
                    _rmdir_quietly(base)
                continue
            return cls(version, bases)
        return None

    @staticmethod
    def _v2_parents(root: Path, own: dict[str, str]) -> tuple[Path, ...] | None:
        try:
            available = (root / "cgroup.controllers").read_text().split()
        except OSError:
            return None
        if "" not in own or not {"memory", "pids", "cpu"} <= set(available):
            return None
        parent = root / own[""].lstrip("/")
        try:  # the controllers must reach our children (fails in a cgroup that has processes)
            enabled = (parent / "cgroup.subtree_control").read_text().split()
            if not {"memory", "pids", "cpu"} <= set(enabled):
                _write(parent / "cgroup.subtree_control", "+memory +pids +cpu")
        except OSError:
            return None
        return (parent,)

    @staticmethod
    def _v1_parents(root: Path, own: dict[str, str]) -> tuple[Path, ...] | None:
        parents = []
        for controller in V1_CONTROLLERS:
            mount = root / controller
            if controller not in own or not (mount / "cgroup.procs").exists():
                return None
            parents.append(mount / own[controller].lstrip("/"))
        accounting = root / V1_ACCOUNTING
        if not (root / "cpu" / "cpuacct.usage").exists() and V1_ACCOUNTING in own \
                and (accounting / "cpuacct.usage").exists():
            parents.append(accounting / own[V1_ACCOUNTING].lstrip("/"))
        return tuple(parents)

    def slot(self, slot: int) -> SlotCgroup:
        """The cgroup of ``slot``, made on first use."""
        if slot not in self.slots:
            dirs = tuple(base / f"slot{slot}" for base in self.bases)
            for d in dirs:
                d.mkdir(exist_ok=True)
            self.slots[slot] = SlotCgroup(self.version, dirs)
        return self.slots[slot]

    def close(self) -> None:
        for cgroup in self.slots.values():
            cgroup.remove()
        for base in self.bases:
            _rmdir_quietly(base)


@dataclass(frozen=True)
class CpuCounter:
    """The file where the kernel adds up a cgroup's CPU time: every thread and process in it,
    user and system, whichever CPU ran them; no other process's time."""

    path: Path
    source: str  # said in messages and docs: which counter measured

    @classmethod
    def of(cls, dirs: tuple[Path, ...]) -> CpuCounter | None:
        """The counter among a slot's cgroup directories (None: no CPU accounting there)."""
        for d in dirs:
            if (d / "cpuacct.usage").exists():
                return cls(d / "cpuacct.usage", "cgroup v1 cpuacct.usage")
            try:
                if "usage_usec" in (d / "cpu.stat").read_text().split():
                    return cls(d / "cpu.stat", "cgroup v2 cpu.stat usage_usec")
            except OSError:
                continue
        return None

    def ns(self) -> int:
        """CPU time charged so far, in nanoseconds."""
        text = self.path.read_text()
        if self.path.name == "cpuacct.usage":
            return int(text)
        fields = text.split()
        return int(fields[fields.index("usage_usec") + 1]) * 1000


def _rmdir_quietly(path: Path) -> None:
    try:
        path.rmdir()
    except OSError:
        pass


def _remove_stale(parent: Path) -> None:
    """Cgroups of a batch whose process died without cleaning up (SIGKILL, a crash)."""
    for old in parent.glob(f"{PREFIX}*"):
        pid = old.name[len(PREFIX):]
        if not pid.isdigit() or Path(f"/proc/{pid}").exists():
            continue
        _kill_and_remove(tuple(sub for sub in old.iterdir() if sub.is_dir()), timeout=1.0)
        _rmdir_quietly(old)
