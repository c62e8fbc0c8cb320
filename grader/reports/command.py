"""`grader report`: gradebook.csv, report.html and per-student feedback from results.json files.

Data flows one way: results on disk -> these files. Nothing here grades or runs student code.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any

import yaml

from grader.course.visibility import as_utc
from grader.intake.identity import load_roster
from grader.reports.feedback import render_feedback_html, render_feedback_md
from grader.reports.gradebook import with_roster_and_entries, write_gradebook
from grader.reports.html import write_html_report
from grader.reports.lms_export import FORMATS, write_lms_csv
from grader.results.store import BATCH_ENTRIES, StudentFiles, scan_results, write_text_atomic

__all__ = ["main_report", "write_feedback_files", "write_gradebook", "write_html_report"]


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


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="grader report",
        description="Write gradebook.csv and report.html for an assignment, and feedback.md/"
        ".html next to every student's results.json.",
    )
    p.add_argument("assignment", help="assignment name, e.g. a2_softmax")
    p.add_argument("--results", required=True, type=Path,
                   help="the --out folder of `grader grade` (holds <assignment>/<student>/)")
    p.add_argument("--out", type=Path,
                   help="where gradebook.csv and report.html go (default: the results' "
                   "assignment folder)")
    p.add_argument("--due", help="due date, ISO 8601 (naive = UTC); overrides --config")
    p.add_argument("--config", type=Path,
                   help="grader.yaml to read the title and assignments.<a>.due from")
    p.add_argument("--published", action="store_true",
                   help="grades are published: feedback also shows after_published tests")
    p.add_argument("--roster", type=Path,
                   help="roster CSV (default: defaults.roster of --config): every student "
                   "gets a gradebook row, missing ones with status missing")
    p.add_argument("--format", choices=FORMATS, action="append", default=[],
                   help="also write <format>_grades.csv for the LMS's grade import "
                   "(repeatable)")
    return p


def _roster_path(args: argparse.Namespace) -> Path | None:
    if args.roster is not None or args.config is None:
        return args.roster
    data = yaml.safe_load(args.config.read_text(encoding="utf-8")) or {}
    setting = (data.get("defaults") or {}).get("roster")
    return args.config.parent / str(setting) if setting else None


def _batch_entries(folder: Path) -> list[dict[str, Any]]:
    """The runner's account of the batch (batch_entries.json); [] when there is none."""
    try:
        data = json.loads((folder / BATCH_ENTRIES).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    entries = data.get("entries") if isinstance(data, dict) else None
    return [e for e in entries if isinstance(e, dict)] if isinstance(entries, list) else []


def _read_assignment_config(config: Path, assignment: str) -> dict[str, Any]:
    data = yaml.safe_load(config.read_text(encoding="utf-8")) or {}
    entry = (data.get("assignments") or {}).get(assignment)
    if not isinstance(entry, dict):
        raise ValueError(f"{config}: no entry assignments.{assignment}")
    return entry


def main_report(argv: list[str]) -> int:
    """Entry point of `grader report`. 0: all written; 1: some results unreadable or none
    found (everything readable is still reported); 2: bad arguments or config."""
    parser = _parser()
    args = parser.parse_args(argv)
    title = args.assignment
    due_text: Any = args.due
    try:
        if args.config is not None:
            entry = _read_assignment_config(args.config, args.assignment)
            title = str(entry.get("title") or title)
            if due_text is None:
                due_text = entry.get("due")
        due = as_utc(due_text)
        roster_path = _roster_path(args)
        roster = load_roster(roster_path) if roster_path is not None else None
    except (OSError, ValueError, TypeError, yaml.YAMLError) as exc:
        print(f"grader report: {exc}", file=sys.stderr)
        return 2

    if not (Path(args.results) / args.assignment).is_dir():
        print(f"grader report: no results in {Path(args.results) / args.assignment}",
              file=sys.stderr)
        return 1
    loaded = scan_results(args.results, args.assignment)
    for path, reason in loaded.problems:
        print(f"grader report: skipped {path}: {reason}", file=sys.stderr)
    out_dir = args.out or Path(args.results) / args.assignment
    results = loaded.results
    entries = _batch_entries(Path(args.results) / args.assignment)
    rows = with_roster_and_entries(results, roster, entries)
    write_gradebook(rows, out_dir / "gradebook.csv", due)
    missing = sorted(str(r["student_id"]) for r in rows if r.get("status") == "missing")
    write_html_report(results, out_dir / "report.html", assignment=args.assignment,
                      title=title, unreadable=loaded.problems, entries=entries,
                      missing=missing)
    for fmt in args.format:
        write_lms_csv(fmt, rows, out_dir / f"{fmt}_grades.csv", title=title, roster=roster)
    now = dt.datetime.now(dt.timezone.utc)
    for f in loaded.files:
        write_feedback_files(f.path, f.data, now=now, due=due, published=args.published)
    print(f"{len(results)} results -> {out_dir / 'gradebook.csv'}, {out_dir / 'report.html'} "
          f"and feedback next to each results.json")
    return 1 if loaded.problems or not results else 0
