"""Cost of one proxied call into a sandboxed worker, and how many calls a1 grading makes.

Prints the time per call (the minimum over rounds, which filters out other load on the host)
for calls with small a1-sized arrays, with no array, and with one 8 MB array, then the number of
calls one a1 solution's grading makes. Per-submission cost of a change to the call path is
(per-call difference) x (calls per submission). Runs against whichever checkout it lives in, so
the same script measures before and after a change.

Usage: python benchmarks/call_overhead.py [--calls 200] [--rounds 15]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from grader.grading.proxy import Session, StudentModule  # noqa: E402
from grader.sandbox.bwrap import Limits, SandboxSpec  # noqa: E402

MODULE = '''
def affine(x, w, b):
    return x @ w + b

def count(n):
    return n + 1

def total(x):
    return float(x.sum())
'''


def per_call(fn, args: tuple, calls: int, rounds: int) -> float:
    best = float("inf")
    for _ in range(rounds):
        t0 = time.perf_counter()
        for _ in range(calls):
            fn(*args)
        best = min(best, (time.perf_counter() - t0) / calls)
    return best


def calls_per_a1_submission(tmp: Path) -> int:
    """Grade the a1 solution once with Session.call counting into a file (the grading child is
    forked, so the patch reaches it)."""
    from tests.conftest import grade_folder, solution_text

    log = tmp / "calls.log"
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    plain = Session.call

    def counted(self, *args, **kwargs):
        os.write(fd, b".")
        return plain(self, *args, **kwargs)

    Session.call = counted
    try:
        batch = tmp / "batch"
        batch.mkdir()
        (batch / "s.py").write_text(solution_text("a1_backprop"))
        grade_folder(tmp, "a1_backprop", batch, workers=1)
    finally:
        Session.call = plain
        os.close(fd)
    return log.stat().st_size


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        folder = tmp / "sub"
        folder.mkdir()
        (folder / "bench.py").write_text(MODULE)
        folder.chmod(0o755)
        session = Session(SandboxSpec("bwrap", folder, Limits()), "bench")
        session.start()
        student = StudentModule(session)
        rng = np.random.default_rng(0)
        x, w, b = rng.random((10, 20)), rng.random((20, 30)), rng.random(30)
        big = rng.random(1 << 20)
        affine, count, total = student.affine, student.count, student.total
        small = per_call(affine, (x, w, b), args.calls, args.rounds)
        plain = per_call(count, (1,), args.calls, args.rounds)
        large = per_call(total, (big,), max(args.calls // 10, 1), args.rounds)
        session.close()
        print(f"call with 3 small arrays: {small * 1e6:8.1f} us")
        print(f"call without arrays:      {plain * 1e6:8.1f} us")
        print(f"call with one 8 MB array: {large * 1e6:8.1f} us")
        n = calls_per_a1_submission(tmp)
        print(f"calls in grading one a1 solution: {n}")


if __name__ == "__main__":
    main()
