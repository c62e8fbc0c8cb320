"""Batch grading through the CLI: resume after kill -9, locking, skipping, exit codes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from grader.grading.batch import ResultsLock
from grader.grading.options import GraderFault

pytestmark = pytest.mark.sandbox

SUITE = '''
import time
import pytest

@pytest.mark.points(2)
def test_double(student):
    """double(x) returns 2x"""
    assert student.double(3) == 6, "double(3) should be 6"

@pytest.mark.points(1)
def test_slow_enough_to_interrupt(student):
    """takes a moment"""
    time.sleep(float(student.PAUSE))
'''


def course(tmp: Path, suite: str = SUITE, points: int = 3) -> Path:
    (tmp / "suite").mkdir(exist_ok=True)
    (tmp / "suite" / "test_suite.py").write_text(suite)
    config = tmp / "grader.yaml"
    config.write_text(f"defaults:\n  call_timeout_s: 10\nassignments:\n  toy:\n"
                      f"    module: toy\n    points: {points}\n"
                      f"    hidden_tests: {tmp / 'suite'}\n")
    return config


def submissions(tmp: Path, n: int, pause: float = 0.0) -> Path:
    folder = tmp / "subs"
    folder.mkdir(exist_ok=True)
    for i in range(n):
        body = "x * 2" if i % 2 == 0 else "x + 2"
        (folder / f"s{i:02d}.py").write_text(f"PAUSE = {pause}\ndef double(x):\n"
                                             f"    return {body}\n")
    return folder


def grader(config: Path, *args: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "grader.cli", "--config", str(config), *args],
                          capture_output=True, text=True, timeout=600, **kw)


def results(out: Path) -> dict[str, dict]:
    return {p.parent.name: json.loads(p.read_text()) for p in out.glob("toy/*/results.json")}


def test_a_batch_writes_one_result_per_submission_and_exits_zero(tmp_path: Path) -> None:
    config = course(tmp_path)
    run = grader(config, "grade", "toy", str(submissions(tmp_path, 4)), "--out",
                 str(tmp_path / "out"))
    assert run.returncode == 0, run.stderr
    found = results(tmp_path / "out")
    assert sorted(found) == ["s00", "s01", "s02", "s03"]
    assert found["s00"]["score"] == 3 and found["s01"]["score"] == 1
    assert "graded 4" in run.stderr and "4/4" in run.stderr


def test_a_killed_batch_resumes_without_regrading_finished_submissions(tmp_path: Path) -> None:
    config = course(tmp_path)
    subs = submissions(tmp_path, 8, pause=1.0)
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-m", "grader.cli", "--config", str(config),
                             "grade", "toy", str(subs), "--out", str(out), "--workers", "1",
                             "-q"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    deadline = time.monotonic() + 120
    while len(results(out)) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    before = results(out)
    assert 2 <= len(before) < 8
    for path in out.glob("toy/*/.results.json.*"):
        pytest.fail(f"a partial results file was left behind: {path}")
    run = grader(config, "grade", "toy", str(subs), "--out", str(out))
    assert run.returncode == 0, run.stderr
    after = results(out)
    assert len(after) == 8
    assert f"skipped {len(before)} (up to date)" in run.stderr
    for sid, result in before.items():
        assert after[sid]["finished_at"] == result["finished_at"], f"{sid} was graded twice"


def test_a_changed_submission_is_regraded_on_rerun(tmp_path: Path) -> None:
    config = course(tmp_path)
    subs = submissions(tmp_path, 2)
    out = tmp_path / "out"
    assert grader(config, "grade", "toy", str(subs), "--out", str(out)).returncode == 0
    (subs / "s01.py").write_text("PAUSE = 0\ndef double(x):\n    return 2 * x\n")
    run = grader(config, "grade", "toy", str(subs), "--out", str(out))
    assert "graded 1, skipped 1" in run.stderr and results(out)["s01"]["score"] == 3


def test_only_grades_the_named_students(tmp_path: Path) -> None:
    config = course(tmp_path)
    run = grader(config, "grade", "toy", str(submissions(tmp_path, 4)), "--out",
                 str(tmp_path / "out"), "--only", "s01", "s03")
    assert run.returncode == 0 and sorted(results(tmp_path / "out")) == ["s01", "s03"]


def test_a_second_grader_on_the_same_results_folder_is_refused(tmp_path: Path) -> None:
    config = course(tmp_path)
    lock = ResultsLock(tmp_path / "out" / "toy")
    try:
        run = grader(config, "grade", "toy", str(submissions(tmp_path, 1)), "--out",
                     str(tmp_path / "out"))
        assert run.returncode == 3 and "another grader is already writing" in run.stderr
        with pytest.raises(GraderFault):
            ResultsLock(tmp_path / "out" / "toy")
    finally:
        lock.release()
    assert results(tmp_path / "out") == {}


def test_a_suite_whose_points_disagree_with_the_config_is_a_grader_fault(tmp_path: Path) -> None:
    config = course(tmp_path, points=5)
    run = grader(config, "grade", "toy", str(submissions(tmp_path, 1)), "--out",
                 str(tmp_path / "out"))
    assert run.returncode == 3
    assert "add up to 3 points but grader.yaml gives 5" in run.stderr
    assert results(tmp_path / "out")["s00"]["status"] == "crashed"


def test_a_hidden_test_without_points_is_a_grader_fault(tmp_path: Path) -> None:
    config = course(tmp_path, SUITE.replace("@pytest.mark.points(1)\n", ""), points=2)
    run = grader(config, "grade", "toy", str(submissions(tmp_path, 1)), "--out",
                 str(tmp_path / "out"))
    assert run.returncode == 3 and "has no @pytest.mark.points" in run.stderr


def test_without_bwrap_grading_is_refused_unless_insecure(tmp_path: Path) -> None:
    config = course(tmp_path)
    subs = str(submissions(tmp_path, 1))
    env = {**os.environ, "PATH": "/nonexistent"}
    refused = grader(config, "grade", "toy", subs, "--out", str(tmp_path / "out"), env=env)
    assert refused.returncode == 3 and "Pass --insecure" in refused.stderr
    insecure = grader(config, "grade", "toy", subs, "--out", str(tmp_path / "out"),
                      "--insecure", env=env)
    assert insecure.returncode == 0, insecure.stderr
    result = results(tmp_path / "out")["s00"]
    assert result["insecure"] is True and result["sandbox"] == "none"
    assert result["output"].startswith("INSECURE") and result["score"] == 3


def test_the_seed_is_recorded_and_replayable(tmp_path: Path) -> None:
    config = course(tmp_path)
    run = grader(config, "grade", "toy", str(submissions(tmp_path, 1)), "--out",
                 str(tmp_path / "out"), "--seed", "4242")
    assert "--seed 4242" in run.stdout and results(tmp_path / "out")["s00"]["seed"] == 4242
