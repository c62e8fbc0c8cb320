"""Time to grade one a4_regularization solution submission (hidden-suite compute).

Grades the reference solution (markers stripped) through the grader's Python API, in the
sandbox when bwrap is available (else unsandboxed, as `--insecure` would), after warming up the
trusted side's imports (torch) as a batch does. Prints the submission's wall time, the sum of
the per-test durations (the test compute, including the round trips to the worker) and the
CPU seconds of the trusted process (torch references, pytest, wire encoding).

Usage: python benchmarks/a4_compute.py [--repeat 3] [--seed 1]
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from grader.authoring.release import strip_markers  # noqa: E402
from grader.course.config import load_config  # noqa: E402
from grader.grading.batch import warm_up  # noqa: E402
from grader.grading.options import GradeOptions, suite_sha256  # noqa: E402
from grader.grading.submission import grade_submission  # noqa: E402
from grader.sandbox.bwrap import bwrap_path  # noqa: E402

ASSIGNMENT = "a4_regularization"


def cpu_seconds(who: int) -> float:
    """User + system CPU seconds of `who` (resource.RUSAGE_SELF)."""
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    cfg = load_config(ROOT / "grader.yaml").assignment(ASSIGNMENT)
    sandbox = "bwrap" if bwrap_path() is not None else "none"
    t0 = time.perf_counter()
    warm_up(cfg)  # once per batch in real grading, so not part of one submission's cost
    print(f"warm-up (trusted-side imports, once per batch): {time.perf_counter() - t0:.2f} s")

    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        os.chmod(tmp, 0o755)
        source = tmp / "solution.py"
        source.write_text(strip_markers((cfg.solution_dir / cfg.module_file).read_text()))
        opts = GradeOptions(out=tmp / "out", seed=args.seed, sandbox=sandbox,
                            insecure=sandbox == "none", device="cpu", regrade=True,
                            progress=False)
        suite = suite_sha256(cfg)
        for i in range(args.repeat):
            cpu_self = cpu_seconds(resource.RUSAGE_SELF)
            t0 = time.perf_counter()
            result = grade_submission(cfg, source, opts, suite)
            wall = time.perf_counter() - t0
            trusted = cpu_seconds(resource.RUSAGE_SELF) - cpu_self
            tests = sum(t.duration for t in result.tests)
            print(f"run {i + 1} ({sandbox}): score {result.score}/{result.max_score}, "
                  f"{len(result.tests)} tests; wall {wall:.2f} s, test durations "
                  f"{tests:.2f} s; trusted-process CPU {trusted:.2f} s")


if __name__ == "__main__":
    main()
