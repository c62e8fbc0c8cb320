"""The similarity corpus is only evidence if every file in it is a correct solution: each
independent solution in tests/similarity_corpus/<a>/ gets full marks from the hidden suite.
Each assignment's corpus is graded in one parallel batch."""

from __future__ import annotations

import shutil
from collections.abc import Callable

import pytest

from tests.conftest import ROOT, failed_tests, grade_folder

pytestmark = pytest.mark.sandbox

CORPUS = ROOT / "tests" / "similarity_corpus"
CASES = [pytest.param(p.parent.name, p.stem, id=f"{p.parent.name}-{p.stem}")
         for p in sorted(CORPUS.glob("*/*.py"))]
Grade = Callable[[str], dict[str, dict]]  # assignment -> results.json by corpus file stem


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> Grade:
    cache: dict[str, dict[str, dict]] = {}

    def grade(assignment: str) -> dict[str, dict]:
        if assignment not in cache:
            tmp = tmp_path_factory.mktemp(assignment)
            batch = tmp / "batch"
            batch.mkdir()
            for source in (CORPUS / assignment).glob("*.py"):
                shutil.copy(source, batch / source.name)
            cache[assignment] = grade_folder(tmp, assignment, batch)
        return cache[assignment]

    return grade


@pytest.mark.parametrize(("assignment", "name"), CASES)
def test_corpus_solution_gets_full_marks(graded: Grade, assignment: str, name: str) -> None:
    result = graded(assignment)[name]
    assert result["status"] == "ok", result["error"]
    assert result["score"] == result["max_score"], sorted(failed_tests(result))


def test_every_corpus_assignment_has_at_least_three_independent_solutions() -> None:
    """Issue 12 asks for three independent solutions per assignment besides the reference."""
    counts = {d.name: len(list(d.glob("*.py"))) for d in CORPUS.iterdir() if d.is_dir()}
    assert counts and all(n >= 3 for n in counts.values()), counts
