"""`grader similarity`: compare the graded code of every submission of an assignment.

Reads the code each result was graded on (kept beside results.json, after notebook
conversion), writes ``similarity.html`` (and, with ``--json``, the ranked pairs) into the
assignment's results folder. The released stub is the template whose code never counts.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path

from grader.results.store import SIMILARITY_PAGE, AssignmentResults, write_text_atomic
from grader.similarity.engine import THRESHOLD, CodeEntry, SimilarityReport, compare
from grader.similarity.page import PAIR_HEADER, ranked_json, summary_rows, write_page

MAX_SOURCE_BYTES = 1 << 20  # graded code larger than this is not compared (say so)


@dataclass(frozen=True)
class SimilarityRun:
    report: SimilarityReport
    page: Path
    skipped: list[tuple[str, str]]  # (student, why) for results without comparable code


def graded_sources(results: AssignmentResults) -> tuple[list[CodeEntry], list[tuple[str, str]]]:
    """The graded code of every student of ``results``, and who has none to compare."""
    entries, skipped = [], []
    for student in results.students():
        path, sid = student.graded_module, student.folder.name
        if not path.is_file():
            skipped.append((sid, "no graded code kept (submission error?)"))
        elif path.stat().st_size > MAX_SOURCE_BYTES:
            skipped.append((sid, f"graded code over {MAX_SOURCE_BYTES} bytes"))
        else:
            entries.append(CodeEntry(sid, path.read_text(errors="replace")))
    return entries, skipped


def run_similarity(assignment: str, results: AssignmentResults, template: str, *,
                   threshold: float = THRESHOLD, json_path: Path | None = None
                   ) -> SimilarityRun:
    entries, skipped = graded_sources(results)
    report = compare(assignment, entries, template, threshold=threshold)
    skipped += report.left_out
    page = results.similarity_page
    write_page(report, page)
    if json_path is not None:
        write_text_atomic(json_path, ranked_json(report))
    return SimilarityRun(report, page, skipped)


def report_section(run: SimilarityRun, limit: int = 10) -> str:
    """The section of report.html: the top pairs and a link to the full page."""
    flagged = len(run.report.flagged)
    skipped = (f" Left out ({len(run.skipped)}): "
               + "; ".join(f"{sid}: {why}" for sid, why in run.skipped[:limit])
               + ("; ..." if len(run.skipped) > limit else "") + "." if run.skipped else "")
    rows = "".join(summary_rows(run.report, limit, page=SIMILARITY_PAGE))
    return (f"<h2>Code similarity</h2><p>{flagged} of {len(run.report.pairs)} pairs flagged at "
            f"threshold {run.report.threshold:.2f}.{html.escape(skipped)} Evidence for a person "
            "to review, never a verdict: see "
            f"<a href='{SIMILARITY_PAGE}'>{SIMILARITY_PAGE}</a> for the code side by side.</p>"
            f"<table>{PAIR_HEADER}{rows}</table>")
