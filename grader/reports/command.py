"""`grader report`: gradebook.csv, report.html and per-student feedback from results.json files.

The command line (grader/cli.py) resolves title, due date and roster from the course; this
module only writes.

Data flows one way: results on disk -> these files. Nothing here grades or runs student code.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import os
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grader.intake.identity import Roster
from grader.reports.feedback import render_feedback_html, render_feedback_md
from grader.reports.gradebook import NOT_GRADED, with_roster_and_entries, write_gradebook
from grader.reports.html import write_html_report
from grader.reports.lms_export import write_lms_csv
from grader.results.store import (
    AssignmentResults,
    ResultFile,
    StudentFiles,
    scan_results,
    write_text_atomic,
)
from grader.similarity.command import report_section, run_similarity

__all__ = ["ReportRequest", "write_feedback_files", "write_gradebook", "write_html_report",
           "write_reports"]


def write_feedback_files(
    result_path: Path,
    result: dict[str, Any],
    *,
    now: dt.datetime,
    due: dt.datetime | None,
    published: bool = False,
) -> None:
    """feedback.md and feedback.html next to one results.json."""
    files = StudentFiles(Path(result_path).parent)
    kwargs = {"now": now, "due": due, "published": published}
    write_text_atomic(files.feedback_md, render_feedback_md(result, **kwargs))
    write_text_atomic(files.feedback_html, render_feedback_html(result, **kwargs))


@dataclass(frozen=True)
class ReportRequest:
    """What ``grader report`` writes, resolved from the course and the command line."""

    assignment: str
    title: str
    due: dt.datetime | None
    roster: Roster | None
    results: Path  # the --out folder of `grader grade` (holds <assignment>/<student>/)
    out: Path | None = None  # gradebook.csv and report.html; default: results/<assignment>
    published: bool = False
    formats: tuple[str, ...] = ()
    template: str | None = None  # the released stub: when known, similarity.html is written too


def _batch_entries(store: AssignmentResults) -> tuple[list[dict[str, Any]], bool]:
    """The runner's account of the batch (batch_entries.json; [] when there is none) and
    whether the batch was interrupted."""
    try:
        data = json.loads(store.batch_entries.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return [], False
    if not isinstance(data, dict):
        return [], False
    entries = data.get("entries")
    entries = [e for e in entries if isinstance(e, dict)] if isinstance(entries, list) else []
    return entries, data.get("interrupted") is True


def _unreadable_entries(problems: list[tuple[Path, str]], folder: Path,
                        entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A student folder whose results.json is missing or unreadable has no grade anyone
    can know: an entry "not graded" (blank in LMS files, never 0), unless the batch's own
    account already names the student."""
    named = {str(e.get("student_id") or "") for e in entries}
    return [{"entry": path.parent.name, "status": NOT_GRADED, "student_id": path.parent.name,
             "reason": f"results.json {reason}"} for path, reason in problems
            if path.parent.parent == folder and path.parent.name not in named]


def _feedback_links(files: list[ResultFile], out_dir: Path) -> dict[str, str]:
    """Each student's feedback.html relative to report.html (they move together)."""
    return {str(f.data["student_id"]): Path(os.path.relpath(
        StudentFiles(f.path.parent).feedback_html, out_dir)).as_posix() for f in files}


def _not_graded_line(rows: list[dict[str, Any]]) -> str:
    """``N submissions are not graded (why: count, ...)``; '' when every one is."""
    reasons = Counter(str(r.get("reason") or "") for r in rows
                      if r.get("status") == NOT_GRADED)
    if not reasons:
        return ""
    why = "; ".join(f"{n}: {reason}" if n > 1 else reason for reason, n in reasons.items())
    return (f"{sum(reasons.values())} submission(s) not graded, their grade left blank "
            f"({why})")


def write_reports(request: ReportRequest) -> int:
    """gradebook.csv, report.html, LMS files and per-student feedback. 0: all written; 1: some
    results unreadable, none found, or submissions of the batch not graded (everything
    readable is still reported; what is not graded is said, and blank in LMS files)."""
    store = AssignmentResults.of(request.results, request.assignment)
    folder = store.folder
    if not folder.is_dir():
        print(f"grader report: no results in {folder}", file=sys.stderr)
        return 1
    loaded = scan_results(request.results, request.assignment)
    for path, reason in loaded.problems:
        print(f"grader report: skipped {path}: {reason}", file=sys.stderr)
    out_dir = request.out or folder
    results = loaded.results
    entries, interrupted = _batch_entries(store)
    entries += _unreadable_entries(loaded.problems, folder, entries)
    rows = with_roster_and_entries(results, request.roster, entries)
    write_gradebook(rows, out_dir / "gradebook.csv", request.due)
    missing = sorted(str(r["student_id"]) for r in rows if r.get("status") == "missing")
    not_graded = [r for r in rows if r.get("status") == NOT_GRADED]
    similarity = ""
    if request.template is not None:
        try:  # a per-student failure leaves that student out (the section names them)
            similarity = report_section(run_similarity(request.assignment, store,
                                                       request.template))
        except (RecursionError, MemoryError, ValueError, OSError) as exc:
            print(f"grader report: similarity not computed ({type(exc).__name__}: {exc})",
                  file=sys.stderr)
            similarity = ("<h2>Code similarity</h2><p>Not computed: "
                          f"{html.escape(type(exc).__name__)}; see the log.</p>")
    write_html_report(results, out_dir / "report.html", assignment=request.assignment,
                      title=request.title, unreadable=loaded.problems, entries=entries,
                      missing=missing, similarity=similarity, not_graded=not_graded,
                      interrupted=interrupted,
                      names={str(r["student_id"]): str(r.get("display_name") or "")
                             for r in rows},
                      links=_feedback_links(loaded.files, out_dir))
    for fmt in request.formats:
        write_lms_csv(fmt, rows, out_dir / f"{fmt}_grades.csv", title=request.title,
                      roster=request.roster)
    now = dt.datetime.now(dt.timezone.utc)
    for f in loaded.files:
        try:  # one student's feedback that cannot be rendered never costs the others theirs
            write_feedback_files(f.path, f.data, now=now, due=request.due,
                                 published=request.published)
        except (RecursionError, MemoryError, ValueError, TypeError, KeyError) as exc:
            print(f"grader report: no feedback for {f.path.parent.name} "
                  f"({type(exc).__name__}: {str(exc)[:200]})", file=sys.stderr)
    print(f"{len(results)} results -> {out_dir / 'gradebook.csv'}, {out_dir / 'report.html'} "
          f"and feedback next to each results.json")
    line = _not_graded_line(rows)
    if line:
        print(f"grader report: {line}; run the same grader grade command again to grade "
              "them", file=sys.stderr)
    return 1 if loaded.problems or not results or not_graded else 0
