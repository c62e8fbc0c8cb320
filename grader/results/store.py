"""The results folder: its layout, atomic writes, reading results back, the up-to-date rule.

Layout (docs/RESULTS.md), built only here: ``<out>/<assignment>/`` holds ``batch_entries.json``
and the batch lock, and one folder per student with ``results.json``, ``graded_module.py`` and
the reports' ``feedback.md``/``feedback.html``. Nothing here touches the sandbox or grading.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grader.results.record import Result

log = logging.getLogger(__name__)

RESULTS_NAME = "results.json"
GRADED_MODULE = "graded_module.py"    # the code that was graded (a notebook's derived module)
BATCH_ENTRIES = "batch_entries.json"  # every entry of the last batch and its fate
LOCK_NAME = ".grader.lock"
SIMILARITY_PAGE = "similarity.html"   # written by `grader similarity` and `grader report`


@dataclass(frozen=True)
class StudentFiles:
    """The files of one student's results folder."""

    folder: Path

    @property
    def results(self) -> Path:
        return self.folder / RESULTS_NAME

    @property
    def graded_module(self) -> Path:
        return self.folder / GRADED_MODULE

    @property
    def feedback_md(self) -> Path:
        return self.folder / "feedback.md"

    @property
    def feedback_html(self) -> Path:
        return self.folder / "feedback.html"


@dataclass(frozen=True)
class AssignmentResults:
    """``<out>/<assignment>``: the results of one assignment."""

    folder: Path

    @classmethod
    def of(cls, out: Path, assignment: str) -> AssignmentResults:
        return cls(Path(out) / assignment)

    def student(self, student_id: str) -> StudentFiles:
        return StudentFiles(self.folder / student_id)

    def students(self) -> list[StudentFiles]:
        """Every student folder, sorted by id (dot-folders are the grader's own scratch)."""
        if not self.folder.is_dir():
            return []
        return [StudentFiles(p) for p in sorted(self.folder.iterdir())
                if p.is_dir() and not p.name.startswith(".")]

    @property
    def batch_entries(self) -> Path:
        return self.folder / BATCH_ENTRIES

    @property
    def similarity_page(self) -> Path:
        return self.folder / SIMILARITY_PAGE

    @property
    def lock(self) -> Path:
        return self.folder / LOCK_NAME


def read_result(path: Path) -> Result | None:
    """The result stored at ``path``; None when there is none or it is not a result."""
    try:
        return Result.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError, RecursionError):
        return None


def write_result(files: StudentFiles, result: Result) -> None:
    write_json_atomic(files.results, result.to_dict())


def up_to_date(old: Result | None, submission_sha256: str, suite_sha256: str,
               grader_version: str) -> bool:
    """Whether ``old`` still grades this submission: same submission, suite and grader, and
    not a grader fault (a crash of the grader is regraded once the fault is fixed)."""
    return old is not None and not old.grader_fault and bool(submission_sha256) \
        and old.submission_sha256 == submission_sha256 \
        and old.suite_sha256 == suite_sha256 and old.grader_version == grader_version


@dataclass(frozen=True)
class ResultFile:
    """One readable results.json and the folder it lives in (feedback is written there)."""

    path: Path
    data: dict[str, Any]


@dataclass
class LoadedResults:
    """Every readable result of an assignment, and what could not be read (path, reason)."""

    files: list[ResultFile] = field(default_factory=list)
    problems: list[tuple[Path, str]] = field(default_factory=list)

    @property
    def results(self) -> list[dict[str, Any]]:
        return [f.data for f in self.files]


def scan_results(results_dir: Path, assignment: str) -> LoadedResults:
    """Read every ``<student>/results.json`` of ``assignment``, sorted by student id.

    A student folder without a readable JSON object is recorded in ``problems`` and skipped,
    so one corrupt file never hides the rest of the class.
    """
    loaded = LoadedResults()
    base = AssignmentResults.of(results_dir, assignment).folder
    if not base.is_dir():
        loaded.problems.append((base, "no results folder for this assignment"))
        return loaded
    # Dot-folders are the grader's own scratch space, not students.
    students = sorted(p for p in base.iterdir() if p.is_dir() and not p.name.startswith("."))
    for student_dir in students:
        path = StudentFiles(student_dir).results
        if not path.is_file():
            # An interrupted batch leaves folders behind; the report must say it is incomplete.
            loaded.problems.append((path, "missing (grading interrupted?)"))
            continue
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
            loaded.problems.append((path, f"unreadable: {exc}"))
            continue
        if not isinstance(data, dict) or not isinstance(data.get("tests", []), list):
            loaded.problems.append((path, "not a results object (expected a JSON object)"))
            continue
        data.setdefault("student_id", student_dir.name)
        loaded.files.append(ResultFile(path, data))
    loaded.files.sort(key=lambda f: str(f.data["student_id"]))
    return loaded


def load_results(results_dir: Path, assignment: str) -> list[dict[str, Any]]:
    """The readable results of ``assignment`` sorted by student; unreadable ones are logged."""
    loaded = scan_results(results_dir, assignment)
    for path, reason in loaded.problems:
        log.warning("skipped %s: %s", path, reason)
    return loaded.results


def write_text_atomic(path: Path, text: str) -> None:
    """Write ``text`` so that readers see the old file or the whole new one, never a part.

    The temp file lives in the destination folder because ``os.replace`` is only atomic
    within one file system.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        # A file name that is not UTF-8 (a batch entry named with byte 0xff) reaches the text
        # as a lone surrogate: written as its backslash-u escape, which is what it means inside
        # a JSON string, instead of failing the whole batch.
        with os.fdopen(fd, "w", encoding="utf-8", errors="backslashreplace", newline="") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp_name, 0o644)  # mkstemp makes 0600; TAs and web servers must read these
        os.replace(tmp_name, path)
    except BaseException:
        try:
            os.unlink(tmp_name)
        except FileNotFoundError:
            pass
        raise
    fsync_dir(path.parent)


def write_json_atomic(path: Path, obj: Any) -> None:
    """Atomically write ``obj`` as strict JSON (NaN/inf are refused: Gradescope rejects them)."""
    # Serialise first: an unserialisable object fails before anything touches the disk.
    text = json.dumps(obj, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    write_text_atomic(Path(path), text)


def fsync_dir(folder: Path) -> None:
    # Makes the rename itself durable; not every platform can open a directory.
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
