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


def test_main_export_of_an_unknown_assignment_is_a_usage_error(repo, tmp_path, capsys):
    assert cli_main(["export-gradescope", "a9_nope", "--config", str(repo / "grader.yaml"),
                     "--out", str(tmp_path / "x.zip")]) == 2
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


# --- the zip is self-contained: its own grader.yaml, no roster, the data it needs ----------


def test_a_course_config_under_another_name_is_shipped_as_grader_yaml(repo, tmp_path):
    (repo / "grader.yaml").rename(repo / "course-2026.yaml")

    out = tmp_path / "gs.zip"
    export_gradescope(load_config(repo / "course-2026.yaml"), A, out)

    names = zipfile.ZipFile(out).namelist()
    assert "grader.yaml" in names and "course-2026.yaml" not in names


def unpacked_config(zip_path: Path, tmp_path: Path):
    zipfile.ZipFile(zip_path).extractall(tmp_path / "unpacked")
    return load_config(tmp_path / "unpacked" / "grader.yaml")


def test_the_zips_config_has_only_the_exported_assignment_and_no_roster(repo, tmp_path):
    (repo / "roster.csv").write_text("student_id,name\nsubmission,Sam\n", "utf-8")
    config = repo / "grader.yaml"
    config.write_text("defaults:\n  roster: roster.csv\n  student_id: canvas\n"
                      + config.read_text(), "utf-8")

    export_gradescope(course(repo), A, tmp_path / "gs.zip")

    shipped = unpacked_config(tmp_path / "gs.zip", tmp_path)
    cfg = shipped.assignment(A)
    assert list(shipped.assignments) == [A]
    assert cfg.roster is None and cfg.student_id == "stem" and cfg.device == "cpu"
    assert "roster.csv" not in zipfile.ZipFile(tmp_path / "gs.zip").namelist()


def test_the_released_stub_is_shipped_so_an_unchanged_stub_is_recognised(repo, tmp_path):
    (repo / "assignments" / A).mkdir(parents=True)
    (repo / "assignments" / A / "softmax.py").write_text("def softmax(x):\n    raise "
                                                         "NotImplementedError\n", "utf-8")

    export_gradescope(course(repo), A, tmp_path / "gs.zip")

    cfg = unpacked_config(tmp_path / "gs.zip", tmp_path).assignment(A)
    assert (cfg.release_dir / "softmax.py").read_text("utf-8").startswith("def softmax")


def test_an_a6_zip_ships_the_test_split_it_scores_on(tmp_path):
    zf = zipfile.ZipFile(export_a6(tmp_path))
    names = zf.namelist()

    assert {"data/FashionMNIST/raw/t10k-images-idx3-ubyte.gz",
            "data/FashionMNIST/raw/t10k-labels-idx1-ubyte.gz"} <= set(names)
    assert not [n for n in names if "train-" in n]  # checkpoint mode reads no training data


def test_an_a6_zip_checks_its_data_when_the_image_is_built(tmp_path):
    setup = zipfile.ZipFile(export_a6(tmp_path)).read("setup.sh").decode()

    assert "grader data fetch fashion_mnist --root \"/autograder/source/data\"" in setup


def test_an_a6_export_without_its_data_set_is_refused_and_writes_nothing(tmp_path, capsys):
    config = tmp_path / "course" / "grader.yaml"
    a6_course(config, data_root=tmp_path / "empty")
    out = tmp_path / "a6.zip"

    code = cli_main(["export-gradescope", "a6_mnist", "--config", str(config), "--out", str(out)])

    err = capsys.readouterr().err
    assert code == 3 and "test split of fashion_mnist" in err and "Traceback" not in err
    assert not out.exists()


def test_an_a6_export_with_a_corrupt_data_file_is_refused(tmp_path):
    raw = tmp_path / "data" / "FashionMNIST" / "raw"
    raw.mkdir(parents=True)
    for name in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        (raw / name).write_bytes(b"\x1f\x8b\x08not the real file")
    config = tmp_path / "course" / "grader.yaml"
    a6_course(config, data_root=tmp_path / "data")

    with pytest.raises(ExportError, match="MD5"):
        export_gradescope(load_config(config), "a6_mnist", tmp_path / "a6.zip")


# --- the real zips, graded by their own run_autograder in a Gradescope-like layout ---------

REPO_ROOT = Path(__file__).resolve().parent.parent
GRADESCOPE_STATUSES = {"passed", "failed"}
GRADESCOPE_VISIBILITIES = {"hidden", "after_due_date", "after_published", "visible"}


def a6_course(config: Path, data_root: Path) -> None:
    """A course with the real a6 entry (suite, options) and ``data_root``, in its own folder,
    with this repository's grader package and pyproject.toml linked in as a copy."""
    root = config.parent
    root.mkdir(parents=True, exist_ok=True)
    shutil.copytree(REPO_ROOT / "grader", root / "grader",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(REPO_ROOT / "autotests" / "a6_mnist", root / "autotests" / "a6_mnist",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copyfile(REPO_ROOT / "pyproject.toml", root / "pyproject.toml")
    text = (REPO_ROOT / "grader.yaml").read_text("utf-8")
    entry = text[text.index("  a6_mnist:"):text.index("  a8_data:")]
    config.write_text(f"defaults:\n  data_root: {data_root}\nassignments:\n{entry}", "utf-8")


def export_a6(tmp_path: Path) -> Path:
    out = tmp_path / "a6_mnist.zip"
    export_gradescope(load_config(REPO_ROOT / "grader.yaml"), "a6_mnist", out)
    return out


def gradescope_problems(text: str) -> list[str]:
    """What Gradescope's results.json format refuses in ``text`` (strict JSON, a numeric score,
    tests with numeric scores, a name, status passed/failed and a known visibility)."""
    def refuse(constant: str) -> None:
        raise ValueError(f"{constant} is not JSON")

    data = json.loads(text, parse_constant=refuse)
    problems = []
    number = (int, float)
    if not isinstance(data.get("score"), number) or isinstance(data["score"], bool):
        problems.append(f"score {data.get('score')!r}")
    for key in ("visibility", "stdout_visibility"):
        if key in data and data[key] not in GRADESCOPE_VISIBILITIES:
            problems.append(f"{key} {data[key]!r}")
    if not isinstance(data.get("output", ""), str):
        problems.append("output is not text")
    for i, test in enumerate(data.get("tests", [])):
        for key in ("score", "max_score"):
            if key in test and not isinstance(test[key], number):
                problems.append(f"tests[{i}].{key} {test[key]!r}")
        if not isinstance(test.get("name"), str):
            problems.append(f"tests[{i}] has no name")
        if test.get("status", "passed") not in GRADESCOPE_STATUSES:
            problems.append(f"tests[{i}].status {test['status']!r}")
        if test.get("visibility", "visible") not in GRADESCOPE_VISIBILITIES:
            problems.append(f"tests[{i}].visibility {test['visibility']!r}")
    return problems


def real_gradescope_root(tmp_path: Path, zip_path: Path, submission: dict[str, bytes]) -> Path:
    """/autograder as Gradescope lays it out after setup.sh: the zip in source/, the student's
    files in submission/, and a venv whose `grader` is the zip's own package (setup.sh's pip
    install of source/, here run from source/ with this interpreter)."""
    root = tmp_path / "autograder"
    zipfile.ZipFile(zip_path).extractall(root / "source")
    (root / "source" / "run_autograder").chmod(0o755)
    (root / "submission").mkdir()
    for name, data in submission.items():
        (root / "submission" / name).write_bytes(data)
    bin_dir = root / "venv" / "bin"
    bin_dir.mkdir(parents=True)
    source = root / "source"
    (bin_dir / "grader").write_text(
        f"#!/bin/sh\ncd {source} && exec {sys.executable} -c 'import sys, grader.cli; "
        f"assert grader.cli.__file__.startswith(\"{source}/\"), grader.cli.__file__; "
        "sys.exit(grader.cli.main(sys.argv[1:]))' \"$@\"\n", "utf-8")
    (bin_dir / "grader").chmod(0o755)
    (bin_dir / "python3").symlink_to(sys.executable)
    return root


def graded_by_the_zip(root: Path) -> dict:
    proc = subprocess.run([str(root / "source" / "run_autograder")], capture_output=True,
                          text=True, timeout=900, env={**os.environ, "AUTOGRADER_ROOT": str(root)})
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    text = (root / "results" / "results.json").read_text("utf-8")
    assert gradescope_problems(text) == []
    return json.loads(text)


@pytest.mark.sandbox
@pytest.mark.slow
def test_the_a1_zip_grades_the_reference_solution_full_marks(tmp_path):
    from tests.conftest import solution_text

    out = tmp_path / "a1.zip"
    export_gradescope(load_config(REPO_ROOT / "grader.yaml"), "a1_backprop", out)
    root = real_gradescope_root(tmp_path, out, {"backprop.py": solution_text("a1_backprop")
                                                .encode()})

    results = graded_by_the_zip(root)

    assert results["status"] == "ok", results["error"]
    assert results["score"] == results["max_score"] == 40.0
    assert results["tests"] and not results["insecure"]


@pytest.mark.sandbox
@pytest.mark.slow
def test_the_a6_zip_grades_the_reference_checkpoints_full_marks(tmp_path):
    from tests.conftest import solution_text

    checkpoints = REPO_ROOT / "solutions" / "a6_mnist" / "checkpoints" / "fashion_mnist"
    files = {p.name: p.read_bytes() for p in sorted(checkpoints.glob("*.pt"))}
    files["mnist_models.py"] = solution_text("a6_mnist").encode()
    root = real_gradescope_root(tmp_path, export_a6(tmp_path), files)

    results = graded_by_the_zip(root)

    assert results["status"] == "ok", results["error"]
    assert results["score"] == results["max_score"] == 40.0
