"""gradebook.csv, report.html and the `grader report` entry point."""

from __future__ import annotations

import csv
import datetime as dt
import re
from pathlib import Path

import pytest
from results_factory import ASSIGNMENT, make_error_result, make_result, make_test, write_results

from grader.cli import main as cli_main
from grader.reports.gradebook import suite_columns, write_gradebook
from grader.reports.html import render_html_report, write_html_report
from grader.reports.stats import failure_groups, normalize_message

ROOT = Path(__file__).resolve().parent.parent

DUE = dt.datetime(2026, 11, 30, 23, 59, tzinfo=dt.timezone.utc)


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.reader(f))


def class_results():
    """Three graded students and one whose submission could not be graded."""
    return [
        make_result("carol", [make_test("test_a"), make_test("test_b", passed=False),
                              make_test("test_c", points=1)]),
        make_result("alice", [make_test("test_a"), make_test("test_b"),
                              make_test("test_c", points=1)]),
        make_error_result("dave"),
        make_result("bob", [make_test("test_a", passed=False), make_test("test_b"),
                            make_test("test_c", points=1, passed=False)]),
    ]


# --- gradebook.csv -------------------------------------------------------------------------


def test_gradebook_has_one_row_per_student_sorted_by_id(tmp_path):
    write_gradebook(class_results(), tmp_path / "gradebook.csv", due=None)

    rows = read_csv(tmp_path / "gradebook.csv")

    assert [r[0] for r in rows[1:]] == ["alice", "bob", "carol", "dave"]


def test_gradebook_columns_are_fixed_fields_then_tests_in_suite_order(tmp_path):
    write_gradebook(class_results(), tmp_path / "gradebook.csv", due=None)

    header = read_csv(tmp_path / "gradebook.csv")[0]

    assert header == ["student_id", "total", "max_score", "status",
                      "test_a", "test_b", "test_c", "submitted_at", "graded_at"]


def test_gradebook_rows_hold_totals_and_per_test_points(tmp_path):
    write_gradebook(class_results(), tmp_path / "gradebook.csv", due=None)

    rows = {r[0]: r for r in read_csv(tmp_path / "gradebook.csv")[1:]}

    assert rows["alice"][1:7] == ["5", "5", "ok", "2", "2", "1"]
    assert rows["bob"][1:7] == ["2", "5", "ok", "0", "2", "0"]


def test_ungradable_submission_scores_zero_with_empty_test_cells(tmp_path):
    write_gradebook(class_results(), tmp_path / "gradebook.csv", due=None)

    dave = {r[0]: r for r in read_csv(tmp_path / "gradebook.csv")[1:]}["dave"]

    assert dave[1:7] == ["0", "4", "submission_error", "", "", ""]


def test_gradebook_late_column_appears_only_with_a_due_date(tmp_path):
    results = [make_result("alice", late=True), make_result("bob", late=False),
               make_result("carol", late=None)]
    write_gradebook(results, tmp_path / "with_due.csv", due=DUE)
    write_gradebook(results, tmp_path / "no_due.csv", due=None)

    with_due = read_csv(tmp_path / "with_due.csv")
    late = with_due[0].index("late")

    assert [r[late] for r in with_due[1:]] == ["yes", "no", ""]
    assert "late" not in read_csv(tmp_path / "no_due.csv")[0]


def test_gradebook_late_falls_back_to_submission_time_against_the_due_date(tmp_path):
    results = [make_result("alice", submitted_at="2026-12-01T00:00:00+00:00"),
               make_result("bob", submitted_at="2026-11-30T12:00:00+00:00")]
    write_gradebook(results, tmp_path / "gradebook.csv", due=DUE)

    rows = read_csv(tmp_path / "gradebook.csv")
    late = rows[0].index("late")

    assert [r[late] for r in rows[1:]] == ["yes", "no"]


def test_gradebook_records_when_each_submission_was_graded(tmp_path):
    write_gradebook([make_result("alice")], tmp_path / "gradebook.csv", due=None)

    header, row = read_csv(tmp_path / "gradebook.csv")

    assert row[header.index("graded_at")] == "2026-11-23T13:00:03+00:00"


def test_gradebook_neutralises_spreadsheet_formulas_in_student_ids(tmp_path):
    write_gradebook([make_result("=HYPERLINK(1)")], tmp_path / "gradebook.csv", due=None)

    assert read_csv(tmp_path / "gradebook.csv")[1][0] == "'=HYPERLINK(1)"


def test_test_seen_only_in_a_later_result_keeps_its_place_in_the_suite():
    old = make_result("alice", [make_test("test_a"), make_test("test_c")])
    new = make_result("bob", [make_test("test_a"), make_test("test_b"), make_test("test_c")])

    assert suite_columns([old, new]) == ["test_a", "test_b", "test_c"]


# --- failure grouping ----------------------------------------------------------------------


def test_messages_differing_only_in_numbers_normalise_to_the_same_key():
    one = "softmax(x: (4, 5) float64): max abs error 0.031 at [2, 3]: got 1.5e-03 expected 2"
    two = "softmax(x: (8, 2) float64): max abs error 12.5 at [0, 1]: got -7 expected 0.25"

    assert normalize_message(one) == normalize_message(two)


def test_normalising_keeps_digits_inside_names():
    key = normalize_message("relu2_forward(x: float64 int32) in a2_softmax line 12")

    assert key == "relu2_forward(x: float64 int32) in a2_softmax line N"


def test_grouping_key_is_the_first_line_of_the_message():
    assert normalize_message("\n  first line 3\nTraceback line 99") == "first line N"


def test_failure_groups_count_similar_failures_together_most_frequent_first():
    def failing(student, message):
        return make_result(student, [make_test("test_x", passed=False, output=message)])

    results = [failing("a", "dx differs at [1, 2]"), failing("b", "dx differs at [0, 4]"),
               failing("c", "raised NotImplementedError")]

    groups = failure_groups(results)

    assert [(g.key, g.count) for g in groups] == [
        ("dx differs at [N, N]", 2), ("raised NotImplementedError", 1)]
    assert groups[0].students == {"a", "b"}


def test_a_message_key_that_is_cut_says_so():
    key = normalize_message("x" * 1000)
    assert key.endswith("…") and len(key) <= 240


def test_report_says_how_many_failure_messages_are_not_listed():
    results = [make_result(f"s{i}", [make_test("test_x", passed=False, output=f"error {c}")])
               for i, c in enumerate("abcdefghijklmnopqrstuvwxy")]  # 25 distinct messages
    page = render_html_report(results, assignment=ASSIGNMENT, title="T")
    assert "The 20 most common of 25 distinct messages" in page


def test_passed_tests_are_not_failures():
    assert failure_groups([make_result("a", [make_test("test_x", output="note: slow")])]) == []


# --- report.html ---------------------------------------------------------------------------


def test_report_is_self_contained_with_inline_svg_charts(tmp_path):
    write_html_report(class_results(), tmp_path / "report.html", assignment=ASSIGNMENT,
                      title="Softmax")

    page = (tmp_path / "report.html").read_text("utf-8")
    sources = re.findall(r"<img[^>]*\ssrc='([^']*)'", page)

    assert len(sources) == 3  # score histogram, pass rates, runtimes
    assert all(s.startswith("data:image/svg+xml;base64,") for s in sources)
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)
    assert "<script" not in page and "<link" not in page


def test_score_histogram_bars_count_every_score_in_its_whole_point_bin():
    import base64

    from grader.reports.charts import score_histogram

    scores = [0, 0.5, 1, 1, 2.5, 8, 8, 8]  # 8 = max: the last bin is closed
    svg = base64.b64decode(score_histogram(scores, 8).split(",", 1)[1]).decode()
    bars = re.findall(r"<title>(\S+) to (\S+): (\d+)</title>", svg)

    assert [(float(a), int(n)) for a, _, n in bars] == [(0, 2), (1, 2), (2, 1), (7, 3)]
    assert "Score distribution (n = 8)" in svg and "<script" not in svg


def test_report_shows_per_test_pass_counts():
    page = render_html_report(class_results(), assignment=ASSIGNMENT, title="t")

    # test_a: alice and carol passed, bob failed; dave never ran it.
    assert re.search(r"test_a</code>.*?<td>2 / 3</td><td>67%</td>", page)


def test_pass_rates_and_failures_leave_out_submissions_not_graded_normally():
    broken = make_result("zed", [make_test("test_a", passed=False, output="not graded: import")],
                         status="submission_error", error="SyntaxError")

    page = render_html_report([make_result("alice", [make_test("test_a")]), broken],
                              assignment=ASSIGNMENT, title="t")

    assert re.search(r"test_a</code>.*?<td>1 / 1</td>", page)
    failures = page.split("id='failures'")[1].split("</section>")[0]
    assert "not graded" not in failures


def test_report_groups_failure_messages():
    def failing(student, message):
        return make_result(student, [make_test("test_x", passed=False, output=message)])

    page = render_html_report([failing("a", "dx off by 0.5"), failing("b", "dx off by 2")],
                              assignment=ASSIGNMENT, title="t")

    assert re.search(r"<td>2</td><td><code>dx off by N</code>", page)


def test_report_lists_crashed_timed_out_and_ungradable_submissions():
    results = [make_result("alice"), make_error_result("bob"),
               make_error_result("carol", status="timeout", error="ran past 300 s"),
               make_error_result("dave", status="crashed", error="worker killed")]

    problems = render_html_report(results, assignment=ASSIGNMENT, title="t").split(
        "id='problems'")[1].split("</section>")[0]

    for needle in ("bob", "submission error", "carol", "timed out", "ran past 300 s",
                   "dave", "crashed", "worker killed"):
        assert needle in problems
    assert "alice" not in problems


def test_report_escapes_student_controlled_text():
    bad = make_result("<b>x</b>", [make_test("test_x", passed=False,
                                             output="<script>alert(1)</script>")])

    page = render_html_report([bad], assignment=ASSIGNMENT, title="t")

    assert "<script>" not in page and "<b>x</b>" not in page


def test_report_provenance_counts_insecure_results_and_warns():
    results = [make_result("alice", insecure=True, sandbox="none"), make_result("bob")]

    page = render_html_report(results, assignment=ASSIGNMENT, title="t")

    assert "1 result(s) were graded without a sandbox" in page
    assert re.search(r"insecure results</td><td><b>1</b>", page)
    assert "bwrap (1), none (1)" in page or "none (1), bwrap (1)" in page


def test_report_provenance_lists_versions_and_seeds():
    page = render_html_report([make_result("alice", seed=42)], assignment=ASSIGNMENT,
                              title="t")

    assert "2.14.1 (1)" in page  # torch
    assert "<td>alice</td><td>42</td>" in page


def test_report_of_no_results_still_renders():
    page = render_html_report([], assignment=ASSIGNMENT, title="Nothing yet")

    assert "Nothing yet" in page and "No test results" in page


# --- grader report ---------------------------------------------------------------------------


def main_report(argv: list[str]) -> int:
    """`grader report ...`; the project's grader.yaml unless the arguments name another."""
    config = [] if "--config" in argv else ["--config", str(ROOT / "grader.yaml")]
    return cli_main(["report", *argv, *config])


def test_main_report_writes_gradebook_report_and_feedback_per_student(tmp_path):
    paths = write_results(tmp_path / "out", class_results())

    code = main_report([ASSIGNMENT, "--results", str(tmp_path / "out"),
                        "--out", str(tmp_path / "reports")])

    assert code == 0
    assert (tmp_path / "reports" / "gradebook.csv").is_file()
    assert (tmp_path / "reports" / "report.html").is_file()
    for path in paths:
        assert (path.parent / "feedback.md").is_file()
        assert (path.parent / "feedback.html").is_file()


def test_main_report_defaults_its_output_to_the_assignment_folder(tmp_path):
    write_results(tmp_path, [make_result("alice")])

    assert main_report([ASSIGNMENT, "--results", str(tmp_path)]) == 0
    assert (tmp_path / ASSIGNMENT / "gradebook.csv").is_file()


def test_main_report_reports_unreadable_results_and_exits_nonzero(tmp_path, capsys):
    write_results(tmp_path, [make_result("alice"), make_result("bob")])
    (tmp_path / ASSIGNMENT / "bob" / "results.json").write_text("{broken", "utf-8")

    code = main_report([ASSIGNMENT, "--results", str(tmp_path)])

    assert code == 1
    assert "bob" in capsys.readouterr().err
    rows = read_csv(tmp_path / ASSIGNMENT / "gradebook.csv")
    assert [r[:4] for r in rows[1:]] == [["alice", "2", "4", "ok"],
                                         ["bob", "", "4", "not graded"]]  # never a 0
    assert "could not be read" in (tmp_path / ASSIGNMENT / "report.html").read_text("utf-8")


def test_main_report_fails_when_there_are_no_results(tmp_path, capsys):
    assert main_report([ASSIGNMENT, "--results", str(tmp_path)]) == 1
    assert "no results" in capsys.readouterr().err


def test_main_report_reads_due_date_and_title_from_config(tmp_path):
    write_results(tmp_path / "out", [make_result("alice", late=True)])
    config = tmp_path / "grader.yaml"
    config.write_text(f"assignments:\n  {ASSIGNMENT}:\n    title: Softmax and friends\n"
                      "    module: softmax\n    points: 30\n"
                      "    due: 2026-11-30T23:59:00+00:00\n", "utf-8")

    main_report([ASSIGNMENT, "--results", str(tmp_path / "out"), "--config", str(config)])

    folder = tmp_path / "out" / ASSIGNMENT
    assert "late" in read_csv(folder / "gradebook.csv")[0]
    assert "<title>Softmax and friends</title>" in (folder / "report.html").read_text("utf-8")


@pytest.mark.parametrize(("submitted_at", "late"), [
    ("2026-11-30T22:59:59+00:00", "no"),  # 23:59:59 in Berlin: still on the due day
    ("2026-11-30T23:00:00+00:00", "yes"),  # 00:00 on 1 December in Berlin
])
def test_report_takes_a_bare_due_date_as_the_end_of_the_day_in_the_course_zone(
        tmp_path, submitted_at, late):
    write_results(tmp_path, [make_result("alice", submitted_at=submitted_at)])
    config = tmp_path / "grader.yaml"
    config.write_text(f"defaults:\n  timezone: Europe/Berlin\nassignments:\n  {ASSIGNMENT}:\n"
                      "    module: softmax\n    points: 30\n    due: 2026-11-30\n", "utf-8")

    main_report([ASSIGNMENT, "--results", str(tmp_path), "--config", str(config)])

    header, row = read_csv(tmp_path / ASSIGNMENT / "gradebook.csv")
    assert row[header.index("late")] == late


def test_due_flag_overrides_config(tmp_path):
    write_results(tmp_path, [make_result(
        "alice", submitted_at="2026-11-29T00:00:00+00:00")])
    config = tmp_path / "grader.yaml"
    config.write_text(f"assignments:\n  {ASSIGNMENT}:\n    module: softmax\n    points: 30\n"
                      "    due: 2026-12-31\n", "utf-8")

    main_report([ASSIGNMENT, "--results", str(tmp_path), "--config", str(config),
                 "--due", "2026-11-01T00:00:00Z"])

    header, row = read_csv(tmp_path / ASSIGNMENT / "gradebook.csv")
    assert row[header.index("late")] == "yes"


def test_main_report_rejects_an_assignment_missing_from_config_as_a_usage_error(
        tmp_path, capsys):
    write_results(tmp_path, [make_result("alice")])
    config = tmp_path / "grader.yaml"
    config.write_text("assignments:\n  a1_backprop:\n    module: backprop\n    points: 40\n",
                      "utf-8")

    assert main_report([ASSIGNMENT, "--results", str(tmp_path), "--config", str(config)]) == 2
    assert ASSIGNMENT in capsys.readouterr().err


def test_main_report_rejects_a_malformed_due_date(tmp_path):
    write_results(tmp_path, [make_result("alice")])

    assert main_report([ASSIGNMENT, "--results", str(tmp_path), "--due", "next friday"]) == 2


def test_feedback_written_by_main_report_hides_hidden_tests(tmp_path):
    secret = make_test("test_secret", passed=False, visibility="hidden", output="SECRET")
    [path] = write_results(tmp_path, [make_result("alice", [make_test("test_a"), secret])])

    main_report([ASSIGNMENT, "--results", str(tmp_path), "--published"])

    assert "SECRET" not in (path.parent / "feedback.md").read_text("utf-8")
    assert "SECRET" not in (path.parent / "feedback.html").read_text("utf-8")


def test_main_report_has_help(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli_main(["report", "--help"])
    assert exit_info.value.code == 0
    assert "--results" in capsys.readouterr().out
