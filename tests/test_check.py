"""`grader check`: the public tests students run pass on the solution and fail on the stub, on
a module or a notebook, in the course repository or in a released folder alone; the release
notebook's own test cell tests the notebook's functions."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from grader.authoring.release import public_test_files
from grader.course.config import load_config
from tests import notebook_corpus
from tests.conftest import ROOT, solution_text, stub_text

COURSE = load_config(ROOT / "grader.yaml")
WITH_PUBLIC_TESTS = sorted(name for name, cfg in COURSE.assignments.items()
                           if cfg.public_tests.is_dir() and name != "a6_mnist")


def check(tmp: Path, name: str, module_text: str) -> subprocess.CompletedProcess:
    cfg = COURSE.assignment(name)
    folder = tmp / name
    (folder / "tests").mkdir(parents=True)
    for test in public_test_files(cfg):
        shutil.copyfile(test, folder / "tests" / test.name)
    (folder / "tests" / "conftest.py").write_text(
        "import sys\nfrom pathlib import Path\n"
        "sys.path.insert(0, str(Path(__file__).resolve().parent.parent))\n")
    (folder / cfg.module_file).write_text(module_text)
    return subprocess.run([sys.executable, "-m", "grader.cli", "--config",
                           str(ROOT / "grader.yaml"), "check", name, str(folder)],
                          capture_output=True, text=True, timeout=600)


@pytest.mark.parametrize("name", WITH_PUBLIC_TESTS)
def test_public_tests_pass_on_the_solution(tmp_path: Path, name: str) -> None:
    run = check(tmp_path, name, solution_text(name))
    assert run.returncode == 0, run.stdout[-3000:]


@pytest.mark.parametrize("name", WITH_PUBLIC_TESTS)
def test_public_tests_fail_on_the_stub(tmp_path: Path, name: str) -> None:
    run = check(tmp_path, name, stub_text(name))
    assert run.returncode == 1 and "NotImplementedError" in run.stdout


def in_release_copy(tmp: Path, name: str, nb: dict) -> Path:
    """A student's copy of the released folder (stub module untouched) and their notebook."""
    folder = shutil.copytree(ROOT / "assignments" / name, tmp / name)
    (folder / f"{name}.ipynb").write_text(json.dumps(nb))
    return folder


def grader_check(folder: Path, *args: str) -> subprocess.CompletedProcess:
    """`grader check` run inside ``folder``: no grader.yaml, no course repository around."""
    return subprocess.run([sys.executable, "-m", "grader.cli", "check", *args], cwd=folder,
                          capture_output=True, text=True, timeout=600,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})


def test_a_notebook_user_checks_the_notebook_in_the_released_folder_alone(tmp_path: Path) -> None:
    folder = in_release_copy(tmp_path, "a2_softmax", notebook_corpus.filled("a2_softmax"))
    assert not (folder / "grader.yaml").exists()
    run = grader_check(folder, "a2_softmax", "a2_softmax.ipynb")
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert "as the grader builds it from a2_softmax.ipynb" in run.stdout


def test_checking_the_untouched_notebook_fails_on_the_stub(tmp_path: Path) -> None:
    folder = in_release_copy(tmp_path, "a2_softmax", notebook_corpus.release_notebook("a2_softmax"))
    run = grader_check(folder, "a2_softmax", "a2_softmax.ipynb")
    assert run.returncode == 1 and "NotImplementedError" in run.stdout


def test_a_module_user_checks_the_released_folder_alone(tmp_path: Path) -> None:
    folder = in_release_copy(tmp_path, "a2_softmax", notebook_corpus.filled("a2_softmax"))
    run = grader_check(folder, "a2_softmax")  # the untouched softmax.py in the folder
    assert run.returncode == 1 and "NotImplementedError" in run.stdout


def test_a_notebook_saved_elsewhere_is_checked_against_the_released_tests(tmp_path: Path) -> None:
    notebook = tmp_path / "Copy of a2_softmax.ipynb"
    notebook.write_text(json.dumps(notebook_corpus.colab(notebook_corpus.filled("a2_softmax"),
                                                         "a2_softmax")))
    run = subprocess.run([sys.executable, "-m", "grader.cli", "--config",
                          str(ROOT / "grader.yaml"), "check", "a2_softmax", str(notebook)],
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-3000:]
    assert "google.colab" in run.stdout  # the intake's warnings are shown too


def run_notebook_cells(folder: Path, name: str) -> str:
    """Run the notebook's code cells in order, as a kernel would (exploration left out:
    it trains and plots), in one fresh interpreter inside ``folder``; returns its output."""
    script = (
        "import json, sys\n"
        "ns = {'__name__': '__main__'}\n"
        f"for cell in json.load(open({name + '.ipynb'!r}))['cells']:\n"
        "    tags = cell['metadata'].get('tags', [])\n"
        "    if cell['cell_type'] == 'code' and 'explore' not in tags:\n"
        "        exec(''.join(cell['source']), ns)\n")
    run = subprocess.run([sys.executable, "-c", script], cwd=folder, capture_output=True,
                         text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    return run.stdout


def test_the_release_notebooks_test_cell_tests_the_notebooks_own_functions(
        tmp_path: Path) -> None:
    filled = in_release_copy(tmp_path / "filled", "a2_softmax",
                             notebook_corpus.filled("a2_softmax"))
    output = run_notebook_cells(filled, "a2_softmax")
    assert " passed" in output and "failed" not in output  # softmax.py beside it is the stub
    untouched = in_release_copy(tmp_path / "untouched", "a2_softmax",
                                notebook_corpus.release_notebook("a2_softmax"))
    assert "NotImplementedError" in run_notebook_cells(untouched, "a2_softmax")
