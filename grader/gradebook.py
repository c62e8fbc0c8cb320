"""gradebook.csv: one row per student, one column per test, for spreadsheets and LMS imports."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from grader.report_format import fmt_number, parse_time
from grader.results_io import write_text_atomic
from grader.visibility import as_utc

FIXED_COLUMNS = ["student_id", "total", "max_score", "status"]
TIME_COLUMNS = ["submitted_at", "graded_at"]

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


def gradebook_rows(
    results: list[dict[str, Any]], due: dt.datetime | None
) -> tuple[list[str], list[list[str]]]:
    """(header, rows) of the gradebook, rows sorted by student id."""
    tests = suite_columns(results)
    header = FIXED_COLUMNS + tests + (["late"] if due is not None else []) + TIME_COLUMNS
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
        rows.append(row)
    return header, rows


def write_gradebook(results: list[dict[str, Any]], path: Path, due: dt.datetime | None) -> None:
    """Write gradebook.csv atomically: header, then one row per student (sorted).

    Columns: student_id, total, max_score, status, one per test (suite order), late (only
    when a due date is set: yes/no, empty when unknown), submitted_at, graded_at.
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
