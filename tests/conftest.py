"""Shared helpers for the project's own tests: grading real suites on made-up submissions."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from grader.authoring.release import make_stub, strip_markers
from grader.course.config import load_config
from grader.grading.batch import grade_batch
from grader.grading.options import GradeOptions
from grader.sandbox.bwrap import bwrap_path

ROOT = Path(__file__).resolve().parent.parent
COURSE = load_config(ROOT / "grader.yaml")
# The course's assignments and their modules, as grader.yaml declares them.
MODULES = {name: cfg.module for name, cfg in COURSE.assignments.items()}


@pytest.fixture(scope="session", autouse=True)
def course_data() -> None:
    """grader.yaml's data_root (and write_config's) holds Fashion-MNIST, provisioned as
    `grader data fetch fashion_mnist` does: a fresh clone has no data/ until then. Where the
    Debian package is missing nothing is provisioned, and the a6 tests say so themselves."""
    from grader.mnist import data

    data.fetch("fashion_mnist", COURSE.data_root)


def solution_text(assignment: str) -> str:
    return strip_markers((ROOT / "solutions" / assignment / f"{MODULES[assignment]}.py")
                         .read_text())


def stub_text(assignment: str) -> str:
    return make_stub((ROOT / "solutions" / assignment / f"{MODULES[assignment]}.py").read_text())


def write_config(tmp: Path, assignment: str, **limits: object) -> Path:
    """A grader.yaml in ``tmp`` for the real suite of ``assignment`` with test-friendly limits."""
    course = COURSE.assignment(assignment)
    settings = {"call_timeout_s": 20, "submission_timeout_s": 120, **limits}
    lines = ["defaults:", f"  data_root: {ROOT / 'data'}"]
    lines += [f"  {k}: {v}" for k, v in settings.items()]
    lines += ["assignments:", f"  {assignment}:", f"    module: {course.module}",
              f"    points: {course.points}", f"    hidden_tests: {course.hidden_tests}",
              f"    solution: {course.solution_dir}",
              f"    torch_in_sandbox: {str(course.torch_in_sandbox).lower()}"]
    if course.options_schema:
        lines.append(f"    options_schema: {course.options_schema}")
    if course.options:
        lines.append(f"    options: {json.dumps(course.options)}")
    path = tmp / "grader.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def grade_folder(tmp: Path, assignment: str, folder: Path, *, seed: int = 12345,
                 workers: int = 2, **limits: object) -> dict[str, dict]:
    """Grade every submission in ``folder``; returns results.json contents by student id."""
    cfg = load_config(write_config(tmp, assignment, **limits)).assignment(assignment)
    out = tmp / "out"
    opts = GradeOptions(out=out, seed=seed, sandbox="bwrap", insecure=False, device="cpu",
                        workers=workers, regrade=True, progress=False)
    grade_batch(cfg, folder, opts)
    return {p.parent.name: json.loads(p.read_text())
            for p in sorted((out / assignment).glob("*/results.json"))}


def failed_tests(result: dict) -> set[str]:
    return {t["test_id"] for t in result["tests"] if t["status"] != "passed"}


@pytest.fixture(autouse=True)
def _require_bwrap(request: pytest.FixtureRequest) -> None:
    """The sandbox is the product: tests marked ``sandbox`` cannot mean anything without bwrap.
    Elsewhere they are skipped saying why; under CI=true they fail."""
    if request.node.get_closest_marker("sandbox") is None or bwrap_path() is not None:
        return
    message = ("bubblewrap (bwrap) is not installed: run `make setup` (apt-get install "
               "bubblewrap) to run the sandbox tests")
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(f"SKIPPED SANDBOX TEST: {message}")


os.environ.setdefault("PYTORCH_NVML_BASED_CUDA_CHECK", "1")
