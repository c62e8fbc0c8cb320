"""Time to plan a large LMS export (identity, roster lookup, latest attempt, ids) per preset.

    .venv/bin/python benchmarks/batch_plan.py [students]

Planning reads names and stats only (plus the module's definitions when deciding
batch-versus-single). A batch runs it, and hashes every graded entry, in a bounded child
(grader.intake.planning): the second column is that, fork and digests included.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from lms_exports import blackboard, canvas, gradescope, moodle, roster

from grader.intake.identity import load_roster, plan_batch
from grader.intake.planning import plan_and_hash


def build(root: Path, preset: str, n: int) -> None:
    for i in range(n):
        if preset == "canvas":
            canvas(root, f"student{i}", 1000 + i, 5000 + i, "backprop.py")
            canvas(root, f"student{i}", 1000 + i, 5000 + i, "backprop-1.py")
        elif preset == "moodle":
            moodle(root, f"Stüdent {i}", 2000 + i, {"a1/backprop.py": "x = 1\n"})
        elif preset == "blackboard":
            blackboard(root, "A1", f"user{i}", "2026-11-20-10-00-00", "backprop.py")
    if preset == "gradescope":
        gradescope(root, {3000 + i: [(f"S {i}", f"s{i}", f"s{i}@u.edu")] for i in range(n)})


def main(n: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        people = load_roster(roster(Path(tmp) / "roster.csv",
                                    [(f"c{i}", f"S {i}", f"s{i}@u.edu", str(1000 + i), "", "")
                                     for i in range(n)]))
        for preset in ("canvas", "moodle", "blackboard", "gradescope"):
            root = Path(tmp) / preset
            root.mkdir()
            build(root, preset, n)
            t0 = time.perf_counter()
            plan = plan_batch(root, "backprop", preset, people)
            dt = time.perf_counter() - t0
            t0 = time.perf_counter()
            plan_and_hash(root, "backprop", preset, people)
            bounded = time.perf_counter() - t0
            print(f"{preset:10s} {len(plan.entries):5d} entries, {len(plan.graded()):4d} graded "
                  f"in {dt * 1000:7.1f} ms ({dt / len(plan.entries) * 1e6:6.0f} us/entry, "
                  f"roster of {n}); in the bounded child with digests {bounded * 1000:7.1f} ms "
                  f"({bounded / len(plan.graded()) * 1e6:6.0f} us/graded entry)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 500)
