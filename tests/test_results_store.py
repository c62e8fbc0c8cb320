"""The results contract: the Result record, the store's layout, the up-to-date rule, the
JSON Schema, and that the batch and the reports go through them."""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path

import pytest
from results_factory import make_result

import grader
from grader.reports.command import ReportRequest, write_reports
from grader.results.record import Result, TestResult, result_score
from grader.results.store import AssignmentResults, read_result, up_to_date, write_result
from tests.test_batch import course, results
from tests.test_batch import grader as run_grader

SCHEMA = Path(grader.__file__).parent / "results" / "results.schema.json"
SHA, SUITE = "ab" * 32, "cd" * 32
ISOLATION = {"cgroup": "v2", "seccomp": True, "private_ipc_and_tmp": True}
VERSIONS = {"python": "3.11.7", "numpy": "2.1.0", "pytest": "8.3.0", "grader": grader.__version__}


def schema_validator():
    """A validator of results.schema.json; without the jsonschema package the schema checks
    are skipped with a warning, and fail under CI=true."""
    try:
        import jsonschema
    except ImportError:
        message = "jsonschema is not installed: results.json is NOT checked against its schema"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    schema = json.loads(SCHEMA.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)


def result(status: str = "ok", **fields) -> Result:
    data = make_result("alice", status=status, suite_sha256=SUITE, submission_sha256=SHA,
                       grader_version=grader.__version__, isolation=ISOLATION, versions=VERSIONS,
                       **fields)
    return Result.from_dict(data)


def test_a_result_survives_a_round_trip_through_json() -> None:
    original = result(display_name="Alice Liddell", members=["alice", "bob"])
    again = Result.from_dict(json.loads(json.dumps(original.to_dict())))
    assert again == original and isinstance(again.tests[0], TestResult)


def test_a_timeout_keeps_the_points_of_finished_tests_and_errors_score_zero() -> None:
    tests = [TestResult("a", "test_a", 2.0, 2.0, "passed", "", "visible"),
             TestResult("b", "test_b", 0.0, 1.0, "failed", "timed out", "visible")]
    assert result_score("timeout", tests) == 2.0
    assert result_score("ok", tests) == 2.0
    assert result_score("submission_error", tests) == 0.0
    assert result_score("crashed", tests) == 0.0


def test_an_unchanged_result_is_up_to_date() -> None:
    assert up_to_date(result(), SHA, SUITE, grader.__version__)


@pytest.mark.parametrize("status", ["submission_error", "timeout"])
def test_a_result_that_is_the_students_doing_is_up_to_date(status: str) -> None:
    assert up_to_date(result(status), SHA, SUITE, grader.__version__)


def test_a_grader_fault_result_is_never_up_to_date() -> None:
    assert not up_to_date(result("crashed"), SHA, SUITE, grader.__version__)


@pytest.mark.parametrize("what", ["submission", "suite", "grader version"])
def test_a_change_of_submission_suite_or_grader_makes_a_result_stale(what: str) -> None:
    keys = {"submission": ("ef" * 32, SUITE, grader.__version__),
            "suite": (SHA, "ef" * 32, grader.__version__),
            "grader version": (SHA, SUITE, "0.0.0-other")}[what]
    assert not up_to_date(result(), *keys)


def test_an_unreadable_submission_hash_is_never_up_to_date() -> None:
    assert not up_to_date(replace(result(), submission_sha256=""), "", SUITE,
                          grader.__version__)


def test_a_missing_or_corrupt_results_file_reads_as_no_result(tmp_path: Path) -> None:
    files = AssignmentResults.of(tmp_path, "a2_softmax").student("alice")
    assert read_result(files.results) is None
    files.folder.mkdir(parents=True)
    files.results.write_text('{"score": 1')
    assert read_result(files.results) is None


def test_the_store_writes_and_reads_back_a_result(tmp_path: Path) -> None:
    files = AssignmentResults.of(tmp_path, "a2_softmax").student("alice")
    write_result(files, result())
    assert files.results == tmp_path / "a2_softmax" / "alice" / "results.json"
    assert read_result(files.results) == result()


def test_the_factory_result_matches_the_schema() -> None:
    validator = schema_validator()
    errors = [e.message for e in validator.iter_errors(result().to_dict())]
    assert errors == []


def test_the_schema_refuses_a_submission_error_with_points() -> None:
    validator = schema_validator()
    bad = {**result("submission_error", error="SyntaxError").to_dict(), "score": 3.0}
    assert not validator.is_valid(bad)


def _graded_course(tmp: Path) -> Path:
    """A toy batch with a passing, a failing and an unimportable submission, graded; returns
    the results folder."""
    config = course(tmp)
    subs = tmp / "subs"
    subs.mkdir()
    (subs / "good.py").write_text("PAUSE = 0\ndef double(x):\n    return 2 * x\n")
    (subs / "wrong.py").write_text("PAUSE = 0\ndef double(x):\n    return x + 2\n")
    (subs / "broken.py").write_text("def double(x:\n")
    run = run_grader(config, "grade", "toy", str(subs), "--out", str(tmp / "out"))
    assert run.returncode == 0, run.stderr
    return tmp / "out"


def test_real_results_match_the_schema_and_the_store_layout(tmp_path: Path) -> None:
    validator = schema_validator()
    out = _graded_course(tmp_path)
    found = results(out)
    assert sorted(found) == ["broken", "good", "wrong"]
    assert found["broken"]["status"] == "submission_error" and found["broken"]["score"] == 0
    layout = AssignmentResults.of(out, "toy")
    assert layout.batch_entries.is_file()
    for sid, data in found.items():
        assert [e.message for e in validator.iter_errors(data)] == [], sid
        files = layout.student(sid)
        assert read_result(files.results).student_id == sid
        assert files.graded_module.is_file()


def test_reports_write_feedback_where_the_store_says(tmp_path: Path) -> None:
    out = _graded_course(tmp_path)
    request = ReportRequest(assignment="toy", title="toy", due=None, roster=None, results=out,
                            out=tmp_path / "report")
    assert write_reports(request) == 0
    for sid in ("broken", "good", "wrong"):
        files = AssignmentResults.of(out, "toy").student(sid)
        assert files.feedback_md.is_file() and files.feedback_html.is_file()


SLOW_SUITE = '''
import pytest

@pytest.mark.points(2)
def test_double(student):
    """double(x) returns 2x"""
    assert student.double(3) == 6

@pytest.mark.points(1)
def test_slow(student):
    """slow() returns"""
    student.slow()
'''


def test_a_timeout_result_keeps_the_points_earned_and_matches_the_schema(
        tmp_path: Path) -> None:
    validator = schema_validator()
    config = course(tmp_path, SLOW_SUITE)
    subs = tmp_path / "subs"
    subs.mkdir()
    (subs / "slow.py").write_text("import time\ndef double(x):\n    return 2 * x\n"
                                  "def slow():\n    time.sleep(60)\n")
    run = run_grader(config, "grade", "toy", str(subs), "--out", str(tmp_path / "out"),
                     "--timeout", "3")
    assert run.returncode == 0, run.stderr
    found = results(tmp_path / "out")["slow"]
    assert found["status"] == "timeout" and found["score"] == 2
    assert [e.message for e in validator.iter_errors(found)] == []


def test_a_crashed_result_matches_the_schema(tmp_path: Path) -> None:
    validator = schema_validator()
    config = course(tmp_path, points=5)  # the suite's 3 points disagree: a grader fault
    subs = tmp_path / "subs"
    subs.mkdir()
    (subs / "alice.py").write_text("PAUSE = 0\ndef double(x):\n    return 2 * x\n")
    run = run_grader(config, "grade", "toy", str(subs), "--out", str(tmp_path / "out"))
    assert run.returncode == 3
    found = results(tmp_path / "out")["alice"]
    assert found["status"] == "crashed" and found["score"] == 0
    assert [e.message for e in validator.iter_errors(found)] == []
