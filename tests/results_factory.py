"""Fake results.json data for report and feedback tests (the shape of docs/RESULTS.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

ASSIGNMENT = "a2_softmax"


def make_test(
    test_id: str,
    *,
    passed: bool = True,
    points: float = 2.0,
    visibility: str = "visible",
    output: str | None = None,
    name: str | None = None,
) -> dict[str, Any]:
    """One entry of results["tests"]; a failed test scores 0 and gets a default message."""
    if output is None:
        output = "" if passed else f"{test_id}: output differs from the reference"
    return {
        "name": name or f"{test_id.removeprefix('test_')}: title",
        "test_id": test_id,
        "score": points if passed else 0.0,
        "max_score": points,
        "status": "passed" if passed else "failed",
        "output": output,
        "visibility": visibility,
        "duration": 0.01,
    }


def make_result(student: str, tests: list[dict[str, Any]] | None = None,
                **fields: Any) -> dict[str, Any]:
    """A complete ok result for ``student``; ``fields`` override top-level keys."""
    if tests is None:
        tests = [make_test("test_softmax_rows_sum_to_one"),
                 make_test("test_softmax_stable_for_large_logits", passed=False)]
    result = {
        "score": sum(t["score"] for t in tests),
        "max_score": sum(t["max_score"] for t in tests),
        "execution_time": 1.5,
        "output": "",
        "visibility": "visible",
        "tests": tests,
        "grader_version": "0.1.0",
        "assignment": ASSIGNMENT,
        "student_id": student,
        "submission": f"{student}.py",
        "submission_sha256": "ab" * 32,
        "suite_sha256": "cd" * 32,
        "status": "ok",
        "error": None,
        "sandbox": "bwrap",
        "insecure": False,
        "device": "cpu",
        "seed": 123456789,
        "versions": {"python": "3.11.2", "numpy": "2.1.0", "torch": "2.14.1", "pytest": "9.2.0"},
        "started_at": "2026-11-23T13:00:00+00:00",
        "finished_at": "2026-11-23T13:00:03+00:00",
        "late": None,
    }
    result.update(fields)
    return result


def make_error_result(student: str, status: str = "submission_error",
                      error: str = "softmax.py line 3: SyntaxError: invalid syntax",
                      **fields: Any) -> dict[str, Any]:
    """A result that could not be graded: score 0, no tests, an error message."""
    return make_result(student, tests=[], score=0.0, max_score=4.0, status=status, error=error,
                       **fields)


def write_results(results_dir: Path, results: list[dict[str, Any]],
                  assignment: str = ASSIGNMENT) -> list[Path]:
    """Lay results out as `grader grade --out` does; returns the results.json paths."""
    paths = []
    for result in results:
        path = results_dir / assignment / result["student_id"] / "results.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(result), encoding="utf-8")
        paths.append(path)
    return paths
