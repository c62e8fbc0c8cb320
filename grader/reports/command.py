"""`grader report`: gradebook.csv, report.html and per-student feedback from results.json files.

The command line (grader/cli.py) resolves title, due date and roster from the course; this
module only writes.

Data flows one way: results on disk -> these files. Nothing here grades or runs student code.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grader.intake.identity import Roster
from grader.reports.feedback import render_feedback_html, render_feedback_md
from grader.reports.gradebook import with_roster_and_entries, write_gradebook
from grader.reports.html import write_html_report
from grader.reports.lms_export import write_lms_csv
from grader.results.store import AssignmentResults, StudentFiles, scan_results, write_text_atomic
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


def _batch_entries(store: AssignmentResults) -> list[dict[str, Any]]:
    """The runner's account of the batch (batch_entries.json); [] when there is none."""
    try:
        data = json.loads(store.batch_entries.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return []
    entries = data.get("entries") if isinstance(data, dict) else None
    return [e for e in entries if isinstance(e, dict)] if isinstance(entries, list) else []


def write_reports(request: ReportRequest) -> int:
    """gradebook.csv, report.html, LMS files and per-student feedback. 0: all written; 1: some
    results unreadable or none found (everything readable is still reported)."""
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
    entries = _batch_entries(store)
    rows = with_roster_and_entries(results, request.roster, entries)
    write_gradebook(rows, out_dir / "gradebook.csv", request.due)
    missing = sorted(str(r["student_id"]) for r in rows if r.get("status") == "missing")
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
                      missing=missing, similarity=similarity)
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
    return 1 if loaded.problems or not results else 0
