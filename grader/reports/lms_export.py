"""Grade-import CSVs in the LMS's own format (``grader report --format canvas|moodle``).

Input is the gradebook's view of the class (results plus roster stand-ins, see
``grader.reports.gradebook.with_roster_and_entries``); one row per student, total score only
(blank for a submission that is not graded). The columns each LMS matches students by are listed
in docs/LMS.md.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from grader.intake.identity import Roster, RosterStudent
from grader.reports.format import fmt_number
from grader.reports.gradebook import NOT_GRADED
from grader.results.store import write_text_atomic

FORMATS = ("canvas", "moodle")
CANVAS_COLUMNS = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
MOODLE_COLUMNS = ["ID number", "Email address", "Full name"]
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> str:
    text = str(value or "")
    return "'" + text if text.startswith(_FORMULA_START) else text


def _student(result: dict[str, Any], roster: Roster | None) -> RosterStudent:
    """The roster's record of a result's student, else what the result itself knows."""
    sid = str(result.get("student_id", ""))
    found = roster.lookup(sid) if roster is not None else None
    if found is not None:
        return found
    lms_id = str(result.get("lms_id") or "")
    return RosterStudent(sid, str(result.get("display_name") or ""), "",
                         (lms_id,) if lms_id else ())


def lms_rows(fmt: str, rows: list[dict[str, Any]], title: str,
             roster: Roster | None) -> list[list[str]]:
    """Header and one row per student of the ``fmt`` grade-import file."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r} (expected {', '.join(FORMATS)})")
    table = [(CANVAS_COLUMNS if fmt == "canvas" else MOODLE_COLUMNS) + [title]]
    for result in sorted(rows, key=lambda r: str(r.get("student_id", ""))):
        if result.get("status") == "refused":
            continue  # an entry that was no submission: nobody in the LMS to grade
        who = _student(result, roster)
        # Not graded (an interrupted batch): blank, which the LMS leaves ungraded; a 0
        # would be imported as a grade.
        score = "" if result.get("status") == NOT_GRADED else \
            fmt_number(result.get("score") or 0)
        if fmt == "canvas":
            # Canvas's ID column is its numeric user id; the course id goes to SIS User ID.
            canvas_id = next((i for i in who.lms_ids if i.isdigit()), "")
            cells = [who.name, canvas_id, who.student_id, who.sis_login_id, who.section]
        else:
            cells = [who.student_id, who.email, who.name]
        table.append([_cell(c) for c in cells] + [score])
    return table


def write_lms_csv(fmt: str, rows: list[dict[str, Any]], path: Path, *, title: str,
                  roster: Roster | None) -> None:
    """Write the ``fmt`` grade-import CSV atomically (RFC 4180, UTF-8)."""
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerows(lms_rows(fmt, rows, title, roster))
    write_text_atomic(Path(path), buf.getvalue())
