"""Bounds of the trusted side, tested without the sandbox: how a submission's tree is read
(depth, entries, bytes, time, links, pipes, the host's /proc, /sys and /dev), the planning
child's time and memory limits, similarity leaving out one student's code, and the cgroup v1
limit on TCP buffer memory. The same attacks graded through the real pipeline are in
tests/test_attacks_bounds.py.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from grader.intake import planning, walk
from grader.intake.identity import is_single_submission
from grader.intake.planning import PlanLimits, plan_and_hash
from grader.intake.staging import stage
from grader.sandbox import cgroups as cgroups_module
from grader.sandbox.bwrap import join_cgroup
from grader.sandbox.cgroups import BatchCgroups
from grader.similarity import engine
from grader.similarity.engine import CodeEntry, compare
from tests.conftest import solution_text, stub_text

DEPTH = 1_500
MINUS_SIGNS = "-" * 100_000


def deep_folder(root: Path, depth: int) -> None:
    """``root/d/d/...`` ``depth`` levels deep, made relative to a directory fd (a path that
    long would pass PATH_MAX)."""
    fd = os.open(root, os.O_RDONLY)
    for _ in range(depth):
        os.mkdir("d", dir_fd=fd)
        below = os.open("d", os.O_RDONLY, dir_fd=fd)
        os.close(fd)
        fd = below
    os.close(fd)


def remove_tree(path: Path) -> None:
    """rm -rf: shutil.rmtree recurses once per level and cannot remove 1,500 of them."""
    subprocess.run(["rm", "-rf", str(path)], check=True)


def test_a_minus_sign_file_beside_the_module_does_not_break_planning(tmp_path: Path) -> None:
    (tmp_path / "backprop.py").write_text(solution_text("a1_backprop"))
    (tmp_path / "other.py").write_text(MINUS_SIGNS)
    assert is_single_submission(tmp_path, "backprop") is True  # other.py defines nothing


def test_a_single_submission_with_a_deep_folder_is_planned_in_the_child(tmp_path: Path) -> None:
    (tmp_path / "backprop.py").write_text(stub_text("a1_backprop"))
    (tmp_path / "data").mkdir()
    deep_folder(tmp_path / "data", DEPTH)
    try:
        plan = plan_and_hash(tmp_path, "backprop", "stem", None)
    finally:
        remove_tree(tmp_path / "data")
    assert [e.status for e in plan.entries].count("graded") >= 1
    assert all(e.sha256 == "" for e in plan.entries if e.path.name == "data")


def test_a_folder_with_more_entries_than_the_walk_reads_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "submission"
    (folder / "many").mkdir(parents=True)
    (folder / "backprop.py").write_text(stub_text("a1_backprop"))
    for i in range(walk.MAX_ENTRIES):
        (folder / "many" / f"f{i}").touch()
    sub = stage(folder, "backprop", tmp_path / "work")
    assert f"more than {walk.MAX_ENTRIES} files and folders" in sub.error


def test_a_zip_entry_nested_1500_deep_is_refused_before_extraction(tmp_path: Path) -> None:
    archive = tmp_path / "deep.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("backprop.py", stub_text("a1_backprop"))
        zf.writestr("d/" * DEPTH + "x.py", "x = 1\n")
    sub = stage(archive, "backprop", tmp_path / "work")
    assert "nests more than 32 folders deep" in sub.error
    assert not (tmp_path / "work" / "unzipped0" / "d").exists()


def test_reading_stops_at_the_byte_and_time_budgets(tmp_path: Path) -> None:
    big = tmp_path / "big.py"
    big.write_bytes(b"#" * (1 << 20))
    with pytest.raises(walk.WalkError, match="larger than 0 MiB"):
        walk.digest(big, max_bytes=1 << 16)
    with pytest.raises(walk.WalkError, match="took longer than 0 s"):
        walk.digest(big, seconds=0)


def test_a_pipe_in_a_submission_is_refused_without_blocking(tmp_path: Path) -> None:
    folder = tmp_path / "submission"
    folder.mkdir()
    (folder / "backprop.py").write_text(stub_text("a1_backprop"))
    os.mkfifo(folder / "data.fifo")
    with pytest.raises(walk.WalkError, match="not a regular file"):
        walk.digest(folder)
    assert "pipes, sockets or devices (data.fifo)" in \
        stage(folder, "backprop", tmp_path / "work", sha256="x").error


@pytest.mark.parametrize("path", ["/proc/self/pagemap", "/sys/kernel", "/dev/zero"])
def test_the_hosts_proc_sys_and_dev_are_never_read(path: str) -> None:
    with pytest.raises(walk.WalkError, match="inside the host's"):
        walk.digest(Path(path))


def _three_entries(folder: Path) -> None:
    for name in ("a.py", "m_attack.py", "z.py"):
        (folder / name).write_text(f"# {name}\n")


def test_a_digest_past_its_deadline_costs_only_the_digests_not_sent(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = planning.digest

    def stalls_on_the_attack(path: Path) -> str:
        if path.name == "m_attack.py":
            time.sleep(60)
        return real(path)

    monkeypatch.setattr(planning, "digest", stalls_on_the_attack)
    _three_entries(tmp_path)
    t0 = time.monotonic()
    plan = plan_and_hash(tmp_path, "backprop", "stem", None, limits=PlanLimits(digest_s=1.0))
    assert time.monotonic() - t0 < 10
    assert [bool(e.sha256) for e in plan.entries] == [True, False, False]
    assert "hashing stopped at m_attack.py (over its time limit)" in plan.warnings[0]


def test_memory_beyond_the_planning_limit_is_only_that_entrys_failure(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = planning.digest

    def swells_on_the_attack(path: Path) -> str:
        if path.name == "m_attack.py":
            return str(len(bytearray(4 << 30)))
        return real(path)

    monkeypatch.setattr(planning, "digest", swells_on_the_attack)
    _three_entries(tmp_path)
    plan = plan_and_hash(tmp_path, "backprop", "stem", None, limits=PlanLimits(memory_mb=256))
    assert [bool(e.sha256) for e in plan.entries] == [True, False, True]
    assert not plan.warnings


def test_code_that_cannot_be_normalized_leaves_only_that_student_out(
        monkeypatch: pytest.MonkeyPatch) -> None:
    real = engine.normalize

    def breaks_on_mallory(source: str, units: set[str]) -> engine.NormalizedModule:
        if "mallory" in source:
            raise RecursionError("maximum recursion depth exceeded")
        return real(source, units)

    monkeypatch.setattr(engine, "normalize", breaks_on_mallory)
    code = solution_text("a1_backprop")
    report = compare("a1_backprop", [CodeEntry("alice", code), CodeEntry("bob", code),
                                     CodeEntry("mallory", code + "\n# mallory\n")],
                     stub_text("a1_backprop"))
    assert report.students == ["alice", "bob"] and len(report.pairs) == 1
    assert report.left_out == [("mallory", "code could not be compared (RecursionError)")]


# -- cgroup v1: TCP buffer memory ---------------------------------------------------------------

PARK = '''
import socket, sys
pairs, parked, held = int(sys.argv[1]), 0, []
server = socket.socket()
server.bind(("127.0.0.1", 0))
server.listen(pairs)
for _ in range(pairs):
    client = socket.create_connection(server.getsockname())
    accepted, _ = server.accept()
    client.setblocking(False)
    held += [client, accepted]
    while True:  # nobody reads: what is sent stays in kernel buffers
        try:
            parked += client.send(b"x" * 65536)
        except OSError:
            break
print(parked)
'''


@pytest.fixture
def v1_slot() -> BatchCgroups:
    batch = BatchCgroups.create()
    if batch is None or batch.version != "v1":
        if batch is not None:
            batch.close()
        host_has_v1 = (cgroups_module.CGROUP_ROOT / "memory" / "cgroup.procs").exists()
        if host_has_v1 and os.environ.get("CI") == "true":
            pytest.fail("this host mounts cgroup v1 but the batch could not use it")
        # On v2, socket buffers are charged to memory.max with everything else.
        pytest.skip("NOT cgroup v1 on this host: the v1 TCP kernel-memory limit was not tested")
    yield batch
    batch.close()


def test_v1_slots_bound_the_memory_parked_in_tcp_buffers(v1_slot: BatchCgroups,
                                                         monkeypatch: pytest.MonkeyPatch,
                                                         tmp_path: Path) -> None:
    limit = 8 << 20  # small, so that 16 loopback connections (about 60 MB unbounded) exceed it
    monkeypatch.setattr(cgroups_module, "TCP_BYTES_V1", limit)
    slot = v1_slot.slot(0)
    slot.set_limits(512 << 20, 32)
    memory = slot.dirs[0]
    assert int((memory / "memory.kmem.tcp.limit_in_bytes").read_text()) == limit
    script = tmp_path / "park.py"
    script.write_text(PARK)
    parked = subprocess.run([sys.executable, str(script), "16"], capture_output=True, text=True,
                            timeout=60, check=True,
                            preexec_fn=lambda: join_cgroup(slot.procs_files()))
    assert int(parked.stdout) < 2 * limit
    assert int((memory / "memory.kmem.tcp.max_usage_in_bytes").read_text()) < 2 * limit


def test_v1_slots_get_a_tcp_limit_with_every_memory_limit(v1_slot: BatchCgroups) -> None:
    slot = v1_slot.slot(1)
    slot.set_limits(32 << 20, 32)  # below TCP_BYTES_V1: the slot's own limit
    assert int((slot.dirs[0] / "memory.kmem.tcp.limit_in_bytes").read_text()) == 32 << 20
