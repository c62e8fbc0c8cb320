"""Reading results.json files back, and writing report files atomically."""

from __future__ import annotations

import json
import logging
import math
import os

import pytest
from results_factory import ASSIGNMENT, make_result, write_results

from grader.results.store import load_results, scan_results, write_json_atomic


def test_load_results_returns_every_student_sorted_by_id(tmp_path):
    write_results(tmp_path, [make_result("carol"), make_result("alice"), make_result("bob")])

    results = load_results(tmp_path, ASSIGNMENT)

    assert [r["student_id"] for r in results] == ["alice", "bob", "carol"]


def test_load_results_reads_only_the_requested_assignment(tmp_path):
    write_results(tmp_path, [make_result("alice")])
    write_results(tmp_path, [make_result("zed")], assignment="a1_backprop")

    assert [r["student_id"] for r in load_results(tmp_path, ASSIGNMENT)] == ["alice"]


def test_unreadable_results_file_is_skipped_and_logged(tmp_path, caplog):
    write_results(tmp_path, [make_result("alice"), make_result("bob")])
    (tmp_path / ASSIGNMENT / "bob" / "results.json").write_text('{"score": 1', "utf-8")

    with caplog.at_level(logging.WARNING, logger="grader.results.store"):
        results = load_results(tmp_path, ASSIGNMENT)

    assert [r["student_id"] for r in results] == ["alice"]
    assert "bob" in caplog.text and "unreadable" in caplog.text


def test_scan_reports_a_json_value_that_is_not_an_object(tmp_path):
    write_results(tmp_path, [make_result("alice")])
    (tmp_path / ASSIGNMENT / "alice" / "results.json").write_text("[1, 2]", "utf-8")

    loaded = scan_results(tmp_path, ASSIGNMENT)

    assert loaded.results == []
    assert [p.parent.name for p, _ in loaded.problems] == ["alice"]


def test_scan_reports_a_student_folder_without_results(tmp_path):
    write_results(tmp_path, [make_result("alice")])
    (tmp_path / ASSIGNMENT / "bob").mkdir()

    loaded = scan_results(tmp_path, ASSIGNMENT)

    assert [r["student_id"] for r in loaded.results] == ["alice"]
    assert "missing" in loaded.problems[0][1]


def test_student_id_defaults_to_the_folder_name(tmp_path):
    result = make_result("alice")
    del result["student_id"]
    path = tmp_path / ASSIGNMENT / "alice" / "results.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(result), "utf-8")

    assert load_results(tmp_path, ASSIGNMENT)[0]["student_id"] == "alice"


def test_write_json_atomic_round_trips(tmp_path):
    path = tmp_path / "sub" / "results.json"

    write_json_atomic(path, {"score": 1.5, "name": "é"})

    assert json.loads(path.read_text("utf-8")) == {"score": 1.5, "name": "é"}
    assert os.listdir(path.parent) == ["results.json"]


def test_unserialisable_object_leaves_the_old_file_and_no_temp_file(tmp_path):
    path = tmp_path / "results.json"
    write_json_atomic(path, {"score": 1})

    with pytest.raises(TypeError):
        write_json_atomic(path, {"score": object()})

    assert json.loads(path.read_text("utf-8")) == {"score": 1}
    assert os.listdir(tmp_path) == ["results.json"]


def test_nan_is_refused_because_gradescope_rejects_it(tmp_path):
    with pytest.raises(ValueError):
        write_json_atomic(tmp_path / "results.json", {"score": math.nan})

    assert os.listdir(tmp_path) == []


def test_failed_rename_leaves_the_old_file_and_no_temp_file(tmp_path, monkeypatch):
    path = tmp_path / "results.json"
    write_json_atomic(path, {"score": 1})

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        write_json_atomic(path, {"score": 2})

    assert json.loads(path.read_text("utf-8")) == {"score": 1}
    assert os.listdir(tmp_path) == ["results.json"]


def test_failed_write_midway_leaves_no_partial_file(tmp_path, monkeypatch):
    path = tmp_path / "report.json"

    def broken_fsync(fd):
        raise OSError("I/O error")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(OSError, match="I/O error"):
        write_json_atomic(path, {"score": 2})

    assert os.listdir(tmp_path) == []
