"""Per-slot cgroups: detection, limits, placement and clean-up.

The v2 tests run against a fake cgroupfs (a directory with the interface files a v2 root
has): this machine mounts v1 controllers and an empty v2 hierarchy, so the real v2 path runs
only on a v2 host, where test_a_real_slot_cgroup_bounds_a_process_and_is_removed exercises
it (that test uses whatever the host has, and fails when it has neither).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from grader.sandbox.bwrap import join_cgroup
from grader.sandbox.cgroups import BatchCgroups, SlotCgroup

pytestmark = pytest.mark.sandbox


def fake_v2_root(tmp_path: Path) -> Path:
    root = tmp_path / "cgroupfs"
    (root / "grader.scope").mkdir(parents=True)
    (root / "cgroup.controllers").write_text("cpuset cpu io memory hugetlb pids rdma\n")
    (root / "grader.scope" / "cgroup.subtree_control").write_text("")
    return root


def test_v2_is_chosen_where_the_unified_hierarchy_has_the_controllers(tmp_path: Path) -> None:
    root = fake_v2_root(tmp_path)
    batch = BatchCgroups.create(root, "0::/grader.scope\n", name="dl-grader-7")
    assert batch is not None and batch.version == "v2"
    assert batch.bases == (root / "grader.scope" / "dl-grader-7",)
    assert (root / "grader.scope" / "cgroup.subtree_control").read_text() == \
        "+memory +pids +cpu"
    assert (batch.bases[0] / "cgroup.subtree_control").read_text() == "+memory +pids +cpu"


def test_v2_slot_limits_are_written_to_the_v2_interface_files(tmp_path: Path) -> None:
    batch = BatchCgroups.create(fake_v2_root(tmp_path), "0::/grader.scope\n", name="b")
    slot = batch.slot(3)
    (slot.dirs[0] / "memory.swap.max").write_text("max")
    slot.set_limits(300 << 20, 80)
    files = {name: (slot.dirs[0] / name).read_text()
             for name in ("memory.max", "memory.swap.max", "pids.max", "cpu.weight")}
    assert files == {"memory.max": str(300 << 20), "memory.swap.max": "0", "pids.max": "80",
                     "cpu.weight": "100"}
    assert slot.procs_files() == (str(slot.dirs[0] / "cgroup.procs"),)


def test_v2_resident_memory_counts_anon_shmem_and_kernel_not_page_cache(
        tmp_path: Path) -> None:
    batch = BatchCgroups.create(fake_v2_root(tmp_path), "0::/grader.scope\n", name="b")
    slot = batch.slot(0)
    (slot.dirs[0] / "memory.stat").write_text("anon 100\nfile 5000\nkernel 20\nshmem 3\n")
    assert slot.resident_bytes() == 123


def test_v2_without_the_memory_controller_is_not_used(tmp_path: Path) -> None:
    root = fake_v2_root(tmp_path)
    (root / "cgroup.controllers").write_text("cpu io pids\n")
    assert BatchCgroups.create(root, "0::/grader.scope\n", name="b") is None


def test_a_host_with_no_cgroup_hierarchy_gives_none(tmp_path: Path) -> None:
    assert BatchCgroups.create(tmp_path, "0::/\n", name="b") is None


def test_v1_needs_every_controller_hierarchy(tmp_path: Path) -> None:
    for controller in ("memory", "pids"):  # no cpu hierarchy
        (tmp_path / controller).mkdir()
        (tmp_path / controller / "cgroup.procs").write_text("")
    assert BatchCgroups.create(tmp_path, "4:memory:/\n8:pids:/\n1:cpu:/\n", name="b") is None


@pytest.fixture
def host_batch() -> BatchCgroups:
    batch = BatchCgroups.create()
    if batch is None:
        if os.environ.get("CI") == "true":
            pytest.fail("this host has no usable cgroup v1 or v2 hierarchy")
        pytest.skip("NO CGROUPS on this host: the real cgroup tests did not run")
    yield batch
    batch.close()


def test_a_real_slot_cgroup_bounds_a_process_and_is_removed(host_batch: BatchCgroups) -> None:
    slot = host_batch.slot(0)
    slot.set_limits(64 << 20, 16)
    hog = subprocess.Popen(
        [sys.executable, "-c", "import os\nfds = []\nfor _ in range(16):\n"
         "    fds.append(os.memfd_create('x'))\n    os.write(fds[-1], b'x' * (8 << 20))\n"
         "print('survived', flush=True)"],
        stdout=subprocess.PIPE, preexec_fn=lambda: join_cgroup(slot.procs_files()))
    out, _ = hog.communicate(timeout=60)
    assert hog.returncode == -9 and b"survived" not in out  # 128 MB of memfd > 64 MB
    host_batch.close()
    assert not any(d.exists() for d in slot.dirs + host_batch.bases)


def test_closing_the_batch_kills_what_is_left_in_a_slot(host_batch: BatchCgroups) -> None:
    slot = host_batch.slot(1)
    slot.set_limits(256 << 20, 16)
    sleeper = subprocess.Popen(["sleep", "60"],
                               preexec_fn=lambda: join_cgroup(slot.procs_files()))
    assert sleeper.pid in slot.pids()
    host_batch.close()
    assert sleeper.wait(timeout=10) == -9
    assert not any(d.exists() for d in slot.dirs)


def test_a_dead_batchs_cgroups_are_removed_at_the_next_start(tmp_path: Path) -> None:
    dead = subprocess.Popen(["true"])
    dead.wait()
    first = BatchCgroups.create(name=f"dl-grader-{dead.pid}")
    if first is None:
        pytest.skip("NO CGROUPS on this host: the real cgroup tests did not run")
    left = first.slot(0)
    second = BatchCgroups.create()
    try:
        assert not any(d.exists() for d in left.dirs + first.bases)
    finally:
        second.close()


def _memory_limit(slot: SlotCgroup) -> int | None:
    name = "memory.max" if slot.version == "v2" else "memory.limit_in_bytes"
    text = (slot.dirs[0] / name).read_text().strip()
    return None if text == "max" or int(text) >= 1 << 62 else int(text)


def test_a_slot_memory_limit_can_be_raised_lowered_and_lifted(host_batch: BatchCgroups) -> None:
    slot = host_batch.slot(2)
    for limit in (128 << 20, 512 << 20, 64 << 20):  # v1: memory <= memory+swap at each step
        slot.set_limits(limit, 32)
        assert _memory_limit(slot) == limit
    slot.set_limits(0, 32)
    assert _memory_limit(slot) is None
