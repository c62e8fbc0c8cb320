"""Per-student feedback: what it shows, and what the visibility rules keep from students."""

from __future__ import annotations

import ast
import copy
import datetime as dt
import re
from pathlib import Path

from results_factory import make_error_result, make_result, make_test

from grader.grading.plugin import docstring_title
from grader.reports.feedback import render_feedback_html, render_feedback_md, student_view

ROOT = Path(__file__).resolve().parent.parent

DUE = dt.datetime(2026, 11, 30, 23, 59, tzinfo=dt.timezone.utc)
BEFORE = DUE - dt.timedelta(days=1)
AFTER = DUE + dt.timedelta(minutes=1)


def both(result, now=BEFORE, due=DUE, published=False):
    """feedback.md and feedback.html of one result, joined: a rule must hold in both."""
    kw = {"now": now, "due": due, "published": published}
    return render_feedback_md(result, **kw) + "\n" + render_feedback_html(result, **kw)


def result_with(test_visibility: str, **fields):
    """alice's result with a public test and a failed secret one of ``test_visibility``."""
    secret = make_test("test_secret_edge_case", passed=False, visibility=test_visibility,
                       name="secret edge case title", output="SECRET-MESSAGE differs")
    return make_result("alice", [make_test("test_public"), secret], **fields)


def test_feedback_shows_each_visible_test_with_points_status_and_message():
    result = make_result("alice", [
        make_test("test_rows_sum_to_one", name="softmax: rows sum to 1"),
        make_test("test_stable", passed=False, points=3, name="softmax: stable for 1e4",
                  output="softmax(x: (4, 5) float64): output contains NaN at [0, 1]"),
    ])

    md = render_feedback_md(result, now=BEFORE, due=DUE)

    assert "softmax: rows sum to 1" in md and "| 2 / 2 |" in md
    assert "softmax: stable for 1e4" in md and "| 0 / 3 |" in md
    assert "✓ passed" in md and "✗ failed" in md
    assert "softmax(x: (4, 5) float64): output contains NaN at [0, 1]" in md


def test_header_shows_assignment_student_score_status_and_seed():
    md = render_feedback_md(make_result("alice", seed=987654321), now=BEFORE, due=DUE)

    assert "a2\\_softmax" in md and "alice" in md
    assert "**Score:** 2 / 4" in md
    assert "**Status:** graded" in md
    assert "--seed 987654321" in md


def test_submission_error_is_shown_with_its_message():
    result = make_error_result("bob", error="softmax.py line 3: SyntaxError: invalid syntax")

    text = both(result)

    assert "submission error" in text
    assert "SyntaxError: invalid syntax" in text


def test_grader_output_is_shown_above_the_tests():
    md = render_feedback_md(make_result("alice", output="warning: notebook cell 3 skipped"),
                            now=BEFORE, due=DUE)

    assert "warning: notebook cell 3 skipped" in md


def test_output_repeating_the_error_is_not_shown_twice():
    error = "importing softmax.py: raised SyntaxError"
    result = make_error_result("bob", error=error, output=error + "\n")

    assert render_feedback_md(result, now=BEFORE, due=DUE).count(error) == 1


def test_hidden_test_is_omitted_everywhere_even_after_publishing():
    result = result_with("hidden")

    text = both(result, now=AFTER, published=True)

    assert "SECRET-MESSAGE" not in text
    assert "secret edge case title" not in text
    assert "test_secret_edge_case" not in text


def test_hidden_test_points_count_in_the_visible_total():
    result = result_with("hidden", score=7.0, max_score=10.0)

    md = render_feedback_md(result, now=BEFORE, due=DUE)

    assert "**Score:** 7 / 10" in md
    assert "total above includes their points" in md


def test_after_due_date_test_is_withheld_before_the_due_date():
    assert "SECRET-MESSAGE" not in both(result_with("after_due_date"), now=BEFORE)


def test_after_due_date_test_is_shown_once_the_due_date_has_passed():
    text = both(result_with("after_due_date"), now=AFTER)

    assert text.count("SECRET-MESSAGE") == 2  # once in the Markdown, once in the HTML


def test_after_due_date_test_without_a_due_date_waits_for_publishing():
    result = result_with("after_due_date")

    assert "SECRET-MESSAGE" not in both(result, now=AFTER, due=None)
    assert "SECRET-MESSAGE" in both(result, now=AFTER, due=None, published=True)


def test_after_published_test_is_shown_only_when_published():
    result = result_with("after_published")

    assert "SECRET-MESSAGE" not in both(result, now=AFTER)
    assert "SECRET-MESSAGE" in both(result, now=AFTER, published=True)


def test_naive_due_date_is_taken_as_utc():
    naive_due = DUE.replace(tzinfo=None)

    assert "SECRET-MESSAGE" in both(result_with("after_due_date"), now=AFTER, due=naive_due)


def test_unknown_visibility_value_is_treated_as_hidden():
    assert "SECRET-MESSAGE" not in both(result_with("sometimes"), now=AFTER, published=True)


def test_test_without_visibility_inherits_the_result_default():
    result = result_with("after_due_date")
    del result["tests"][1]["visibility"]
    result["visibility"] = "after_published"
    # The whole result is after_published too, so publish to see the tests at all.
    assert "SECRET-MESSAGE" in both(result, now=AFTER, published=True)
    assert "SECRET-MESSAGE" not in both(result, now=AFTER, published=False)


def test_result_withheld_as_a_whole_hides_score_tests_and_output():
    result = result_with("visible", visibility="after_due_date", output="OVERALL-OUTPUT")

    md = render_feedback_md(result, now=BEFORE, due=DUE)

    assert "not released yet" in md
    assert "2 / 4" not in md
    assert "SECRET-MESSAGE" not in md and "OVERALL-OUTPUT" not in md


def test_insecure_result_carries_a_banner():
    text = both(make_result("alice", insecure=True, sandbox="none"))

    assert text.count("INSECURE") == 2


def test_secure_result_has_no_insecure_banner():
    assert "INSECURE" not in both(make_result("alice"))


def test_late_flag_is_shown_when_known():
    assert "**Late:** yes" in render_feedback_md(make_result("alice", late=True),
                                                 now=AFTER, due=DUE)
    assert "**Late:** no" in render_feedback_md(make_result("alice", late=False),
                                                now=AFTER, due=DUE)


def test_late_flag_is_left_out_when_unknown():
    assert "Late" not in both(make_result("alice", late=None))


def test_html_escapes_student_controlled_text():
    bad = make_test("test_x", passed=False, output="<script>alert(1)</script>")
    result = make_result("<img src=x onerror=alert(1)>", [bad])

    page = render_feedback_html(result, now=BEFORE, due=DUE)

    assert "<script>" not in page and "<img" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_html_feedback_loads_nothing_from_outside():
    page = render_feedback_html(make_result("alice"), now=BEFORE, due=DUE)

    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)
    assert "<script" not in page


def test_markdown_message_with_backticks_stays_inside_its_code_block():
    sneaky = "```\n# Full marks awarded\n```"
    result = make_result("alice", [make_test("test_x", passed=False, output=sneaky)])

    md = render_feedback_md(result, now=BEFORE, due=DUE)

    block = re.search(r"(`{4,})text\n(.*?)\n\1", md, re.S)
    assert block is not None and "# Full marks awarded" in block.group(2)


def test_markdown_escapes_markup_in_student_id():
    md = render_feedback_md(make_result("**bold**|x"), now=BEFORE, due=DUE)

    assert "\\*\\*bold\\*\\*\\|x" in md


def test_student_view_keeps_only_the_shown_tests():
    view = student_view(result_with("hidden"), BEFORE, DUE)

    assert [t["test_id"] for t in view["tests"]] == ["test_public"]
    assert view["tests_withheld"] == 1 and view["released"] is True


def test_student_view_of_a_withheld_result_has_no_score_and_no_tests():
    view = student_view(result_with("visible", visibility="hidden"), AFTER, DUE, True)

    assert view["score"] is None and view["tests"] == [] and view["released"] is False


def test_student_view_does_not_modify_the_result():
    result = result_with("hidden")
    before = copy.deepcopy(result)

    student_view(result, BEFORE, DUE)

    assert result == before


# --- titles ---------------------------------------------------------------------------------

def test_a_title_is_the_whole_first_paragraph_of_a_wrapped_docstring() -> None:
    doc = """max_pool_backward: with ties, only the FIRST maximal element (row-major order of the
        window) gets the gradient.

        Details for authors."""
    assert docstring_title(doc, "test_ties") == (
        "max_pool_backward: with ties, only the FIRST maximal element (row-major order of the "
        "window) gets the gradient.")


def test_a_test_without_a_docstring_is_titled_by_its_name() -> None:
    assert docstring_title(None, "test_relu") == "test_relu"
    assert docstring_title("  \n ", "test_relu") == "test_relu"


def test_no_hidden_test_title_is_cut_mid_sentence() -> None:
    cut = []
    for path in sorted((ROOT / "autotests").rglob("test_*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
                title = docstring_title(ast.get_docstring(node), node.name)
                if title.endswith((",", ";", ":", "(", "/", " the", " of", " no", " last full")):
                    cut.append(f"{path.name}::{node.name}: {title}")
    assert cut == []
