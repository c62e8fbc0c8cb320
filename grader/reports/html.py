"""report.html: one self-contained page per assignment for TAs and instructors.

Everything is inline (CSS, SVG charts as data URIs): the page works offline, from an email
attachment or an LMS upload, and loads nothing from the network. Every value taken from a
result is HTML-escaped: messages and student ids are student-influenced.
"""

from __future__ import annotations

import datetime as dt
import html
from collections import Counter
from pathlib import Path
from typing import Any

from grader.reports import charts
from grader.reports.format import fmt_number, fmt_time, status_label
from grader.reports.stats import (
    failure_groups,
    per_test_stats,
    problem_submissions,
    provenance,
    summary,
)
from grader.results.store import write_text_atomic

EXAMPLE_CHARS = 2000  # a failure example is a hint, not a log dump
FAILURE_GROUPS = 20   # the most common failure messages shown; the page says how many more


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _img(uri: str, alt: str) -> str:
    return f"<img class='chart' src='{uri}' alt='{_e(alt)}'>"


def _table(header: list[str], rows: list[list[str]], cls: str = "") -> str:
    """An HTML table; cells are already-escaped HTML."""
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table class='{cls}'><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _counter_text(counter: Counter[str]) -> str:
    return ", ".join(f"{k} ({n})" for k, n in counter.most_common())


def _graded_note(graded: list[dict[str, Any]]) -> str:
    return (f"<p class='note'>Over the {len(graded)} submissions graded normally (status ok); "
            "the others are listed under <a href='#problems'>Problems</a>.</p>")


def _scores_section(results: list[dict[str, Any]]) -> str:
    scores = [float(r.get("score") or 0.0) for r in results]
    max_score = max((float(r.get("max_score") or 0.0) for r in results), default=0.0)
    s = summary(scores)
    late = sum(1 for r in results if r.get("late") is True)
    facts = [
        ("submissions", str(len(results))),
        ("mean", fmt_number(round(s.get("mean", 0.0), 2))),
        ("median", fmt_number(s.get("median", 0.0))),
        ("max possible", fmt_number(max_score)),
        ("full marks", str(sum(1 for x in scores if max_score and x >= max_score))),
        ("late", str(late)),
    ]
    cards = "".join(f"<div class='card'><b>{_e(v)}</b><span>{_e(k)}</span></div>"
                    for k, v in facts)
    parts = [f"<section id='scores'><h2>Scores</h2><div class='cards'>{cards}</div>"]
    if scores:
        parts.append(_img(charts.score_histogram(scores, max_score), "score histogram"))
    parts.append("</section>")
    return "".join(parts)


def _tests_section(results: list[dict[str, Any]]) -> str:
    stats = per_test_stats(results)
    parts = ["<section id='tests'><h2>Per-test pass rates</h2>", _graded_note(results)]
    if not stats:
        return "".join(parts) + "<p>No test results.</p></section>"
    parts.append(_img(charts.pass_rate_chart([s.key for s in stats],
                                             [s.pass_rate for s in stats]),
                      "per-test pass rate chart"))
    rows = [
        [f"<code>{_e(s.key)}</code><br><small>{_e(s.name)}</small>",
         _e(fmt_number(s.max_score)), f"{s.passed} / {s.ran}",
         f"{100 * s.pass_rate:.0f}%", _e(fmt_number(round(s.mean_score, 2)))]
        for s in stats
    ]
    parts.append(_table(["test", "points", "passed", "pass rate", "mean points"], rows, "num"))
    parts.append("</section>")
    return "".join(parts)


def _failures_section(results: list[dict[str, Any]]) -> str:
    groups = failure_groups(results, limit=None)
    parts = ["<section id='failures'><h2>Most common failure messages</h2>",
             _graded_note(results),
             "<p class='note'>Messages are grouped by their first line with numbers replaced "
             "by N.</p>"]
    if not groups:
        return "".join(parts) + "<p>No failed tests.</p></section>"
    if len(groups) > FAILURE_GROUPS:
        parts.append(f"<p class='note'>The {FAILURE_GROUPS} most common of {len(groups)} "
                     "distinct messages; every student's messages are in their feedback.</p>")
        groups = groups[:FAILURE_GROUPS]
    rows = []
    for g in groups:
        common = g.tests.most_common()
        tests = ", ".join(f"{_e(k)} ({n})" for k, n in common[:6])
        if len(common) > 6:
            tests += f" … (+{len(common) - 6} more tests)"
        students = ", ".join(_e(s) for s in sorted(g.students)[:12])
        if len(g.students) > 12:
            students += f" … (+{len(g.students) - 12})"
        example = g.example[:EXAMPLE_CHARS] + ("…" if len(g.example) > EXAMPLE_CHARS else "")
        rows.append([
            str(g.count),
            f"<code>{_e(g.key)}</code><details><summary>example</summary>"
            f"<pre>{_e(example)}</pre></details>",
            tests,
            students,
        ])
    parts.append(_table(["count", "message", "tests", "students"], rows, "failures"))
    parts.append("</section>")
    return "".join(parts)


def _runtime_section(results: list[dict[str, Any]]) -> str:
    timed = [(float(r["execution_time"]), str(r.get("student_id", "?"))) for r in results
             if isinstance(r.get("execution_time"), (int, float))]
    parts = ["<section id='runtime'><h2>Runtime</h2>"]
    if not timed:
        return parts[0] + "<p>No execution times recorded.</p></section>"
    s = summary([t for t, _ in timed])
    parts.append("<p>" + ", ".join(f"{k} {s[k]:.2f} s" for k in ("median", "p90", "max"))
                 + f" over {len(timed)} submissions.</p>")
    parts.append(_img(charts.runtime_histogram([t for t, _ in timed]), "runtime histogram"))
    slowest = sorted(timed, reverse=True)[:5]
    parts.append(_table(["slowest", "seconds"], [[_e(sid), f"{t:.2f}"] for t, sid in slowest]))
    parts.append("</section>")
    return "".join(parts)


def _problems_section(results: list[dict[str, Any]], unreadable: list[tuple[Path, str]],
                      names: dict[str, str], links: dict[str, str]) -> str:
    bad = problem_submissions(results)
    parts = ["<section id='problems'><h2>Crashed, timed out or not gradable</h2>"]
    if bad:
        rows = [[_who(str(r.get("student_id", "?")), names, links.get(str(r.get("student_id")))),
                 _e(status_label(r.get("status"))),
                 f"<pre>{_e(r.get('error') or '')}</pre>",
                 _e(fmt_number(r.get("execution_time")))] for r in bad]
        parts.append(_table(["student", "status", "error", "seconds"], rows))
    else:
        parts.append("<p>Every submission was graded.</p>")
    if unreadable:
        parts.append("<h3>Results that could not be read</h3>")
        parts.append(_table(["file", "problem"],
                            [[_e(p), _e(reason)] for p, reason in unreadable]))
    parts.append("</section>")
    return "".join(parts)


def _entries_section(entries: list[dict[str, Any]], missing: list[str],
                     not_graded: list[dict[str, Any]], names: dict[str, str]) -> str:
    """Submissions without a result (with why), batch entries that were not graded
    (superseded or refused, with the reason) and roster students with no submission: every
    entry of the batch is accounted for."""
    others = [e for e in entries if e.get("status") in ("superseded", "refused")]
    parts = ["<section id='entries'><h2>Not graded: interrupted, superseded, refused, "
             "missing</h2>"]
    if not_graded:
        parts.append(f"<h3>Submissions not graded ({len(not_graded)})</h3>")
        parts.append(_table(["student", "why"], [
            [_who(str(r.get("student_id", "")), names), _e(r.get("notes") or "")]
            for r in not_graded]))
    if others:
        rows = [[_e(e.get("entry", "")), _e(e.get("status", "")),
                 _e(e.get("student_id") or ""), _e(e.get("reason") or "")] for e in others]
        parts.append(_table(["entry", "status", "student", "reason"], rows))
    elif not not_graded:
        parts.append("<p>Every entry of the batch was graded.</p>")
    if missing:
        parts.append(f"<h3>Roster students without a submission ({len(missing)})</h3>"
                     f"<p>{', '.join(_who(sid, names) for sid in missing)}</p>")
    parts.append("</section>")
    return "".join(parts)


def _who(student_id: str, names: dict[str, str], link: str | None = None) -> str:
    """A student's id (a link to their feedback when given) and their name when known."""
    text = _e(student_id)
    if link:
        text = f"<a href='{_e(link)}'>{text}</a>"
    name = names.get(student_id)
    return f"{text} <span class='name'>({_e(name)})</span>" if name else text


def _students_section(results: list[dict[str, Any]], names: dict[str, str],
                      links: dict[str, str]) -> str:
    rows = [[_who(str(r.get("student_id", "?")), names, links.get(str(r.get("student_id")))),
             _e(f"{fmt_number(r.get('score'))} / {fmt_number(r.get('max_score'))}"),
             _e(status_label(r.get("status", ""))),
             _e({True: "yes", False: "no"}.get(r.get("late"), "")),
             _e(fmt_time(r.get("finished_at")))] for r in results]
    return ("<section id='students'><h2>All submissions</h2><details open><summary>"
            f"{len(results)} submissions (each student's id links to their feedback)</summary>"
            + _table(["student", "score", "status", "late", "graded"], rows)
            + "</details></section>")


def _warnings(not_graded: list[dict[str, Any]], unreadable: list[tuple[Path, str]],
              interrupted: bool) -> list[str]:
    """What a TA must know before using these grades: results missing, a batch stopped."""
    out = []
    if interrupted:
        out.append("The last grading batch was interrupted before it finished.")
    if not_graded:
        out.append(f"{len(not_graded)} submission(s) have no result: their grade is blank in "
                   "the gradebook and LMS files (see <a href='#entries'>Not graded</a>). Run "
                   "the same grader grade command again to grade them.")
    if unreadable:
        out.append(f"{len(unreadable)} result file(s) could not be read (see "
                   "<a href='#problems'>Problems</a>).")
    return [f"<p class='insecure'>⚠ {text}</p>" for text in out]


def _provenance_section(results: list[dict[str, Any]]) -> str:
    p = provenance(results)
    rows = [
        ["grader version", _e(_counter_text(p["grader_version"]))],
        *[[_e(name), _e(_counter_text(c))] for name, c in sorted(p["versions"].items())],
        ["sandbox", _e(_counter_text(p["sandbox"]))],
        ["insecure results", f"<b>{p['insecure']}</b>" if p["insecure"] else "0"],
        ["device", _e(_counter_text(p["device"]))],
        ["hidden suite (sha256)", _e(_counter_text(p["suite_sha256"]))],
        ["graded between", _e(f"{fmt_time(_iso(p['first_start']))} and "
                               f"{fmt_time(_iso(p['last_finish']))}")],
        ["distinct seeds", str(len({s for s in p["seeds"].values()}))],
    ]
    seeds = _table(["student", "seed"], [[_e(k), _e(v)] for k, v in p["seeds"].items()])
    return ("<section id='provenance'><h2>Provenance</h2>" + _table(["", ""], rows, "kv")
            + f"<details><summary>seed per student (replay with grader grade --seed)</summary>"
            f"{seeds}</details></section>")


def _iso(moment: dt.datetime | None) -> str | None:
    return moment.isoformat() if moment else None


_CSS = """
body { font-family: system-ui, sans-serif; color: #222; max-width: 75rem; margin: 0 auto;
       padding: 1rem 1.5rem 3rem; }
nav a { margin-right: 1rem; }
h2 { border-bottom: 2px solid #c9d3df; padding-bottom: .2rem; margin-top: 2.2rem; }
table { border-collapse: collapse; margin: .8rem 0; }
th, td { border: 1px solid #ccc; padding: .3rem .55rem; text-align: left;
         vertical-align: top; }
th { background: #f1f4f8; }
table.kv thead { display: none; }
table.failures td:nth-child(2) { min-width: 26rem; }
pre { white-space: pre-wrap; overflow-wrap: anywhere; margin: .3rem 0; max-width: 50rem;
      background: #f7f7f7; padding: .4rem; }
img.chart { display: block; max-width: 100%; margin: .6rem 0; }
.cards { display: flex; flex-wrap: wrap; gap: .8rem; }
.card { border: 1px solid #ccd; border-radius: 6px; padding: .5rem 1rem; min-width: 7rem; }
.card b { display: block; font-size: 1.5rem; }
.card span { color: #555; font-size: .85rem; }
.insecure { background: #fde2e2; border: 2px solid #a11d1d; padding: .6rem;
            font-weight: bold; }
.note { color: #555; font-style: italic; }
.name { color: #555; }
"""


def render_html_report(
    results: list[dict[str, Any]],
    *,
    assignment: str,
    title: str,
    unreadable: list[tuple[Path, str]] | None = None,
    now: dt.datetime | None = None,
    entries: list[dict[str, Any]] | None = None,
    missing: list[str] | None = None,
    similarity: str = "",
    not_graded: list[dict[str, Any]] | None = None,
    interrupted: bool = False,
    names: dict[str, str] | None = None,
    links: dict[str, str] | None = None,
) -> str:
    """The report page as a string (see :func:`write_html_report`); ``similarity`` is the
    similarity report's section (already-escaped HTML), shown when given. ``not_graded``:
    gradebook rows of submissions without a result; ``names``: student id -> name (roster);
    ``links``: student id -> their feedback page, relative to the report."""
    generated = (now or dt.datetime.now(dt.timezone.utc)).isoformat(timespec="seconds")
    results = sorted(results, key=lambda r: str(r.get("student_id", "")))
    insecure = sum(1 for r in results if r.get("insecure"))
    graded = [r for r in results if r.get("status", "ok") == "ok"]
    not_graded, missing, names = not_graded or [], missing or [], names or {}
    counts = [f"{len(results)} results"]
    if not_graded:
        counts.append(f"{len(not_graded)} not graded")
    if missing:
        counts.append(f"{len(missing)} roster students without a submission")
    head = [f"<h1>{_e(title)}</h1>",
            f"<p>Assignment <code>{_e(assignment)}</code>, {', '.join(counts)}, "
            f"report generated {_e(fmt_time(generated))}.</p>",
            *_warnings(not_graded, unreadable or [], interrupted),
            "<nav>" + "".join(f"<a href='#{a}'>{t}</a>" for a, t in (
                ("scores", "Scores"), ("tests", "Tests"), ("failures", "Failures"),
                ("runtime", "Runtime"), ("problems", "Problems"), ("entries", "Not graded"),
                ("students", "Submissions"), ("similarity", "Similarity"),
                ("provenance", "Provenance")) if a != "similarity" or similarity) + "</nav>"]
    if insecure:
        head.append(f"<p class='insecure'>⚠ INSECURE: {insecure} result(s) were graded "
                    "without a sandbox (--insecure). Regrade them before using the grades.</p>")
    body = "\n".join([
        *head,
        _scores_section(results),
        # Tests of a submission that could not be imported or ran out of time say nothing
        # about the tests themselves: those submissions are listed under Problems.
        _tests_section(graded),
        _failures_section(graded),
        _runtime_section(results),
        _problems_section(results, unreadable or [], names, links or {}),
        _entries_section(entries or [], missing, not_graded, names),
        _students_section(results, names, links or {}),
        f"<section id='similarity'>{similarity}</section>" if similarity else "",
        _provenance_section(results),
    ])
    return ("<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
            f"<title>{_e(title)}</title><style>{_CSS}</style></head>\n"
            f"<body>\n{body}\n</body></html>\n")


def write_html_report(
    results: list[dict[str, Any]],
    path: Path,
    *,
    assignment: str,
    title: str,
    unreadable: list[tuple[Path, str]] | None = None,
    entries: list[dict[str, Any]] | None = None,
    missing: list[str] | None = None,
    similarity: str = "",
    not_graded: list[dict[str, Any]] | None = None,
    interrupted: bool = False,
    names: dict[str, str] | None = None,
    links: dict[str, str] | None = None,
) -> None:
    """Write report.html atomically: warnings (results missing, batch interrupted), score
    histogram, per-test pass rates, grouped failure messages, runtimes, problem submissions,
    submissions and batch entries not graded and roster students missing, every submission
    (name and a link to its feedback), and grading provenance."""
    page = render_html_report(results, assignment=assignment, title=title,
                              unreadable=unreadable, entries=entries, missing=missing,
                              similarity=similarity, not_graded=not_graded,
                              interrupted=interrupted, names=names, links=links)
    write_text_atomic(Path(path), page)
