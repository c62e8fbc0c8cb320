"""Grading variants over many run seeds: a hidden test must kill the variants it is meant to
kill on every seed, not only when the seed's draws happen to exercise the property it checks.

Each seed is one real batch (the grader's own API, as ``grader grade --seed``); the run seed
and the test's name seed the test's ``rng``, so every seed draws different shapes and values.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import failed_tests, grade_folder, solution_text
from tests.variants.mutate import Variant, apply


@dataclass(frozen=True)
class Outcome:
    """What one seed's grading did to one variant."""

    seed: int
    variant: str
    survived: tuple[str, ...]  # tests in the variant's ``fails`` that passed
    lost: float
    expected_lost: float | None
    error: str | None = None  # the submission was not graded ("ok" status missing)

    @property
    def killed(self) -> bool:
        exact = self.expected_lost is None or abs(self.lost - self.expected_lost) < 1e-9
        return self.error is None and not self.survived and self.lost > 0 and exact

    def describe(self) -> str:
        if self.error:
            return f"seed {self.seed}: {self.variant} not graded: {self.error}"
        problems = [f"passed {', '.join(self.survived)}"] if self.survived else []
        if self.lost <= 0:
            problems.append("lost no points")
        elif self.expected_lost is not None and abs(self.lost - self.expected_lost) >= 1e-9:
            problems.append(f"lost {self.lost:g} points, its slip costs {self.expected_lost:g}")
        return f"seed {self.seed}: {self.variant} {'; '.join(problems)}"


def buggy(assignment: str) -> list[Variant]:
    return importlib.import_module(f"tests.variants.{assignment}").BUGGY


def pick(assignment: str, names: Iterable[str]) -> list[Variant]:
    by_name = {v.name: v for v in buggy(assignment)}
    return [by_name[n] for n in names]


def combined(name: str, variants: list[Variant]) -> Variant:
    """One submission carrying several slips in different functions (one batch grades it
    faster than several): each test still meets the slip it is meant to kill, and exact
    losses add up when every slip has one (their tests are disjoint)."""
    losses = [v.lost for v in variants]
    if any(x is None for x in losses) and any(x is not None for x in losses):
        raise ValueError(f"{name}: combine slips that all have an exact loss, or none")
    return Variant(name, [c for v in variants for c in v.changes],
                   fails=[t for v in variants for t in v.fails],
                   lost=None if None in losses else sum(losses))


def sweep(assignment: str, variants: list[Variant], seeds: Iterable[int], workdir: Path,
          *, workers: int = 2) -> list[Outcome]:
    """Grade ``variants`` of ``assignment``'s solution once per seed."""
    batch = workdir / "batch"
    batch.mkdir(parents=True, exist_ok=True)
    solution = solution_text(assignment)
    for v in variants:
        (batch / f"{v.name}.py").write_text(apply(solution, v.changes))
    outcomes = []
    for seed in seeds:
        run = workdir / f"seed-{seed}"
        run.mkdir()
        results = grade_folder(run, assignment, batch, seed=seed, workers=workers)
        for v in variants:
            result = results.get(v.name)
            if result is None or result["status"] != "ok":
                error = "no result" if result is None else str(result.get("error"))
                outcomes.append(Outcome(seed, v.name, tuple(v.fails), 0.0, v.lost, error))
                continue
            failed = failed_tests(result)
            outcomes.append(Outcome(seed, v.name, tuple(t for t in v.fails if t not in failed),
                                    result["max_score"] - result["score"], v.lost))
    return outcomes
