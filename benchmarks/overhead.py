"""Grader overhead per submission and batch throughput.

Prints:
  * overhead per submission: intake + sandbox start + teardown + pytest session + result
    writing, measured by grading N submissions against a one-test suite that does nothing
    (so test compute is ~0), with one worker;
  * the same with all cores;
  * the time to grade 20 copies of the a1 solution (and N a1+a2 submissions with --mixed);
  * for scale, a fresh sandboxed Python that imports torch (what a naive grader pays).

Usage: python benchmarks/overhead.py [--copies 20] [--mixed 0]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from grader.authoring.release import strip_markers  # noqa: E402
from grader.course.config import load_config  # noqa: E402
from grader.grading.batch import grade_batch  # noqa: E402
from grader.grading.options import GradeOptions  # noqa: E402
from grader.sandbox.bwrap import Limits, SandboxSpec, bwrap_command  # noqa: E402

NOOP_SUITE = '''
import pytest

@pytest.mark.points(1)
def test_module_loads(student):
    """the module can be called"""
    assert student.identity(3) == 3
'''


def grade(config: Path, name: str, batch: Path, out: Path, workers: int) -> float:
    cfg = load_config(config).assignment(name)
    opts = GradeOptions(out=out, seed=1, sandbox="bwrap", insecure=False, device="cpu",
                        workers=workers, regrade=True, progress=False)
    t0 = time.perf_counter()
    summary = grade_batch(cfg, batch, opts)
    if summary.faults:
        raise SystemExit(f"{summary.faults} grader faults")
    return time.perf_counter() - t0


def overhead(tmp: Path, n: int, workers: int) -> float:
    suite = tmp / "noop_suite"
    suite.mkdir(exist_ok=True)
    (suite / "test_noop.py").write_text(NOOP_SUITE)
    config = tmp / "grader.yaml"
    config.write_text(f"assignments:\n  noop:\n    module: ident\n    points: 1\n"
                      f"    hidden_tests: {suite}\n")
    batch = tmp / f"noop_{workers}"
    batch.mkdir(exist_ok=True)
    for i in range(n):
        (batch / f"s{i:03d}.py").write_text("def identity(x):\n    return x\n")
    return grade(config, "noop", batch, tmp / "out", workers) / n


def copies(tmp: Path, names: list[str], n: int, workers: int) -> float:
    batch = tmp / ("batch_" + "_".join(names))
    batch.mkdir()
    course = load_config(ROOT / "grader.yaml")
    for i in range(n):
        name = names[i % len(names)]
        cfg = course.assignment(name)
        sub = batch / name / f"s{i:03d}.py"
        sub.parent.mkdir(exist_ok=True)
        sub.write_text(strip_markers((cfg.solution_dir / cfg.module_file).read_text()))
    total = 0.0
    for name in names:
        if (batch / name).is_dir():
            total += grade(ROOT / "grader.yaml", name, batch / name, tmp / "out", workers)
    return total


def fresh_torch_start(tmp: Path) -> float:
    spec = SandboxSpec("bwrap", tmp, Limits(), allow_torch=True)
    cmd = bwrap_command(spec, [sys.executable, "-c", "import torch"])
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True)
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=20)
    parser.add_argument("--mixed", type=int, default=0, help="also grade N a1+a2 submissions")
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        os.chmod(tmp, 0o755)
        one = overhead(tmp, 20, 1)
        many = overhead(tmp, 20, cores)
        naive = fresh_torch_start(tmp)
        print(f"overhead per submission, 1 worker:      {one:.3f} s")
        print(f"overhead per submission, {cores} workers:     {many:.3f} s (wall / submissions)")
        print(f"fresh sandboxed python + import torch: {naive:.3f} s "
              f"(ratio to our overhead: {naive / one:.1f}x)")
        a1 = copies(tmp, ["a1_backprop"], args.copies, cores)
        print(f"{args.copies} copies of the a1 solution, {cores} workers: {a1:.1f} s "
              f"({a1 / args.copies:.2f} s per submission)")
        if args.mixed:
            mixed = copies(tmp, ["a1_backprop", "a2_softmax"], args.mixed, cores)
            print(f"{args.mixed} a1+a2 submissions, {cores} workers: {mixed:.1f} s")


if __name__ == "__main__":
    main()
