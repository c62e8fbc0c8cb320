"""The sandbox itself, probed from inside by small modules through the real proxy."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path
from unittest.mock import patch

import numpy as np
import pytest

from grader.grading.proxy import (
    LoadError,
    Session,
    StudentError,
    StudentModule,
    StudentTimeout,
    WorkerCrashed,
    is_handle,
)
from grader.sandbox.bwrap import Limits, SandboxSpec

pytestmark = pytest.mark.sandbox

ROOT = Path(__file__).resolve().parent.parent

PROBE = textwrap.dedent('''
    import os, socket, subprocess, numpy as np

    def read(path):
        try:
            with open(path, "rb") as fh:
                return fh.read(64)
        except OSError as exc:
            return type(exc).__name__

    def listdir(path):
        try:
            return sorted(os.listdir(path))
        except OSError as exc:
            return type(exc).__name__

    def connect(host, port):
        try:
            socket.create_connection((host, port), timeout=2)
            return "connected"
        except OSError as exc:
            return type(exc).__name__

    def identity():
        status = open("/proc/self/status").read()
        caps = [l.split()[1] for l in status.splitlines() if l.startswith("CapEff")][0]
        return os.getuid(), os.getgid(), caps, os.getpid()

    def write_tmp(mb):
        try:
            with open("/tmp/fill", "wb") as fh:
                for _ in range(mb):
                    fh.write(b"x" * (1 << 20))
            return "written"
        except OSError as exc:
            return type(exc).__name__

    def spawn(n):
        pids = []
        for _ in range(n):
            try:
                pid = os.fork()
            except OSError as exc:
                return ("refused after", len(pids), type(exc).__name__)
            if pid == 0:
                import time
                time.sleep(30)
                os._exit(0)
            pids.append(pid)
        return ("spawned", len(pids))

    def import_torch():
        try:
            import torch
            return "imported " + torch.__version__
        except ImportError as exc:
            return "ImportError"

    def allocate(gb):
        return len(bytearray(gb << 30))

    def hang():
        while True:
            pass

    def die():
        os._exit(0)

    def scale(x, factor=2.0):
        x *= factor
        return None

    def update(d):
        d["count"] = d.get("count", 0) + 1
        d["running"] = d.get("running", np.zeros(2)) + 1.0

    def overflow(x):
        return float(np.exp(np.float64(x)))

    def spend(rng, n):
        return float(rng.random(n).sum())

    def objective_twice(f):
        return f({"lr": 0.1}) + f({"lr": 0.2})

    class Counter:
        def __init__(self, start):
            self.value = start
        def bump(self, by=1):
            self.value += by
            return self
        def __add__(self, other):
            return Counter(self.value + (other.value if isinstance(other, Counter) else other))
        __radd__ = __add__
''')


@pytest.fixture(scope="module")
def probe(tmp_path_factory: pytest.TempPathFactory) -> StudentModule:
    folder = tmp_path_factory.mktemp("probe")
    (folder / "probe.py").write_text(PROBE)
    folder.chmod(0o755)
    spec = SandboxSpec("bwrap", folder, Limits(call_timeout_s=5, submission_timeout_s=120,
                                               memory_mb=1024, max_processes=16, tmpfs_mb=8))
    session = Session(spec, "probe")
    session.start()
    yield StudentModule(session)
    session.close()


@pytest.mark.parametrize("path", [ROOT / "autotests" / "a1_backprop",
                                  ROOT / "solutions" / "a1_backprop" / "backprop.py",
                                  ROOT / "grader.yaml", Path("/root/.bashrc"),
                                  Path("/etc/shadow")])
def test_repository_and_host_secrets_are_invisible(probe: StudentModule, path: Path) -> None:
    assert probe.read(str(path)) in ("FileNotFoundError", "PermissionError", "IsADirectoryError")
    assert probe.listdir(str(path)) in ("FileNotFoundError", "PermissionError",
                                        "NotADirectoryError")


def test_relative_paths_out_of_the_submission_reach_nothing(probe: StudentModule) -> None:
    assert probe.read("../autotests/a1_backprop/test_value.py") == "FileNotFoundError"
    assert probe.read("../../solutions/a1_backprop/backprop.py") == "FileNotFoundError"
    assert probe.listdir("..") == ["grader"] or "autotests" not in probe.listdir("..")


def test_the_network_is_unreachable(probe: StudentModule) -> None:
    assert probe.connect("1.1.1.1", 53) != "connected"
    assert probe.connect("127.0.0.1", 22) != "connected"


def test_the_worker_runs_unprivileged_with_no_capabilities_in_its_own_pid_space(
        probe: StudentModule) -> None:
    uid, gid, caps, pid = probe.identity()
    assert uid >= 60000 and gid >= 60000 and int(caps, 16) == 0 and pid < 10


def test_torch_cannot_be_imported_in_numpy_only_assignments(probe: StudentModule) -> None:
    assert probe.import_torch() == "ImportError"


def test_the_scratch_tmpfs_is_size_limited(probe: StudentModule) -> None:
    assert probe.write_tmp(64) == "OSError"


def test_the_process_limit_stops_a_fork_bomb(probe: StudentModule) -> None:
    verdict = probe.spawn(200)
    assert verdict[0] == "refused after" and verdict[1] < 16


def test_a_memory_bomb_raises_memory_error_inside_the_worker(probe: StudentModule) -> None:
    with pytest.raises(StudentError, match="MemoryError"):
        probe.allocate(8)


def test_undeclared_in_place_changes_are_recorded_not_copied_back(probe: StudentModule) -> None:
    x = np.ones(3)
    probe.scale(x, factor=3.0)
    assert np.array_equal(x, [1.0, 1.0, 1.0])
    assert [m.arg for m in probe.last_mutations()] == [0]


def test_declared_dict_arguments_show_the_workers_updates(probe: StudentModule) -> None:
    probe.declare_inout("update", d=0)
    state: dict = {}
    probe.update(state)
    probe.update(state)
    assert state["count"] == 2 and np.array_equal(state["running"], [2.0, 2.0])


def test_callables_stay_on_the_trusted_side_and_are_called_back(probe: StudentModule) -> None:
    seen: list[float] = []
    total = probe.objective_twice(lambda params: seen.append(params["lr"]) or params["lr"] * 10)
    assert seen == [0.1, 0.2] and total == pytest.approx(3.0)


def test_objects_come_back_as_handles_supporting_methods_attributes_and_operators(
        probe: StudentModule) -> None:
    counter = probe.Counter(5)
    assert is_handle(counter) and counter.value == 5
    counter.bump(by=2)
    assert counter.value == 7
    counter.value = 10
    assert (counter + 1).value == 11 and (1 + counter).value == 11
    assert (counter + counter).value == 20


def test_a_missing_name_is_reported_by_name(probe: StudentModule) -> None:
    with pytest.raises(StudentError, match="does not define 'relu_forward'"):
        probe.relu_forward(np.zeros(1))


def test_a_hanging_call_times_out_and_the_next_call_gets_a_fresh_worker(
        probe: StudentModule) -> None:
    with pytest.raises(StudentTimeout, match="did not return within"):
        probe.hang()
    assert probe.connect("1.1.1.1", 53) != "connected"


def test_a_worker_that_exits_is_reported_and_replaced(probe: StudentModule) -> None:
    with pytest.raises(WorkerCrashed, match="died"):
        probe.die()
    assert probe.identity()[0] >= 60000


def test_no_sandboxed_process_outlives_its_session(tmp_path: Path) -> None:
    (tmp_path / "probe.py").write_text(PROBE)
    tmp_path.chmod(0o755)
    spec = SandboxSpec("bwrap", tmp_path, Limits(max_processes=16), uid=60099)
    session = Session(spec, "probe")
    session.start()
    StudentModule(session).spawn(5)
    session.close()
    assert not survivors("60099")


def survivors(uids: str, within_s: float = 5.0) -> list[str]:
    """Processes of ``uids`` still alive after ``within_s`` (SIGKILL is delivered async)."""
    deadline = time.monotonic() + within_s
    while True:
        left = subprocess.run(["pgrep", "-u", uids], capture_output=True, text=True).stdout
        if not left.split() or time.monotonic() > deadline:
            return left.split()
        time.sleep(0.1)


def test_an_import_error_is_a_load_error_with_the_students_traceback(tmp_path: Path) -> None:
    (tmp_path / "broken.py").write_text("def f(:\n    pass\n")
    tmp_path.chmod(0o755)
    session = Session(SandboxSpec("bwrap", tmp_path, Limits()), "broken")
    with pytest.raises(LoadError, match="SyntaxError"):
        session.start()


def test_a_generator_argument_advances_on_the_trusted_side_as_it_did_in_the_worker(
        probe: StudentModule) -> None:
    rng, twin = np.random.default_rng(3), np.random.default_rng(3)
    assert probe.spend(rng, 4) == pytest.approx(twin.random(4).sum())
    assert rng.random() == twin.random()


def test_a_numpy_warning_in_the_worker_is_output_not_an_error(probe: StudentModule) -> None:
    """Warnings are the student's business: no verdict reads them (docs/SECURITY.md)."""
    assert probe.overflow(1000.0) == float("inf")


def test_a_python_installed_under_tmp_still_runs_in_the_sandbox(tmp_path: Path) -> None:
    """The sandbox's private /tmp must not hide an interpreter that lives under /tmp."""
    from grader.sandbox.bwrap import bwrap_command

    spec = SandboxSpec("bwrap", tmp_path, Limits())
    with patch.object(sys, "prefix", str(tmp_path)):
        (tmp_path / "marker").write_text("visible")
        tmp_path.chmod(0o755)
        cmd = bwrap_command(spec, ["/bin/cat", str(tmp_path / "marker")])
    assert subprocess.run(cmd, capture_output=True, text=True).stdout == "visible"


def test_a_syntax_error_shows_the_students_line_not_the_import_machinery(
        tmp_path: Path) -> None:
    (tmp_path / "broken.py").write_text("x = 1\ndef f(:\n    pass\n")
    tmp_path.chmod(0o755)
    session = Session(SandboxSpec("bwrap", tmp_path, Limits()), "broken")
    with pytest.raises(LoadError) as info:
        session.start()
    message = info.value.student_message()
    assert "line 2: def f(:" in message and "importlib" not in message
