"""Hidden suites against mutated solutions: every realistic bug loses points, every
alternative correct implementation gets full marks, the solution gets full marks and the
released stub gets zero. Each assignment's variants are graded in one parallel batch."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from tests.conftest import MODULES, failed_tests, grade_folder, solution_text, stub_text
from tests.variants.mutate import Variant, apply

pytestmark = pytest.mark.sandbox

ROOT = Path(__file__).resolve().parent.parent
ASSIGNMENTS = sorted(p.stem for p in (ROOT / "tests" / "variants").glob("a*.py"))


def variants(assignment: str) -> tuple[list[Variant], list[Variant]]:
    module = importlib.import_module(f"tests.variants.{assignment}")
    return module.BUGGY, module.CORRECT


CASES = [pytest.param(a, kind, v.name, id=f"{a}-{kind}-{v.name}")
         for a in ASSIGNMENTS for kind, group in zip(("buggy", "correct"), variants(a),
                                                     strict=True) for v in group]


@pytest.fixture(scope="session")
def graded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, dict]]:
    cache: dict[str, dict[str, dict]] = {}

    def grade(assignment: str) -> dict[str, dict]:
        if assignment not in cache:
            tmp = tmp_path_factory.mktemp(assignment)
            batch = tmp / "batch"
            batch.mkdir()
            solution = solution_text(assignment)
            (batch / "solution.py").write_text(solution)
            (batch / "stub.py").write_text(stub_text(assignment))
            buggy, correct = variants(assignment)
            for v in buggy + correct:
                (batch / f"{v.name}.py").write_text(apply(solution, v.changes))
            cache[assignment] = grade_folder(tmp, assignment, batch)
        return cache[assignment]

    return grade  # type: ignore[return-value]


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_the_reference_solution_gets_full_marks(graded, assignment: str) -> None:
    result = graded(assignment)["solution"]
    assert result["status"] == "ok", result["error"]
    assert result["score"] == result["max_score"], sorted(failed_tests(result))


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_the_released_stub_gets_zero(graded, assignment: str) -> None:
    result = graded(assignment)["stub"]
    assert result["score"] == 0, [t["test_id"] for t in result["tests"] if t["score"]]


@pytest.mark.parametrize(("assignment", "kind", "name"), CASES)
def test_variant_is_graded_as_expected(graded, assignment: str, kind: str, name: str) -> None:
    result = graded(assignment)[name]
    assert result["status"] == "ok", result["error"]
    if kind == "correct":
        assert result["score"] == result["max_score"], sorted(failed_tests(result))
        return
    variant = next(v for v in variants(assignment)[0] if v.name == name)
    assert result["score"] < result["max_score"], f"{name} lost no points"
    missing = set(variant.fails) - failed_tests(result)
    assert not missing, f"{name} should fail {sorted(missing)}"
    if variant.lost is not None:
        lost = result["max_score"] - result["score"]
        assert lost == pytest.approx(variant.lost), (
            f"{name} lost {lost:g} points, its slip costs {variant.lost:g}; it failed "
            f"{sorted(failed_tests(result))}")


def test_every_assignment_with_a_suite_has_variants() -> None:
    assert set(ASSIGNMENTS) >= {a for a in MODULES if a != "a6_mnist"
                                and (ROOT / "autotests" / a).is_dir()}
