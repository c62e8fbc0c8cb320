"""Per-student feedback (feedback.md and feedback.html) rendered from one results.json.

Both renderers start from :func:`student_view`, so the files never show more than a result
exported to the student would; the visibility rules are in :mod:`grader.course.visibility`.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from typing import Any

from grader.course.visibility import student_view
from grader.reports.format import fmt_number, fmt_time, status_label

__all__ = ["render_feedback_html", "render_feedback_md", "student_view"]

INSECURE_TEXT = (
    "INSECURE: this submission was graded without a sandbox (--insecure). "
    "Do not use this result as a grade before regrading it in the sandbox."
)
WITHHELD_TEXT = "Some tests are not shown yet; the total above includes their points."
NOT_RELEASED_TEXT = "Your score and test results are not released yet."

_ICONS = {"passed": "✓", "failed": "✗"}  # in DejaVu and most fonts, unlike emoji


def render_feedback_md(
    result: dict[str, Any],
    *,
    now: dt.datetime,
    due: dt.datetime | None,
    published: bool = False,
) -> str:
    """feedback.md: header, a summary table of the shown tests, then each test's message."""
    view = student_view(result, now, due, published)
    out = [f"# Feedback: {_md_inline(view.get('assignment', ''))}", ""]
    out += [f"- **{label}:** {value}" for label, value in _header_fields(view, md=True)]
    out.append("")
    if view.get("insecure"):
        out += [f"> **⚠ {INSECURE_TEXT}**", ""]
    if view.get("error"):
        out += ["## What went wrong", "", _md_block(str(view["error"])), ""]
    if not view["released"]:
        out += [NOT_RELEASED_TEXT, ""]
        return "\n".join(out)
    if _extra_output(view):
        out += ["## Grader output", "", _md_block(str(view["output"])), ""]
    tests = view["tests"]
    if tests:
        out += ["## Tests", "", "| Result | Test | Points |", "|---|---|---|"]
        for t in tests:
            out.append(
                f"| {_icon(t)} {_md_inline(t.get('status', ''))} | {_md_inline(_title(t))} "
                f"| {_points(t)} |"
            )
        out.append("")
    if view["tests_withheld"]:
        out += [WITHHELD_TEXT, ""]
    detailed = [t for t in tests if t.get("output")]
    if detailed:
        out += ["## Messages", ""]
        for t in detailed:
            out += [f"### {_icon(t)} {_md_inline(_title(t))} ({_points(t)})", ""]
            out += [_md_block(str(t["output"])), ""]
    return "\n".join(out)


def render_feedback_html(
    result: dict[str, Any],
    *,
    now: dt.datetime,
    due: dt.datetime | None,
    published: bool = False,
) -> str:
    """feedback.html: the same content as the Markdown, one self-contained escaped page."""
    view = student_view(result, now, due, published)
    e = _esc
    title = f"Feedback: {view.get('assignment', '')} ({view.get('student_id', '')})"
    body = [f"<h1>{e(title)}</h1>", "<table class='header'>"]
    body += [f"<tr><th>{e(k)}</th><td>{e(v)}</td></tr>" for k, v in _header_fields(view)]
    body.append("</table>")
    if view.get("insecure"):
        body.append(f"<p class='insecure'>⚠ {e(INSECURE_TEXT)}</p>")
    if view.get("error"):
        body.append(f"<h2>What went wrong</h2><pre class='error'>{e(view['error'])}</pre>")
    if not view["released"]:
        body.append(f"<p>{e(NOT_RELEASED_TEXT)}</p>")
    else:
        if _extra_output(view):
            body.append(f"<h2>Grader output</h2><pre>{e(view['output'])}</pre>")
        if view["tests"]:
            body.append("<h2>Tests</h2><table class='tests'>")
            body.append("<tr><th>Result</th><th>Test</th><th>Points</th></tr>")
            for t in view["tests"]:
                status = str(t.get("status", ""))
                body.append(
                    f"<tr class='{e(_css_status(status))}'><td>{_icon(t)} {e(status)}</td>"
                    f"<td>{e(_title(t))}"
                    + (f"<pre>{e(t['output'])}</pre>" if t.get("output") else "")
                    + f"</td><td class='num'>{e(_points(t))}</td></tr>"
                )
            body.append("</table>")
        if view["tests_withheld"]:
            body.append(f"<p class='note'>{e(WITHHELD_TEXT)}</p>")
    return _page(title, "\n".join(body))


def _header_fields(view: dict[str, Any], md: bool = False) -> list[tuple[str, str]]:
    """(label, value) rows of the header, in display order; Markdown-escaped when ``md``."""
    inline = _md_inline if md else str
    fields = [("Assignment", inline(view.get("assignment", ""))),
              ("Student", inline(view.get("student_id", "")))]
    if view["released"]:
        score = f"{fmt_number(view.get('score'))} / {fmt_number(view.get('max_score'))}"
    else:
        score = f"not released yet (out of {fmt_number(view.get('max_score'))})"
    fields.append(("Score", score))
    fields.append(("Status", status_label(view.get("status", ""))))
    late = view.get("late")
    if late is not None:
        fields.append(("Late", "yes: submitted after the due date" if late else "no"))
    if view.get("submission"):
        fields.append(("Submission", inline(view["submission"])))
    if view.get("seed") is not None:
        seed = view["seed"]
        replay = f"grader grade {view.get('assignment', '<assignment>')} <submission> --seed {seed}"
        fields.append(("Seed", f"{seed} (replay: {'`' + replay + '`' if md else replay})"))
    graded = fmt_time(view.get("finished_at"))
    if graded:
        fields.append(("Graded", f"{graded} by grader {view.get('grader_version', '?')}"
                       f" (sandbox: {view.get('sandbox', '?')})"))
    return fields


def _extra_output(view: dict[str, Any]) -> bool:
    """Whether the grader's output says more than the error already shown above it."""
    output = str(view.get("output") or "").strip()
    return bool(output) and output != str(view.get("error") or "").strip()


def _title(test: dict[str, Any]) -> str:
    return str(test.get("name") or test.get("test_id") or "unnamed test")


def _points(test: dict[str, Any]) -> str:
    return f"{fmt_number(test.get('score'))} / {fmt_number(test.get('max_score'))}"


def _icon(test: dict[str, Any]) -> str:
    return _ICONS.get(str(test.get("status")), "•")


def _css_status(status: str) -> str:
    return status if status in _ICONS else "other"


_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|~])")


def _md_inline(text: Any) -> str:
    """Student-influenced text inside a Markdown line: one line, markup characters escaped."""
    flat = " ".join(str(text).split())
    return _MD_SPECIAL.sub(r"\\\1", flat)


def _md_block(text: str) -> str:
    """A fenced block that the text cannot close: the fence outgrows any backtick run in it."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}text\n{text.rstrip()}\n{fence}"


def _esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


_CSS = """
body { font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto;
       padding: 0 1rem; color: #222; }
table { border-collapse: collapse; margin: 1rem 0; width: 100%; }
th, td { border: 1px solid #ccc; padding: .35rem .6rem; text-align: left;
         vertical-align: top; }
table.header th { width: 9rem; background: #f4f4f4; }
td.num { text-align: right; white-space: nowrap; }
tr.passed td:first-child { color: #17632a; }
tr.failed td:first-child { color: #a11d1d; }
pre { background: #f7f7f7; border: 1px solid #ddd; padding: .5rem; white-space: pre-wrap;
      overflow-wrap: anywhere; }
pre.error { border-color: #a11d1d; }
.insecure { background: #fde2e2; border: 2px solid #a11d1d; padding: .6rem;
            font-weight: bold; }
.note { color: #555; font-style: italic; }
"""


def _page(title: str, body: str) -> str:
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<title>{_esc(title)}</title><style>{_CSS}</style></head>\n"
        f"<body>\n{body}\n</body></html>\n"
    )
