"""gradebook.csv: one row per student, one column per test, for spreadsheets and LMS imports."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from grader.course.visibility import as_utc
from grader.intake.identity import Roster
from grader.reports.format import fmt_number, parse_time
from grader.results.store import write_text_atomic

FIXED_COLUMNS = ["student_id", "total", "max_score", "status"]
TIME_COLUMNS = ["submitted_at", "graded_at"]
EXTRA_COLUMNS = ["display_name", "notes"]

# Spreadsheets execute cells starting with these; a student id comes from a file name.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def column_key(test: dict[str, Any]) -> str:
    """The stable column key of a test: its test_id, else its name."""
    return str(test.get("test_id") or test.get("name") or "")


def suite_columns(results: Iterable[dict[str, Any]]) -> list[str]:
    """Union of test keys in suite order.

    Results that errored have no tests and a suite may gain a test between runs, so orders are
    merged: an unseen key goes right after the key that precedes it in its own result.
    """
    order: list[str] = []
    seen: set[str] = set()
    for result in results:
        previous: str | None = None
        for test in result.get("tests") or []:
            key = column_key(test)
            if key not in seen:
                at = order.index(previous) + 1 if previous is not None else 0
                order.insert(at, key)
                seen.add(key)
            previous = key
    return order


def is_late(result: dict[str, Any], due: dt.datetime | None) -> bool | None:
    """The result's own late flag, else submitted_at vs ``due``; None when unknown."""
    if result.get("late") is not None:
        return bool(result["late"])
    due_utc = as_utc(due)
    submitted = parse_time(result.get("submitted_at"))
    if due_utc is None or submitted is None:
        return None
    return submitted > due_utc


NOT_GRADED = "not graded"  # an entry to grade without a result of its own: no score at all
_NO_RESULT = "no result: grading did not finish (was the batch interrupted?)"


def with_roster_and_entries(
    results: list[dict[str, Any]], roster: Roster | None, entries: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Results plus stand-ins, so that every student has one row:

    * every member of a group submission gets the group's result (Gradescope groups);
    * an entry to grade without a result (an interrupted batch) is ``not graded``, with no
      score: never a 0 that reads like a grade;
    * a roster student with neither is ``missing`` (0);
    * a refused batch entry that belongs to no graded student is ``refused``.

    Notes list each student's other entries and why they were not graded."""
    rows = [dict(r) for r in results]
    by_id = {str(r.get("student_id", "")): r for r in rows}
    max_score = next((r.get("max_score") for r in results), None)
    for result in results:
        for member in result.get("members") or []:
            if str(member) not in by_id:
                stand_in = dict(result, student_id=str(member), lms_id=None, group_of=str(
                    result.get("student_id", "")), notes=f"group submission handed in as "
                    f"{result.get('student_id', '')}")
                rows.append(stand_in)
                by_id[str(member)] = stand_in
    for entry in entries:
        sid = str(entry.get("student_id") or "")
        if not sid or entry.get("status") not in ("graded", NOT_GRADED):
            continue
        reason = entry.get("reason") or _NO_RESULT
        if sid in by_id and entry.get("status") == NOT_GRADED:
            owner = by_id[sid]
            note = (f"{NOT_GRADED}: {entry.get('entry', '')} ({reason}); the score is of an "
                    "earlier submission")
            owner["notes"] = "; ".join(filter(None, [owner.get("notes"), note]))
        elif sid not in by_id:
            by_id[sid] = {"student_id": sid, "display_name": entry.get("display_name") or "",
                          "score": None, "max_score": max_score, "status": NOT_GRADED,
                          "tests": [], "reason": reason,
                          "notes": f"{entry.get('entry', '')}: {reason}"}
            rows.append(by_id[sid])
    for student in roster.students if roster is not None else ():
        if student.student_id in by_id:
            row = by_id[student.student_id]
            if not row.get("display_name") or row.get("group_of"):
                by_id[student.student_id]["display_name"] = student.name
            continue
        stand_in = {"score": 0, "max_score": max_score, "status": "missing", "tests": [],
                    "student_id": student.student_id, "display_name": student.name}
        rows.append(stand_in)
        by_id[student.student_id] = stand_in
    for entry in entries:
        if entry.get("status") not in ("superseded", "refused"):
            continue
        note = f"{entry['status']}: {entry.get('entry', '')}"
        note += f" ({entry['reason']})" if entry.get("status") == "refused" else ""
        owner = by_id.get(str(entry.get("student_id") or ""))
        if owner is None:
            owner = {"student_id": entry.get("student_id") or entry.get("entry", ""),
                     "display_name": entry.get("display_name", ""), "score": 0,
                     "max_score": max_score, "status": "refused", "tests": []}
            rows.append(owner)
            by_id[str(owner["student_id"])] = owner
        owner["notes"] = "; ".join(filter(None, [owner.get("notes"), note]))
    return rows


def gradebook_rows(
    results: list[dict[str, Any]], due: dt.datetime | None
) -> tuple[list[str], list[list[str]]]:
    """(header, rows) of the gradebook, rows sorted by student id. ``display_name`` and
    ``notes`` columns appear when some result has them (LMS exports, roster, batch entries)."""
    tests = suite_columns(results)
    extra = [c for c in EXTRA_COLUMNS if any(r.get(c) for r in results)]
    header = FIXED_COLUMNS + tests + (["late"] if due is not None else []) + TIME_COLUMNS \
        + extra
    rows = []
    for result in sorted(results, key=lambda r: str(r.get("student_id", ""))):
        scores = {column_key(t): t.get("score") for t in result.get("tests") or []}
        row = [
            _text_cell(result.get("student_id", "")),
            fmt_number(result.get("score", 0)),
            fmt_number(result.get("max_score")),
            _text_cell(result.get("status", "")),
        ]
        row += [fmt_number(scores.get(key)) for key in tests]
        if due is not None:
            late = is_late(result, due)
            row.append("" if late is None else ("yes" if late else "no"))
        row += [str(result.get("submitted_at") or ""), str(result.get("finished_at") or "")]
        row += [_text_cell(result.get(c) or "") for c in extra]
        rows.append(row)
    return header, rows


def write_gradebook(results: list[dict[str, Any]], path: Path, due: dt.datetime | None) -> None:
    """Write gradebook.csv atomically: header, then one row per student (sorted).

    Columns: student_id, total, max_score, status, one per test (suite order), late (only
    when a due date is set: yes/no, empty when unknown), submitted_at, graded_at, then
    display_name and notes when known (see :func:`with_roster_and_entries`).
    A test the student has no score for (e.g. a submission error) is an empty cell.
    """
    header, rows = gradebook_rows(results, due)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")  # RFC 4180, what LMS importers expect
    writer.writerow(header)
    writer.writerows(rows)
    write_text_atomic(Path(path), buf.getvalue())


def _text_cell(value: Any) -> str:
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text
