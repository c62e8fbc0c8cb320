"""Precision and recall of the similarity report on the corpus of independent solutions.

For each assignment with a corpus (tests/similarity_corpus/<a>/ plus the reference solution)
and several seeds, the class is every independent solution and a disguised copy of each
(renamed, reordered, restyled, dead code, helpers split, one function rewritten). Prints the
lowest copy score, the highest independent-pair score, and precision / recall of the flags at
the default threshold. Then partial copies (tests/test_similarity_partial.py: one substantial
function of the reference copied into an otherwise independent solution, disguised): how many
are flagged with the copied function named, and how many other pairs are flagged with them.

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
from tests.test_similarity_partial import (  # noqa: E402
    CASES,
    DONOR,
    partial_copy_class,
)


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
    print(f"\n{'assignment':22s} {'copied function':28s} {'caught':>7s} {'false flags':>11s}")
    for case in CASES:
        assignment, function = case.values
        caught = false = 0
        for seed in args.seeds:
            entries, template = partial_copy_class(assignment, function, seed)
            for pair in compare(assignment, entries, template).flagged:
                if {pair.a, pair.b} == {DONOR, "partial"} and function in pair.copied_units:
                    caught += 1
                else:
                    false += 1
        print(f"{assignment:22s} {function:28s} {caught:4d}/{len(args.seeds)} {false:11d}")


if __name__ == "__main__":
    main()
