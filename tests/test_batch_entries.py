"""Batches graded end to end: every entry is graded, superseded or refused, and counted.

These run the real a1 suite in the sandbox, so there are only a few, on small batches.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from lms_exports import canvas, moodle, touch
from results_factory import make_result

from grader.course.config import load_config
from grader.grading import batch as batch_module
from grader.grading.backends import Graded
from grader.grading.batch import BatchInterrupted, grade_batch
from grader.grading.options import GradeOptions
from grader.results.record import Result
from grader.results.store import BATCH_ENTRIES, AssignmentResults, write_result
from tests.conftest import solution_text, stub_text, write_config

pytestmark = pytest.mark.sandbox

A1 = "a1_backprop"


def run(tmp: Path, batch: Path, rule: str = "stem") -> tuple[dict[str, dict], str, dict]:
    """Grade ``batch``; (results by folder, the summary line, batch_entries.json)."""
    config = write_config(tmp, A1)
    if rule != "stem":
        text = config.read_text().replace("defaults:\n", f"defaults:\n  student_id: {rule}\n")
        config.write_text(text)
    cfg = load_config(config).assignment(A1)
    out = tmp / "out"
    opts = GradeOptions(out=out, seed=1, sandbox="bwrap", insecure=False, device="cpu",
                        workers=2, regrade=True, progress=True)
    stream = io.StringIO()
    grade_batch(cfg, batch, opts, stream)
    results = {p.parent.name: json.loads(p.read_text())
               for p in sorted((out / A1).glob("*/results.json"))}
    return results, stream.getvalue(), json.loads((out / A1 / BATCH_ENTRIES).read_text())


def test_one_students_three_files_give_one_result_and_two_superseded(tmp_path: Path) -> None:
    batch = tmp_path / "batch"
    touch(batch / "alice.py", stub_text(A1), mtime=1000)
    touch(batch / "alice .py", stub_text(A1), mtime=2000)
    touch(batch / "alice.PY", solution_text(A1), mtime=3000)   # the latest, any-case suffix
    touch(batch / "backprop.py", stub_text(A1))                 # a student named like the module
    touch(batch / "notes.txt", "hello")
    results, log, entries = run(tmp_path, batch)
    assert sorted(results) == ["alice", "backprop"]
    assert results["alice"]["score"] == results["alice"]["max_score"]
    assert results["alice"]["submission"] == "alice.PY"
    assert "graded 2, skipped 0 (up to date), superseded 2, refused 1, receipts 0" in log
    fate = {e["entry"]: e["status"] for e in entries["entries"]}
    assert fate == {"alice.py": "superseded", "alice .py": "superseded",
                    "alice.PY": "graded", "backprop.py": "graded", "notes.txt": "refused"}


def test_a_canvas_export_is_graded_per_user_with_late_and_display_name(tmp_path: Path) -> None:
    batch = tmp_path / "batch"
    canvas(batch, "smithjohn", 12345, 1, "backprop.py", text=stub_text(A1))
    canvas(batch, "smithjohn", 12345, 1, "backprop-1.py", late=True, text=solution_text(A1))
    moodle(batch, "not canvas", 5, {"backprop.py": "x"})  # another LMS's name: refused
    results, log, _ = run(tmp_path, batch, "canvas")
    assert list(results) == ["12345"]
    result = results["12345"]
    assert result["score"] == result["max_score"] and result["late"] is True
    assert result["display_name"] == "smithjohn" and result["lms_id"] == "12345"
    assert "superseded 1, refused 1" in log and "does not match" in log


def test_nested_moodle_folders_with_unicode_names_are_found_and_kept(tmp_path: Path) -> None:
    batch = tmp_path / "batch"
    moodle(batch, "Zoë Müller", 77, {"a1_backprop/Backprop.PY": solution_text(A1)})
    moodle(batch, "Ян Ли", 78, {"a1/backprop.py": stub_text(A1)})
    results, log, _ = run(tmp_path, batch, "moodle")
    assert sorted(results) == ["77", "78"]
    assert results["77"]["display_name"] == "Zoë Müller" and results["77"]["status"] == "ok"
    assert results["77"]["score"] == results["77"]["max_score"]
    assert results["78"]["display_name"] == "Ян Ли"
    assert "graded 2" in log


def test_an_unreadable_file_inside_a_submission_is_that_students_error(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    batch = tmp_path / "batch"
    touch(batch / "alice.py", solution_text(A1))
    touch(batch / "bob" / "backprop.py", solution_text(A1))
    touch(batch / "bob" / "weights.bin", "x")
    real_read, real_open = Path.read_bytes, open

    def read_bytes(self: Path) -> bytes:  # a file the grader's user may not read
        if self.name == "weights.bin":
            raise PermissionError(13, "Permission denied", str(self))
        return real_read(self)

    def unreadable_open(file, *args, **kwargs):  # the same file, opened by intake's hashing
        if Path(file).name == "weights.bin":
            raise PermissionError(13, "Permission denied", str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    monkeypatch.setattr("grader.intake.walk.open", unreadable_open, raising=False)
    results, log, _ = run(tmp_path, batch)
    assert results["alice"]["status"] == "ok"
    assert results["bob"]["status"] == "submission_error"
    assert "Permission denied" in results["bob"]["error"] and "graded 2" in log


def test_an_interrupted_batch_records_the_entries_left_without_a_result_as_not_graded(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    batch = tmp_path / "batch"
    for name in ("ann", "bob", "cy"):
        touch(batch / f"{name}.py", solution_text(A1))
    cfg = load_config(write_config(tmp_path, A1)).assignment(A1)
    opts = GradeOptions(out=tmp_path / "out", seed=1, sandbox="bwrap", insecure=False,
                        device="cpu", workers=1, progress=True)

    def ctrl_c_after_the_first(cfg, todo, opts, suite, done) -> None:
        files = AssignmentResults.of(opts.out, A1).student(todo[0].student_id)
        result = Result.from_dict(make_result(todo[0].student_id,
                                              submission_sha256=todo[0].sha256))
        write_result(files, result)
        done(Graded(todo[0], result))
        raise KeyboardInterrupt

    monkeypatch.setattr(batch_module, "_fork_pool", ctrl_c_after_the_first)
    stream = io.StringIO()
    with pytest.raises(BatchInterrupted):
        grade_batch(cfg, batch, opts, stream)
    entries = json.loads((tmp_path / "out" / A1 / BATCH_ENTRIES).read_text())
    fate = {e["entry"]: (e["status"], e["reason"]) for e in entries["entries"]}
    assert fate["ann.py"] == ("graded", "")
    assert fate["bob.py"][0] == fate["cy.py"][0] == "not graded"
    assert "interrupted (Ctrl-C)" in fate["bob.py"][1] and entries["interrupted"] is True
    assert "INTERRUPTED with 2 not graded (run the same command again" in stream.getvalue()


def test_entries_are_not_graded_until_their_result_is_written(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    batch = tmp_path / "batch"
    touch(batch / "ann.py", solution_text(A1))
    cfg = load_config(write_config(tmp_path, A1)).assignment(A1)
    opts = GradeOptions(out=tmp_path / "out", seed=1, sandbox="bwrap", insecure=False,
                        device="cpu", workers=1, progress=False)
    seen = {}

    def killed_before_grading(cfg, todo, opts, suite, done) -> None:
        path = opts.out / A1 / BATCH_ENTRIES  # what a kill -9 at this moment leaves behind
        seen.update({e["entry"]: e["status"] for e in json.loads(path.read_text())["entries"]})

    monkeypatch.setattr(batch_module, "_fork_pool", killed_before_grading)
    grade_batch(cfg, batch, opts, io.StringIO())
    assert seen == {"ann.py": "not graded"}
    final = json.loads((tmp_path / "out" / A1 / BATCH_ENTRIES).read_text())["entries"]
    assert [e["status"] for e in final] == ["not graded"]  # the pool wrote no result
