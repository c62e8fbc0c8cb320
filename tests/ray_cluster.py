"""A real Ray cluster on 127.0.0.1 for the Ray backend's tests and benchmark: a head and more
nodes, each a `ray start` of its own, killed one by one or all together."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

RAY = shutil.which("ray", path=str(Path(sys.executable).parent))
START_TIMEOUT_S = 120


class LocalCluster:
    """Ray nodes on 127.0.0.1, each `ray start` in its own process group so that only what
    this test started is ever killed (``ray stop`` would stop every Ray on the machine)."""

    def __init__(self) -> None:
        self.temp = Path(tempfile.mkdtemp(prefix="rt", dir="/tmp"))  # short: socket paths
        self.port = _free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.groups: list[int] = []
        self.env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}

    def start(self, *args: str) -> int:
        """Start a node; returns its process group (its daemons stay in it)."""
        proc = subprocess.Popen(
            [RAY, "start", "--node-ip-address=127.0.0.1", "--num-cpus=1",
             "--object-store-memory=100000000", *args],
            env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            start_new_session=True)
        self.groups.append(proc.pid)
        try:
            out, _ = proc.communicate(timeout=START_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
        assert proc.returncode == 0, out
        return proc.pid

    def head(self) -> None:
        self.start("--head", f"--port={self.port}", "--include-dashboard=false",
                   f"--temp-dir={self.temp}", "--disable-usage-stats",
                   # a lost node is noticed in ~2 s instead of the default ~30 s
                   '--system-config={"health_check_period_ms": 500, '
                   '"health_check_failure_threshold": 4}')

    def node(self) -> int:
        return self.start(f"--address={self.address}")

    def kill(self, group: int) -> None:
        """Kill a node the hard way: its daemons, then its workers (they are their own
        process groups, children of its raylet)."""
        pids = _descendants(_members(group))
        for pid in pids:
            _kill(pid)

    def raylet(self, group: int) -> int:
        """The raylet of the node started as process group ``group``."""
        return next(pid for pid in _members(group) if "raylet/raylet" in _cmdline(pid))

    def stop(self) -> None:
        for group in self.groups:
            self.kill(group)
        shutil.rmtree(self.temp, ignore_errors=True)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _pids() -> list[int]:
    return [int(p) for p in os.listdir("/proc") if p.isdigit()]


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _members(group: int) -> list[int]:
    out = []
    for pid in _pids():
        try:
            if os.getpgid(pid) == group:
                out.append(pid)
        except OSError:
            continue
    return out


def _descendants(roots: list[int]) -> list[int]:
    """``roots`` and every process below them."""
    children: dict[int, list[int]] = {}
    for pid in _pids():
        try:
            ppid = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(pid)
    found, todo = [], list(roots)
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo += children.get(pid, [])
    return found


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


@contextmanager
def two_nodes() -> Iterator[LocalCluster]:
    """A head and a second node; afterwards this process's Ray connection is closed and every
    node stopped."""
    import ray

    nodes = LocalCluster()
    try:
        nodes.head()
        nodes.node()
        yield nodes
    finally:
        if ray.is_initialized():
            ray.shutdown()
        nodes.stop()
