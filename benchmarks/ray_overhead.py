"""The Ray backend against the local pool, on a Ray cluster started here on 127.0.0.1.

Prints:
  * per-submission time with one slot, local pool vs Ray (one node, one CPU), for a suite that
    does nothing (so it is all overhead: packing, the object store, the actor call, intake,
    the warm sandbox, pytest, the result's way back), and their ratio. Steady state: the
    difference between a batch of --many and one of --few, divided by the extra submissions,
    so the one-off start (Ray connection, slot start-up, zygote) is left out; that start is
    printed separately;
  * throughput (submissions/s) of --copies a1 reference solutions on one node, then on two
    (one CPU each).

The numbers are from one run on a shared machine: rerun before trusting a small difference.

Usage: python benchmarks/ray_overhead.py [--few 4] [--many 16] [--copies 12]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from grader.authoring.release import strip_markers  # noqa: E402
from grader.course.config import AssignmentConfig, load_config  # noqa: E402
from grader.grading.backends import Backend  # noqa: E402
from grader.grading.backends.ray_cluster import RayBackend  # noqa: E402
from grader.grading.batch import LocalPool, grade_batch  # noqa: E402
from grader.grading.options import GradeOptions  # noqa: E402
from tests.ray_cluster import LocalCluster  # noqa: E402

NOOP_SUITE = '''
import pytest

@pytest.mark.points(1)
def test_module_loads(student):
    """the module can be called"""
    assert student.identity(3) == 3
'''


def timed(cfg: AssignmentConfig, batch: Path, out: Path, backend: Backend) -> float:
    opts = GradeOptions(out=out, seed=1, sandbox="bwrap", insecure=False, device="cpu",
                        workers=1, regrade=True, progress=False)
    t0 = time.perf_counter()
    summary = grade_batch(cfg, batch, opts, backend=backend)
    if summary.faults:
        raise SystemExit(f"{summary.faults} grader faults")
    return time.perf_counter() - t0


def per_submission(cfg: AssignmentConfig, few: Path, many: Path, tmp: Path,
                   backend: Backend) -> float:
    """Seconds per submission in steady state (the one-off start left out); prints both."""
    n_few, n_many = len(list(few.iterdir())), len(list(many.iterdir()))
    t_few = timed(cfg, few, tmp / "out", backend)
    t_many = timed(cfg, many, tmp / "out", backend)
    per = (t_many - t_few) / (n_many - n_few)
    print(f"{backend.name:5s}: {per * 1000:7.1f} ms per submission (one slot), one-off start "
          f"{t_few - n_few * per:5.1f} s  [{n_few}: {t_few:.2f} s, {n_many}: {t_many:.2f} s]")
    return per


def batch_of(folder: Path, n: int, text: str, module: str) -> Path:
    folder.mkdir()
    for i in range(n):
        sub = folder / f"s{i:03d}" / f"{module}.py"
        sub.parent.mkdir()
        sub.write_text(text)
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--few", type=int, default=4)
    parser.add_argument("--many", type=int, default=16)
    parser.add_argument("--copies", type=int, default=12)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        (tmp / "suite").mkdir()
        (tmp / "suite" / "test_noop.py").write_text(NOOP_SUITE)
        (tmp / "grader.yaml").write_text(f"assignments:\n  noop:\n    module: ident\n"
                                         f"    points: 1\n    hidden_tests: {tmp / 'suite'}\n")
        noop = load_config(tmp / "grader.yaml").assignment("noop")
        body = "def identity(x):\n    return x\n"
        few = batch_of(tmp / "few", args.few, body, "ident")
        many = batch_of(tmp / "many", args.many, body, "ident")
        a1 = load_config(ROOT / "grader.yaml").assignment("a1_backprop")
        a1_batch = batch_of(tmp / "a1", args.copies, strip_markers(
            (a1.solution_dir / a1.module_file).read_text()), a1.module)

        per = {"local pool": per_submission(noop, few, many, tmp, LocalPool())}
        cluster = LocalCluster()  # started after the local pool's run: it costs CPU time
        try:
            cluster.head()
            ray = RayBackend(cluster.address)
            per["ray"] = per_submission(noop, few, many, tmp, ray)
            print(f"ray / local per-submission overhead: {per['ray'] / per['local pool']:.2f}")
            one = args.copies / timed(a1, a1_batch, tmp / "out", ray)
            cluster.node()
            two = args.copies / timed(a1, a1_batch, tmp / "out", ray)
            print(f"a1 x{args.copies} on ray: one node {one:.2f} submissions/s, two nodes "
                  f"{two:.2f} submissions/s ({two / one:.2f}x)")
        finally:
            import ray as ray_module

            if ray_module.is_initialized():
                ray_module.shutdown()
            cluster.stop()


if __name__ == "__main__":
    main()
