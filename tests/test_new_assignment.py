"""An instructor adds an assignment as docs/AUTHORING.md says (a grader.yaml entry,
solutions/<a>/, autotests/<a>/, `grader release`): the project's corpus and release code paths
take it without a table entry anywhere. Simulated with a copy of a2 under a new name."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from grader import cli
from grader.authoring.release import starter_text
from grader.course.config import CourseConfig, load_config
from grader.intake.notebook import sandbox_packages
from grader.intake.staging import stage
from tests import notebook_corpus
from tests.conftest import ROOT

NEW = "a9_softmax_again"


@pytest.fixture(scope="module")
def course(tmp_path_factory: pytest.TempPathFactory) -> CourseConfig:
    """A course with only the new assignment, released with `grader release`."""
    root = tmp_path_factory.mktemp("course")
    ignore = shutil.ignore_patterns("__pycache__")
    shutil.copytree(ROOT / "solutions" / "a2_softmax", root / "solutions" / NEW, ignore=ignore)
    shutil.copyfile(ROOT / "solutions" / "gradcheck.py", root / "solutions" / "gradcheck.py")
    shutil.copytree(ROOT / "autotests" / "a2_softmax", root / "autotests" / NEW, ignore=ignore)
    for shared in (ROOT / "autotests").glob("*.py"):
        shutil.copyfile(shared, root / "autotests" / shared.name)
    config = root / "grader.yaml"
    config.write_text(f"assignments:\n  {NEW}:\n    title: Softmax again\n    module: softmax\n"
                      "    points: 30\n    torch_in_sandbox: false\n")
    assert cli.main(["--config", str(config), "release", NEW]) == 0
    return load_config(config)


def test_the_notebook_corpus_is_built_for_an_assignment_it_has_no_table_for(
        course: CourseConfig, tmp_path: Path) -> None:
    assert NEW not in notebook_corpus.LAMBDA_HELPERS
    cases = notebook_corpus.build(tmp_path / "corpus", NEW, course)
    assert "lambda helper" in {case.habit for case in cases}
    assert {case.module for case in cases} == {"softmax"}


def test_every_corpus_case_of_the_new_assignment_has_its_expected_outcome(
        course: CourseConfig, tmp_path: Path) -> None:
    cfg = course.assignment(NEW)
    for case in notebook_corpus.build(tmp_path / "corpus", NEW, course):
        sub = stage(case.path, case.module, tmp_path / "stage" / case.path.name,
                    starter=starter_text(cfg), packages=sandbox_packages(cfg.torch_in_sandbox))
        if case.error:
            assert sub.error is not None and case.error in sub.error, (case.habit, sub.error)
            continue
        assert sub.error is None, (case.habit, sub.error)
        warnings = "\n".join(sub.warnings)
        assert all(expected in warnings for expected in case.warnings), (case.habit, warnings)


def test_the_derived_lambda_helper_wraps_the_solutions_first_numpy_call() -> None:
    find, name, cell = notebook_corpus.lambda_helper("a9_new", "y = x + 1\nz = np.exp(y)\n")
    assert (find, name) == ("np.exp(", "helper_exp")
    assert cell == "helper_exp = lambda *args, **kwargs: np.exp(*args, **kwargs)"


def test_an_assignment_calling_no_numpy_gets_no_lambda_case() -> None:
    assert notebook_corpus.lambda_helper("a9_new", "def f(x):\n    return x + 1\n") is None


def test_check_takes_the_new_assignments_filled_notebook(course: CourseConfig, tmp_path: Path,
                                                        capfd) -> None:
    notebook = tmp_path / f"{NEW}.ipynb"
    notebook.write_text(json.dumps(notebook_corpus.filled(NEW, course=course)))
    assert cli.main(["--config", str(course.path), "check", NEW, str(notebook)]) == 0
    assert f"checked {NEW}.ipynb" in capfd.readouterr().out


@pytest.mark.sandbox
def test_validate_passes_for_the_new_assignment(course: CourseConfig, capsys) -> None:
    assert cli.main(["--config", str(course.path), "validate", NEW, "--workers", "1"]) == 0
    assert f"{NEW}: solution 30/30, stub 0/30 -> OK" in capsys.readouterr().out
