"""Similarity report at class scale: N submissions of one assignment (default 1,000 of a4).

The class is synthetic: each submission is the reference solution or an independent solution
from tests/similarity_corpus, with a random set of the assignment's variants applied (bugs and
alternative implementations, as real classes have), random disguises (renaming, reordering,
restyling, dead code, helpers), and a few lines of its own (a helper with arithmetic no one else
writes, called from one function): in a real class every student writes something no one else
does, and a class built from four sources would otherwise have no rare code at all. A few
planted copies (a submission and a disguised copy of it) are mixed in; the benchmark prints the
time, the number of pairs scored, and how many planted copies are flagged.

Usage: python benchmarks/similarity_scale.py [--n 1000] [--assignment a4_regularization]
Target (issue 12): 1,000 submissions of a4 in under 60 s on the 2-core development machine.
"""

from __future__ import annotations

import argparse
import ast
import importlib
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from grader.authoring.release import make_stub, strip_markers  # noqa: E402
from grader.similarity.engine import CodeEntry, compare  # noqa: E402
from tests.conftest import MODULES  # noqa: E402
from tests.similarity_tools import disguise  # noqa: E402
from tests.variants.mutate import apply  # noqa: E402


def own_lines(source: str, rng: random.Random, contract: set[str]) -> str:
    """``source`` with a helper of random arithmetic called at the top of one function."""
    tree = ast.parse(source)
    functions = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name in contract]
    if not functions:
        return source
    terms = " + ".join(f"v * {rng.uniform(0.1, 9.9):.3f} - {rng.uniform(0.1, 9.9):.3f}"
                       for _ in range(6))
    helper = ast.parse(f"def _mine(v):\n    return {terms}\n").body[0]
    target = rng.choice(functions)
    target.body.insert(0, ast.parse("_scale = _mine(1.0)").body[0])
    target.body.insert(1, ast.parse("assert _scale == _scale").body[0])
    tree.body.append(helper)
    return ast.unparse(tree)


def synthetic_class(assignment: str, n: int, planted: int, seed: int) -> tuple[list[CodeEntry],
                                                                                str,
                                                                                set[frozenset]]:
    rng = random.Random(seed)
    module = MODULES[assignment]
    solution_file = ROOT / "solutions" / assignment / f"{module}.py"
    template = make_stub(solution_file.read_text())
    contract = {node.name for node in ast.walk(ast.parse(template))
                if isinstance(node, (ast.FunctionDef, ast.ClassDef))}
    bases = [strip_markers(solution_file.read_text())]
    corpus = ROOT / "tests" / "similarity_corpus" / assignment
    bases += [p.read_text() for p in sorted(corpus.glob("*.py"))] if corpus.is_dir() else []
    variants_module = importlib.import_module(f"tests.variants.{assignment}")
    variants = variants_module.BUGGY + variants_module.CORRECT
    entries: list[CodeEntry] = []
    while len(entries) < n - planted:
        source = rng.choice(bases)
        for variant in rng.sample(variants, rng.randrange(0, 4)):
            try:
                source = apply(source, variant.changes)
            except (ValueError, KeyError, SyntaxError):
                continue  # a variant written for the reference does not fit this base
        kinds = tuple(k for k in ("rename", "reorder", "restyle", "dead", "split")
                      if rng.random() < 0.5)
        source = own_lines(disguise(source, rng, contract, kinds), rng, contract)
        entries.append(CodeEntry(f"s{len(entries):04d}", source))
    copies = set()
    for i in range(planted):
        original = entries[rng.randrange(len(entries))]
        name = f"copy{i:02d}_of_{original.student}"
        entries.append(CodeEntry(name, disguise(original.source, rng, contract)))
        copies.add(frozenset((original.student, name)))
    return entries, template, copies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--assignment", default="a4_regularization")
    parser.add_argument("--planted", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    made = time.monotonic()
    entries, template, copies = synthetic_class(args.assignment, args.n, args.planted,
                                                args.seed)
    print(f"built {len(entries)} submissions of {args.assignment} in "
          f"{time.monotonic() - made:.1f} s")
    started = time.monotonic()
    report = compare(args.assignment, entries, template)
    seconds = time.monotonic() - started
    found = sum(1 for p in report.flagged if frozenset((p.a, p.b)) in copies)
    mode = "all pairs" if report.exact else "index candidates"
    print(f"similarity of {len(entries)} submissions: {seconds:.1f} s ({mode}, "
          f"{len(report.pairs)} pairs scored, {len(report.flagged)} flagged)")
    print(f"planted copies flagged: {found} of {len(copies)}")
    print(f"target: under 60 s -> {'met' if seconds < 60 else 'MISSED'} "
          f"(ratio to target {seconds / 60:.2f})")


if __name__ == "__main__":
    main()
