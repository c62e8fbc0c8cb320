"""The worker's CPU time as the trusted side reads it from the kernel (grader.sandbox.cpu_meter,
grader.sandbox.cgroups.CpuCounter): which counter, what it counts, and the fallback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from grader.sandbox import cpu_meter
from grader.sandbox.bwrap import join_cgroup
from grader.sandbox.cgroups import BatchCgroups, CpuCounter

# Burns about 0.4 s of CPU in two threads beside the main one, then waits to be killed.
BURN_IN_THREADS = '''
import sys, threading, time
def burn():
    end = time.thread_time() + 0.2
    while time.thread_time() < end:
        pass
workers = [threading.Thread(target=burn) for _ in range(2)]
for w in workers:
    w.start()
for w in workers:
    w.join()
print("done", flush=True)
sys.stdin.read()
'''


def test_v1_counter_is_cpuacct_usage_in_nanoseconds(tmp_path: Path) -> None:
    (tmp_path / "cpuacct.usage").write_text("1234567\n")
    counter = CpuCounter.of((tmp_path / "memory", tmp_path))
    assert counter is not None and counter.ns() == 1234567
    assert "cpuacct" in counter.source


def test_v2_counter_is_cpu_stat_usage_usec(tmp_path: Path) -> None:
    (tmp_path / "cpu.stat").write_text("usage_usec 2500\nuser_usec 2000\nsystem_usec 500\n")
    counter = CpuCounter.of((tmp_path,))
    assert counter is not None and counter.ns() == 2_500_000
    assert "v2" in counter.source


def test_a_v1_cpu_stat_without_usage_is_no_counter(tmp_path: Path) -> None:
    (tmp_path / "cpu.stat").write_text("nr_periods 0\nnr_throttled 0\nthrottled_time 0\n")
    assert CpuCounter.of((tmp_path,)) is None


def test_without_a_cgroup_the_worker_process_tree_is_measured_and_said_so() -> None:
    source = cpu_meter.for_worker((), os.getpid())
    assert "process tree" in source.name and "no cgroup" in source.name


def _burn(preexec=None) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", BURN_IN_THREADS], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, preexec_fn=preexec)
    assert proc.stdout.readline() == b"done\n"
    return proc


def test_the_process_tree_fallback_counts_every_thread_of_a_child() -> None:
    before = cpu_meter.process_tree_ns(os.getpid())
    proc = _burn()
    try:
        spent = cpu_meter.settled(lambda: cpu_meter.process_tree_ns(os.getpid())) - before
    finally:
        proc.kill()
        proc.wait()
    assert spent >= 0.3e9  # two threads of 0.2 s each, in ticks of 10 ms


@pytest.mark.sandbox
def test_the_slot_counter_counts_every_thread_of_its_processes_and_nothing_else() -> None:
    batch = BatchCgroups.create()
    if batch is None:
        if os.environ.get("CI") == "true":
            pytest.fail("this host has no usable cgroup v1 or v2 hierarchy")
        pytest.skip("NO CGROUPS on this host: the cgroup CPU counter was not tested")
    try:
        slot = batch.slot(0)
        slot.set_limits(512 << 20, 16)
        counter = CpuCounter.of(slot.dirs)
        assert counter is not None, "the slot cgroup has no CPU accounting"
        outside = _burn()  # the same work outside the slot adds nothing to it
        outside.kill()
        outside.wait()
        assert counter.ns() < 0.05e9
        proc = _burn(lambda: join_cgroup(slot.procs_files()))
        try:
            spent = cpu_meter.settled(counter.ns)
        finally:
            proc.kill()
            proc.wait()
        assert 0.38e9 <= spent < 1.5e9
    finally:
        batch.close()
