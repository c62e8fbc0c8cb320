"""Seed sweep: every buggy variant of tests/variants, graded on many run seeds.

A hidden test draws its shapes and values from the run seed, so a bug it is meant to catch can
slip through on the seeds whose draws do not exercise it (a square output hides swapped H and
W). For every variant and seed this grades the variant through the real grader (one batch per
seed and assignment) and checks that each test in the variant's ``fails`` failed and, where
the variant names an exact ``lost``, that it lost exactly those points. Prints one row per
variant: kills out of seeds, and one mark per seed ('.' killed, 'x' survived, 'E' not
graded), then the details of every miss. Exits 1 if any variant survived any seed.

The fast subset runs in tests/test_seed_sweep.py; this is the full sweep (minutes per
assignment: every variant of the course, one submission each, on every seed).

Usage: python benchmarks/seed_sweep.py [--seeds 20] [--first 1000] [--assignment a7_conv ...]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.variants.sweep import Outcome, buggy, sweep  # noqa: E402

ASSIGNMENTS = sorted(p.stem for p in (ROOT / "tests" / "variants").glob("a*.py"))


def report(assignment: str, outcomes: list[Outcome], seeds: list[int], seconds: float) -> int:
    """Prints the assignment's table; returns the number of misses."""
    print(f"\n{assignment}: {len({o.variant for o in outcomes})} variants x {len(seeds)} seeds "
          f"({seconds:.0f} s)")
    by_variant: dict[str, dict[int, Outcome]] = {}
    for o in outcomes:
        by_variant.setdefault(o.variant, {})[o.seed] = o
    width = max(len(v) for v in by_variant)
    misses = [o for o in outcomes if not o.killed]
    for variant, per_seed in by_variant.items():
        marks = "".join("." if per_seed[s].killed else ("E" if per_seed[s].error else "x")
                        for s in seeds)
        kills = sum(o.killed for o in per_seed.values())
        print(f"  {variant:<{width}}  {kills:>3}/{len(seeds)}  {marks}")
    for o in misses:
        print(f"  MISS {o.describe()}")
    return len(misses)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20, help="how many run seeds")
    parser.add_argument("--first", type=int, default=1000, help="the first run seed")
    parser.add_argument("--assignment", nargs="*", default=ASSIGNMENTS, choices=ASSIGNMENTS)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    seeds = list(range(args.first, args.first + args.seeds))
    total = 0
    with tempfile.TemporaryDirectory(prefix="seed-sweep-") as tmp:
        for assignment in args.assignment:
            started = time.monotonic()
            outcomes = sweep(assignment, buggy(assignment), seeds, Path(tmp) / assignment,
                             workers=args.workers)
            total += report(assignment, outcomes, seeds, time.monotonic() - started)
    print(f"\n{total} misses")
    return 1 if total else 0


if __name__ == "__main__":
    sys.exit(main())
