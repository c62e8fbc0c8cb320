"""The notebook corpus (tests/notebook_corpus.py): every habit of every assignment comes out
as it must. All cases are staged and their module imported; the a2 corpus is also graded
through the full sandbox pipeline (the others would only repeat it at a high CPU cost)."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

from grader.intake.notebook import sandbox_packages
from grader.intake.staging import Submission, stage, student_id_for
from grader.results.store import GRADED_MODULE
from tests import notebook_corpus
from tests.conftest import COURSE, MODULES, grade_folder, solution_text, stub_text

pytestmark = pytest.mark.sandbox

ASSIGNMENTS = sorted(MODULES)


def staged(case: notebook_corpus.Case, tmp: Path) -> Submission:
    return stage(case.path, case.module, tmp / "stage" / case.path.name,
                 starter=stub_text(case.assignment),
                 packages=sandbox_packages(COURSE.assignment(case.assignment).torch_in_sandbox))


def top_level_names(code: str) -> set[str]:
    names = set()
    for node in ast.parse(code).body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
    return names


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_corpus_case_is_staged_with_its_expected_outcome(tmp_path: Path,
                                                               assignment: str) -> None:
    cases = notebook_corpus.build(tmp_path / "corpus", assignment)
    stub_names = top_level_names(stub_text(assignment))
    for case in cases:
        sub = staged(case, tmp_path)
        warnings = "\n".join(sub.warnings)
        if case.error:
            assert sub.error is not None and case.error in sub.error, (case.habit, sub.error)
            continue
        assert sub.error is None, (case.habit, sub.error)
        for expected in case.warnings:
            assert expected in warnings, (case.habit, warnings)
        code = (sub.staged / f"{case.module}.py").read_text()
        assert "raise NotImplementedError" not in code, case.habit
        namespace = {"__name__": case.module}
        exec(compile(code, f"{case.habit}/{case.module}.py", "exec"), namespace)
        assert stub_names <= set(namespace), (case.habit, sorted(stub_names - set(namespace)))


@pytest.fixture(scope="module")
def a2_graded(tmp_path_factory: pytest.TempPathFactory) -> tuple[list, dict[str, dict], Path]:
    tmp = tmp_path_factory.mktemp("a2corpus")
    cases = notebook_corpus.build(tmp / "batch", "a2_softmax")
    raises = notebook_corpus.filled("a2_softmax", solution_text("a2_softmax").replace(
        "keepdims=True)\n    e = np.exp(z)", "keepdims=True) + shift\n    e = np.exp(z)", 1))
    (tmp / "batch" / "a2_raises.ipynb").write_text(json.dumps(raises))
    at_import = notebook_corpus.filled("a2_softmax")
    at_import["cells"].append(notebook_corpus.code_cell("import numpy as np\nSCALE = 1 / 0"))
    (tmp / "batch" / "a2_at_import.ipynb").write_text(json.dumps(at_import))
    return cases, grade_folder(tmp, "a2_softmax", tmp / "batch"), tmp / "out" / "a2_softmax"


def student_id(case: notebook_corpus.Case) -> str:
    return student_id_for(case.path)


def test_the_a2_corpus_grades_full_marks_through_the_sandbox(a2_graded) -> None:
    cases, results, _ = a2_graded
    for case in cases:
        result = results[student_id(case)]
        if case.error:
            assert result["status"] == "submission_error" and case.error in result["error"]
        else:
            assert result["status"] == "ok", (case.habit, result["error"])
            assert result["score"] == result["max_score"], (case.habit, result["output"])


def test_the_module_graded_from_a_notebook_is_kept_beside_its_results(a2_graded) -> None:
    _, _, out = a2_graded
    kept = (out / "a2_softmax" / GRADED_MODULE).read_text()
    assert kept.startswith("# The graded module, derived from a2_softmax.ipynb")
    assert "def softmax" in kept
    assert not (out / "empty" / GRADED_MODULE).exists()  # a .py is graded as it is


def cell_and_line(nb_path: Path, text: str) -> tuple[int, int]:
    """(cell, line), 1-based, of the first line holding ``text``."""
    for number, cell in enumerate(json.loads(nb_path.read_text())["cells"], start=1):
        lines = "".join(cell["source"]).splitlines()
        for index, line in enumerate(lines, start=1):
            if text in line:
                return number, index
    raise AssertionError(f"{text!r} not found")


def test_a_failing_test_names_the_notebook_cell_and_line(a2_graded) -> None:
    _, results, out = a2_graded
    cell, line = cell_and_line(out.parent.parent / "batch" / "a2_raises.ipynb", "+ shift")
    outputs = "\n".join(t["output"] for t in results["a2_raises"]["tests"])
    # Colab shows no cell numbers: the cell's first line says which cell it is.
    assert re.search(rf'File "a2_raises.ipynb", cell {cell}, line {line} \(cell starting '
                     r'`[^`]+`\), in softmax', outputs), outputs
    assert "softmax.py" not in outputs


def test_an_error_at_import_names_the_notebook_cell(a2_graded) -> None:
    _, results, out = a2_graded
    cell, line = cell_and_line(out.parent.parent / "batch" / "a2_at_import.ipynb", "1 / 0")
    result = results["a2_at_import"]
    assert result["status"] == "submission_error"
    assert "running the graded cells of a2_at_import.ipynb" in result["error"]
    assert f"cell {cell}, line {line}" in result["error"]


NUMPY_ASSIGNMENTS = [a for a in ASSIGNMENTS  # a6 (torch): tests/test_a6_grading.py
                     if not COURSE.assignment(a).torch_in_sandbox]


@pytest.mark.parametrize("assignment", NUMPY_ASSIGNMENTS)
def test_the_released_notebook_filled_with_the_solution_grades_full_marks(
        tmp_path: Path, assignment: str) -> None:
    """The round trip students rely on: release notebook -> filled in -> intake -> sandbox."""
    batch = tmp_path / "batch"
    batch.mkdir()
    (batch / "filled.ipynb").write_text(json.dumps(notebook_corpus.filled(assignment)))
    (batch / "solution.py").write_text(solution_text(assignment))  # the batch is not one entry
    results = grade_folder(tmp_path, assignment, batch)
    result = results["filled"]
    assert result["status"] == "ok", result["error"]
    assert result["score"] == result["max_score"], [t["name"] for t in result["tests"]
                                                    if t["status"] != "passed"]
