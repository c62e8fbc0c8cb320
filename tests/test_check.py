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
from tests.conftest import ROOT, grade_folder, solution_text, stub_text

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
    assert "grading would refuse this" in run.stdout and "unchanged starter" in run.stdout


def test_in_a_released_folder_the_filled_notebook_is_checked_beside_the_untouched_stub(
        tmp_path: Path) -> None:
    folder = in_release_copy(tmp_path, "a2_softmax", notebook_corpus.filled("a2_softmax"))
    run = grader_check(folder, "a2_softmax")  # softmax.py in the folder is the untouched stub
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert "checked a2_softmax.ipynb" in run.stdout
    assert "softmax.py is the unchanged starter code" in run.stdout


def test_in_a_released_folder_a_filled_module_is_checked_beside_the_untouched_notebook(
        tmp_path: Path) -> None:
    folder = in_release_copy(tmp_path, "a2_softmax",
                             notebook_corpus.release_notebook("a2_softmax"))
    (folder / "softmax.py").write_text(solution_text("a2_softmax"))
    run = grader_check(folder, "a2_softmax")
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert "checked softmax.py" in run.stdout


def torch_notebook() -> dict:
    """a2's notebook filled in correctly, but softmax's exponential computed with torch."""
    code = solution_text("a2_softmax").replace(
        "e = np.exp(z)", "e = torch.exp(torch.as_tensor(z)).numpy()", 1)
    code = code.replace("import numpy as np\n", "import numpy as np\nimport torch\n", 1)
    assert "torch.exp" in code and "import torch" in code
    return notebook_corpus.filled("a2_softmax", code)


def test_torch_in_a_numpy_only_notebook_fails_check_as_in_the_sandbox(tmp_path: Path) -> None:
    folder = in_release_copy(tmp_path, "a2_softmax", torch_notebook())
    run = grader_check(folder, "a2_softmax", "a2_softmax.ipynb")
    assert run.returncode == 1, run.stdout[-3000:]
    assert "this package is not available for this assignment" in run.stdout


def test_check_with_the_course_blocks_torch_too(tmp_path: Path) -> None:
    notebook = tmp_path / "a2_softmax.ipynb"
    notebook.write_text(json.dumps(torch_notebook()))
    run = subprocess.run([sys.executable, "-m", "grader.cli", "--config",
                          str(ROOT / "grader.yaml"), "check", "a2_softmax", str(notebook)],
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 1 and "not available for this assignment" in run.stdout


@pytest.mark.sandbox
def test_grading_gives_the_torch_notebook_no_points_either(tmp_path: Path) -> None:
    batch = tmp_path / "batch"
    batch.mkdir()
    (batch / "sam.ipynb").write_text(json.dumps(torch_notebook()))
    (result,) = grade_folder(tmp_path, "a2_softmax", batch, workers=1).values()
    assert result["score"] == 0 and "torch is not available" in result["output"]


def test_a_notebook_of_another_assignment_is_refused_saying_whose_it_is(tmp_path: Path) -> None:
    folder = in_release_copy(tmp_path, "a2_softmax", notebook_corpus.filled("a2_softmax"))
    run = grader_check(folder, "a7_conv", "a2_softmax.ipynb")
    assert run.returncode == 2 and "passed" not in run.stdout
    assert "a2_softmax.ipynb is the notebook of a2_softmax, not a7_conv" in run.stderr
    assert "Traceback" not in run.stderr


def test_a_module_of_another_assignment_is_refused_in_the_course(tmp_path: Path) -> None:
    (tmp_path / "softmax.py").write_text(solution_text("a2_softmax"))
    run = subprocess.run([sys.executable, "-m", "grader.cli", "--config",
                          str(ROOT / "grader.yaml"), "check", "a7_conv",
                          str(tmp_path / "softmax.py")], capture_output=True, text=True,
                         timeout=600)
    assert run.returncode == 2 and "for a2_softmax, not a7_conv" in run.stderr


def test_an_unknown_assignment_is_a_usage_error(tmp_path: Path) -> None:
    run = subprocess.run([sys.executable, "-m", "grader.cli", "--config",
                          str(ROOT / "grader.yaml"), "check", "a9_typo"],
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 2 and "a9_typo" in run.stderr and "Traceback" not in run.stderr


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
