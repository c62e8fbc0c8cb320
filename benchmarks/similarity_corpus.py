"""Precision and recall of the similarity report on the corpus of independent solutions.

For each assignment with a corpus (tests/similarity_corpus/<a>/ plus the reference solution)
and several seeds, the class is every independent solution and a disguised copy of each
(renamed, reordered, restyled, dead code, helpers split, one function rewritten). Prints the
lowest copy score, the highest independent-pair score, and precision / recall of the flags at
the default threshold.

Usage: python benchmarks/similarity_corpus.py [--seeds 1 7 11]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from grader.similarity.engine import THRESHOLD, compare  # noqa: E402
from tests.test_similarity import ASSIGNMENTS, plagiarism_class  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 7, 11])
    args = parser.parse_args()
    print(f"threshold {THRESHOLD}")
    print(f"{'assignment':22s} {'sources':>7s} {'min copy':>9s} {'max indep':>10s} "
          f"{'precision':>9s} {'recall':>7s}")
    for assignment in ASSIGNMENTS:
        lowest, highest, true_pos, flagged, copies_total = 1.0, 0.0, 0, 0, 0
        for seed in args.seeds:
            entries, template, copies = plagiarism_class(assignment, seed)
            report = compare(assignment, entries, template)
            for pair in report.pairs:
                is_copy = frozenset((pair.a, pair.b)) in copies
                if is_copy:
                    lowest = min(lowest, pair.score)
                else:
                    highest = max(highest, pair.score)
                flagged += pair.flagged
                true_pos += pair.flagged and is_copy
            copies_total += len(copies)
        precision = true_pos / flagged if flagged else 1.0
        print(f"{assignment:22s} {len(entries) // 2:7d} {lowest:9.3f} {highest:10.3f} "
              f"{precision:9.2f} {true_pos / copies_total:7.2f}")


if __name__ == "__main__":
    main()
