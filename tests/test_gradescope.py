"""The Gradescope autograder zip: what it holds, what it never holds, and how its script runs."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from grader.authoring.gradescope import ExportError, export_gradescope
from grader.cli import main as cli_main
from grader.course.config import ConfigError, load_config

A = "a2_softmax"


@pytest.fixture
def repo(tmp_path):
    """A miniature course repository with everything that must and must not be exported."""
    root = tmp_path / "repo"
    files = {
        "grader/__init__.py": "__version__ = '0.1.0'\n",
        "grader/cli.py": "def main(): pass\n",
        "grader/__pycache__/cli.cpython-311.pyc": "junk",
        "autotests/conftest.py": "# shared\n",
        f"autotests/{A}/test_softmax.py": "def test_x(student): pass\n",
        f"autotests/{A}/__pycache__/test_softmax.cpython-311.pyc": "junk",
        "autotests/a1_backprop/test_backprop.py": "def test_y(student): pass\n",
        f"solutions/{A}/softmax.py": "ANSWER = 42\n",
        "tests/test_variants.py": "def test_z(): pass\n",
        "grader.yaml": f"assignments:\n  {A}:\n    module: softmax\n    points: 30\n"
                       "  a1_backprop:\n    module: backprop\n    points: 40\n",
        "pyproject.toml": "[project]\nname = 'dl-grader'\n",
    }
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, "utf-8")
    return root


def course(repo):
    return load_config(repo / "grader.yaml")


def export(repo, tmp_path, **kwargs) -> zipfile.ZipFile:
    out = tmp_path / "out" / f"{A}.zip"
    export_gradescope(course(repo), A, out, **kwargs)
    return zipfile.ZipFile(out)


def test_zip_has_setup_and_run_autograder_at_its_root(repo, tmp_path):
    names = export(repo, tmp_path).namelist()

    assert "setup.sh" in names and "run_autograder" in names


def test_run_autograder_and_setup_are_executable(repo, tmp_path):
    zf = export(repo, tmp_path)

    for name in ("run_autograder", "setup.sh"):
        mode = zf.getinfo(name).external_attr >> 16
        assert mode & stat.S_IXUSR, name


def test_zip_holds_the_hidden_suite_package_config_and_pyproject(repo, tmp_path):
    names = set(export(repo, tmp_path).namelist())

    assert {f"autotests/{A}/test_softmax.py", "autotests/conftest.py", "grader/__init__.py",
            "grader/cli.py", "grader.yaml", "pyproject.toml"} <= names


def test_zip_never_holds_solutions_or_project_tests(repo, tmp_path):
    names = export(repo, tmp_path).namelist()

    assert not [n for n in names if n.startswith(("solutions/", "tests/"))]
    assert not any("ANSWER" in export(repo, tmp_path).read(n).decode() for n in names)


def test_zip_leaves_out_other_assignments_suites_and_caches(repo, tmp_path):
    names = export(repo, tmp_path).namelist()

    assert not [n for n in names if n.startswith("autotests/a1_backprop/")]
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]


def test_setup_installs_bubblewrap_and_pinned_torch(repo, tmp_path):
    setup = export(repo, tmp_path).read("setup.sh").decode()

    assert "bubblewrap" in setup and "python3-venv" in setup
    assert "torch==2.14.1" in setup and "torchvision==0.29.1" in setup
    for dep in ("numpy", "pytest", "pyyaml", "nbformat", "/autograder/source"):
        assert dep in setup


def test_scripts_are_valid_bash(repo, tmp_path):
    zf = export(repo, tmp_path)
    for name in ("setup.sh", "run_autograder"):
        script = tmp_path / name
        script.write_bytes(zf.read(name))
        check = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True)
        assert check.returncode == 0, check.stderr


def test_export_is_byte_for_byte_reproducible(repo, tmp_path):
    export_gradescope(course(repo), A, tmp_path / "one.zip")
    export_gradescope(course(repo), A, tmp_path / "two.zip")

    assert (tmp_path / "one.zip").read_bytes() == (tmp_path / "two.zip").read_bytes()


def test_unknown_assignment_is_refused(repo, tmp_path):
    (repo / "autotests" / "a9_nope").mkdir()

    with pytest.raises(ConfigError, match="a9_nope"):
        export_gradescope(course(repo), "a9_nope", tmp_path / "x.zip")
    assert not (tmp_path / "x.zip").exists()


def test_missing_hidden_suite_is_refused(repo, tmp_path):
    shutil.rmtree(repo / "autotests" / "a1_backprop")
    with pytest.raises(ExportError, match="missing"):
        export_gradescope(course(repo), "a1_backprop", tmp_path / "x.zip")


def test_the_hidden_suite_comes_from_hidden_tests_in_grader_yaml(repo, tmp_path):
    (repo / "autotests" / A).rename(repo / "suites_of_2026")
    config = repo / "grader.yaml"
    config.write_text(config.read_text().replace(
        "    points: 30\n", "    points: 30\n    hidden_tests: suites_of_2026\n"))

    names = export(repo, tmp_path).namelist()

    assert "suites_of_2026/test_softmax.py" in names
    assert not [n for n in names if n.startswith(f"autotests/{A}/")]


def test_a_hidden_suite_outside_the_course_folder_is_refused(repo, tmp_path):
    config = repo / "grader.yaml"
    config.write_text(config.read_text().replace(
        "    points: 30\n", f"    points: 30\n    hidden_tests: {tmp_path}\n"))

    with pytest.raises(ExportError, match="outside"):
        export(repo, tmp_path)


def test_symbolic_link_in_the_package_is_refused(repo, tmp_path):
    (repo / "grader" / "answers.py").symlink_to(repo / "solutions" / A / "softmax.py")

    with pytest.raises(ExportError, match="symbolic link"):
        export_gradescope(course(repo), A, tmp_path / "x.zip")


def test_main_export_writes_the_zip(repo, tmp_path):
    out = tmp_path / "gs.zip"

    assert cli_main(["export-gradescope", A, "--config", str(repo / "grader.yaml"),
                     "--out", str(out)]) == 0
    assert "run_autograder" in zipfile.ZipFile(out).namelist()


def test_main_export_fails_cleanly_for_an_unknown_assignment(repo, tmp_path, capsys):
    assert cli_main(["export-gradescope", "a9_nope", "--config", str(repo / "grader.yaml"),
                     "--out", str(tmp_path / "x.zip")]) == 3
    err = capsys.readouterr().err
    assert "a9_nope" in err and "Traceback" not in err


# --- run_autograder, run against a stand-in for Gradescope's /autograder ------------------


FAKE_GRADER_OK = """#!/usr/bin/env bash
# Stand-in for `grader grade A SUBMISSION --out OUT [...]` ($1..$5): records how it ran.
printf '%s\\n' "$@" > "$AUTOGRADER_ROOT/args.txt"
pwd > "$AUTOGRADER_ROOT/cwd.txt"
ls "$3" > "$AUTOGRADER_ROOT/submission_files.txt"
mkdir -p "$5/$2/submission"
echo '{"score": 27.0, "max_score": 30.0, "tests": []}' > "$5/$2/submission/results.json"
"""

FAKE_GRADER_CRASH = """#!/usr/bin/env bash
echo "Traceback: assert got == HIDDEN_EXPECTED_VALUE" >&2
exit 3
"""


def gradescope_root(repo, tmp_path, fake_grader: str, **export_kwargs) -> Path:
    """/autograder as Gradescope lays it out, with `grader` replaced by ``fake_grader``."""
    root = tmp_path / "autograder"
    export(repo, tmp_path, **export_kwargs).extractall(root / "source")
    (root / "submission").mkdir(parents=True)
    (root / "submission" / "softmax.py").write_text("def softmax(x): return x\n", "utf-8")
    bin_dir = root / "venv" / "bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / "grader").write_text(fake_grader, "utf-8")
    (bin_dir / "grader").chmod(0o755)
    (bin_dir / "python3").symlink_to(sys.executable)  # the venv's python has pyyaml
    script = root / "source" / "run_autograder"
    script.chmod(0o755)
    return root


def run_autograder(root: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "AUTOGRADER_ROOT": str(root)}
    return subprocess.run([str(root / "source" / "run_autograder")], env=env,
                          capture_output=True, text=True, timeout=60)


def test_run_autograder_grades_a_copy_and_publishes_the_results(repo, tmp_path):
    root = gradescope_root(repo, tmp_path, FAKE_GRADER_OK)

    proc = run_autograder(root)

    assert proc.returncode == 0, proc.stderr
    results = json.loads((root / "results" / "results.json").read_text("utf-8"))
    assert results["score"] == 27.0
    args = (root / "args.txt").read_text().split("\n")
    assert args[:2] == ["grade", A] and args[3] == "--out"
    assert not args[2].startswith(str(root / "submission"))  # graded a copy
    assert (root / "submission_files.txt").read_text().split() == ["softmax.py"]
    assert (root / "cwd.txt").read_text().strip() == str(root / "source")


def test_run_autograder_passes_insecure_only_when_exported_so(repo, tmp_path):
    root = gradescope_root(repo, tmp_path, FAKE_GRADER_OK, insecure=True)

    run_autograder(root)

    assert "--insecure" in (root / "args.txt").read_text().split("\n")


def test_run_autograder_is_secure_by_default(repo, tmp_path):
    root = gradescope_root(repo, tmp_path, FAKE_GRADER_OK)

    run_autograder(root)

    assert "--insecure" not in (root / "args.txt").read_text().split("\n")


def test_grader_crash_still_yields_a_zero_score_result_with_the_error(repo, tmp_path):
    root = gradescope_root(repo, tmp_path, FAKE_GRADER_CRASH)

    run_autograder(root)

    results = json.loads((root / "results" / "results.json").read_text("utf-8"))
    assert results["score"] == 0.0 and results["max_score"] == 30.0
    assert "exit status 3" in results["output"] and results["error"] == results["output"]


def test_grader_crash_does_not_show_the_grader_traceback_to_the_student(repo, tmp_path):
    root = gradescope_root(repo, tmp_path, FAKE_GRADER_CRASH)

    run_autograder(root)

    assert "HIDDEN_EXPECTED_VALUE" not in (root / "results" / "results.json").read_text("utf-8")
