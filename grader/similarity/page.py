"""similarity.html: ranked pairs, clusters, and side-by-side code with the shared lines marked.

Self-contained (inline CSS, no scripts, nothing loaded from the network). Code and student ids
are student-controlled: everything taken from them is HTML-escaped.
"""

from __future__ import annotations

import html
import json
from pathlib import Path

from grader.similarity.engine import PairResult, SimilarityReport, matched_lines

MAX_LISTED = 200      # pairs in the ranked table
MAX_DETAILED = 30     # pairs shown side by side (all flagged pairs, up to this many)
MAX_CODE_LINES = 600  # lines of each side shown
SMALL_CLASS = 20      # below this many submissions the page warns that baselines are rough

DISCLAIMER = ("This page is evidence for a person to review, never a verdict. A high score "
              "means two submissions share more code than independent solutions of this "
              "assignment usually do; it does not say who copied from whom, or that anyone "
              "did: shared sources the course allows (the textbook, a tutorial, a study group) "
              "look the same. Read the code side by side before acting.")

CSS = """
body{font-family:system-ui,sans-serif;margin:2em;max-width:1400px;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 8px}
th{background:#f2f2f2}.num{text-align:right}.flag{background:#fde2e2}
.note{background:#fff7d6;border:1px solid #e0c050;padding:.8em;border-radius:4px}
.side{display:grid;grid-template-columns:1fr 1fr;gap:1em}.side>div{min-width:0}
pre{background:#fafafa;border:1px solid #ddd;padding:.5em;overflow-x:auto;font-size:12px}
.hit{background:#ffd9a8;display:block}.ln{color:#999;user-select:none}
"""


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _anchor(pair: PairResult) -> str:
    return "pair-" + "".join(c if c.isalnum() else "_" for c in f"{pair.a}--{pair.b}")[:120]


def summary_rows(report: SimilarityReport, limit: int, page: str = "") -> list[str]:
    """Table rows of the ranked pairs, for this page and for report.html's section; a pair
    shown side by side links there (``page`` is the similarity page, "" on the page itself)."""
    detailed = {id(p) for p in report.flagged[:MAX_DETAILED]}
    rows = []
    for rank, pair in enumerate(report.pairs[:limit], 1):
        copied = pair.copied_units
        others = [u.unit for u in sorted(pair.units, key=lambda u: -u.excess)
                  if u.excess >= 0.5 and u.unit not in copied]
        why = ", ".join([f"{unit} (copied)" for unit in copied] + others)[:200]
        cls = " class='flag'" if pair.flagged else ""
        score = f"{pair.score:.3f}"
        if id(pair) in detailed:
            score = f"<a href='{_e(page)}#{_anchor(pair)}'>{score}</a>"
        rows.append(f"<tr{cls}><td class='num'>{rank}</td><td>{_e(pair.a)}</td>"
                    f"<td>{_e(pair.b)}</td><td class='num'>{score}</td>"
                    f"<td class='num'>{pair.module_similarity:.3f}</td>"
                    f"<td>{'flagged' if pair.flagged else ''}</td><td>{_e(why)}</td></tr>")
    return rows


PAIR_HEADER = ("<tr><th>#</th><th>student</th><th>student</th><th>score</th>"
               "<th>raw overlap</th><th></th><th>functions above the class</th></tr>")


def _code(source: str, hits: set[int]) -> str:
    lines = source.splitlines()[:MAX_CODE_LINES]
    out = []
    for number, line in enumerate(lines, 1):
        text = f"<span class='ln'>{number:4d} </span>{_e(line)}"
        out.append(f"<span class='hit'>{text}</span>" if number in hits else text + "\n")
    return "<pre>" + "".join(out) + "</pre>"


def _pair_detail(report: SimilarityReport, pair: PairResult) -> str:
    lines_a, lines_b = matched_lines(report, pair)
    units = "".join(
        f"<tr><td>{_e(u.unit)}</td><td class='num'>{u.similarity:.3f}</td>"
        f"<td class='num'>{u.baseline:.3f}</td><td class='num'>{u.excess:.3f}</td>"
        f"<td class='num'>{u.weight:.1f}</td><td class='num'>{u.shared_tokens or ''}</td>"
        f"<td>{'copied' if u.copied else ''}</td></tr>"
        for u in sorted(pair.units, key=lambda u: (not u.copied, -u.excess * u.weight)))
    source_a = report.prepared[pair.a].normalized.source
    source_b = report.prepared[pair.b].normalized.source
    copied = pair.copied_units
    evidence = (f"<p class='note'>Flagged for {_e(', '.join(copied))}: "
                f"{'this function is' if len(copied) == 1 else 'these functions are'} shared "
                "far beyond what the class shares, over a substantial length, even though the "
                "pair's score (an average over all functions) may be low: a partial copy "
                "looks like this. Compare these functions first.</p>" if copied else "")
    return (f"<h3 id='{_anchor(pair)}'>{_e(pair.a)} and {_e(pair.b)}: score "
            f"{pair.score:.3f}</h3>{evidence}"
            "<p>Why: for each function, the pair's overlap (weighted by how rare each shared "
            "fragment is in the class), the class median of that overlap, and how far above "
            "the median this pair is (excess). The score is the excess averaged over "
            "functions, weighted by their size.</p>"
            "<table><tr><th>function</th><th>pair overlap</th><th>class median</th>"
            "<th>excess</th><th>weight</th><th>shared tokens</th><th></th></tr>"
            f"{units}</table>"
            "<p>Lines covered by shared fragments are marked.</p>"
            f"<div class='side'><div><b>{_e(pair.a)}</b>{_code(source_a, lines_a)}</div>"
            f"<div><b>{_e(pair.b)}</b>{_code(source_b, lines_b)}</div></div>")


def render(report: SimilarityReport) -> str:
    clusters = "".join(f"<li>{_e(', '.join(c))}</li>" for c in report.clusters) or \
        "<li>none</li>"
    detailed = report.flagged[:MAX_DETAILED]
    method = "every pair" if report.exact else "candidate pairs from an index of rare fragments"
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'>"
        f"<title>Similarity: {_e(report.assignment)}</title><style>{CSS}</style></head><body>"
        f"<h1>Code similarity: {_e(report.assignment)}</h1>"
        f"<p class='note'>{_e(DISCLAIMER)}</p>"
        + (f"<p class='note'>Only {len(report.students)} submissions: what the class shares is "
           "learnt from few pairs, so code most of them share (a common source, or everyone "
           "copying one file) counts as normal here. Read the raw overlap column too.</p>"
           if len(report.students) < SMALL_CLASS else "")
        + f"<p>{len(report.students)} submissions; {method} scored ({len(report.pairs)} pairs) "
        f"in {report.seconds:.1f} s; flag threshold {report.threshold:.2f}; "
        f"{len(report.flagged)} pairs flagged. Starter code is never counted as shared; "
        "identifiers, comments, literal spelling, function order and dead code are "
        "ignored.</p>"
        f"<h2>Clusters</h2><ul>{clusters}</ul>"
        f"<h2>Ranked pairs</h2><table>{PAIR_HEADER}"
        + "".join(summary_rows(report, MAX_LISTED)) + "</table>"
        "<h2>Flagged pairs side by side</h2>"
        + ("".join(_pair_detail(report, p) for p in detailed) or "<p>none</p>")
        + "</body></html>")


def ranked_json(report: SimilarityReport) -> str:
    """``[{"a", "b", "score", "flagged", "copied_functions"}, ...]``, flagged pairs first,
    then highest score first."""
    return json.dumps([{"a": p.a, "b": p.b, "score": p.score, "flagged": p.flagged,
                        "copied_functions": p.copied_units} for p in report.pairs], indent=1)


def write_page(report: SimilarityReport, path: Path) -> None:
    from grader.results.store import write_text_atomic

    write_text_atomic(path, render(report))
