"""`grader check`: the public tests students run pass on the solution and fail on the stub."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from grader.config import load_config
from tests.conftest import ROOT, solution_text, stub_text

COURSE = load_config(ROOT / "grader.yaml")
WITH_PUBLIC_TESTS = sorted(name for name, cfg in COURSE.assignments.items()
                           if cfg.public_tests.is_dir() and name != "a6_mnist")


def check(tmp: Path, name: str, module_text: str) -> subprocess.CompletedProcess:
    cfg = COURSE.assignment(name)
    folder = tmp / name
    shutil.copytree(cfg.public_tests, folder / "tests")
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
