"""Batches graded end to end: every entry is graded, superseded or refused, and counted.

These run the real a1 suite in the sandbox, so there are only a few, on small batches.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from lms_exports import canvas, moodle, touch

from grader.course.config import load_config
from grader.grading.batch import grade_batch
from grader.grading.options import GradeOptions
from grader.results.store import BATCH_ENTRIES
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
