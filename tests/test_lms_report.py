"""Gradebook with a roster and batch entries, and the LMS grade-import CSVs."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from lms_exports import roster
from results_factory import ASSIGNMENT, make_result, write_results

from grader.cli import main as cli_main
from grader.course.config import load_config
from grader.intake.identity import load_roster
from grader.reports.gradebook import with_roster_and_entries, write_gradebook
from grader.results.store import BATCH_ENTRIES

ROOT = Path(__file__).resolve().parent.parent
TITLE = load_config(ROOT / "grader.yaml").assignment(ASSIGNMENT).title  # the LMS column


def main_report(argv: list[str]) -> int:
    """`grader report ...`; the project's grader.yaml unless the arguments name another."""
    config = [] if "--config" in argv else ["--config", str(ROOT / "grader.yaml")]
    return cli_main(["report", *argv, *config])


ROSTER_ROWS = [("s001", "Ann Lee", "ann@u.edu", "11", "alee", "L01"),
               ("s002", "Bo Li", "bo@u.edu", "12", "bli", "L02"),
               ("s003", "Cy Ng", "cy@u.edu", "13", "cng", "L01")]


def read_csv(path: Path) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.reader(f))


def class_folder(tmp: Path, entries: list[dict] | None = None) -> Path:
    """Results of s001 (graded, with an older attempt) and a refused entry; s002, s003 have
    none. Returns the roster path."""
    write_results(tmp / "out", [make_result("s001", score=4.0, display_name="Ann Lee",
                                            lms_id="11")])
    records = entries if entries is not None else [
        {"entry": "lee_11_1_backprop.py", "status": "graded", "student_id": "s001"},
        {"entry": "lee_11_1_backprop-1.py", "status": "superseded", "student_id": "s001",
         "reason": "an older attempt"},
        {"entry": "notes.txt", "status": "refused", "student_id": "",
         "reason": "unknown file type .txt"},
    ]
    (tmp / "out" / ASSIGNMENT / BATCH_ENTRIES).write_text(json.dumps({"entries": records}))
    return roster(tmp / "roster.csv", ROSTER_ROWS)


def test_every_roster_student_gets_a_row_missing_ones_with_status_missing_and_zero(
        tmp_path: Path) -> None:
    people = load_roster(class_folder(tmp_path))
    rows = with_roster_and_entries([make_result("s001")], people, [])
    write_gradebook(rows, tmp_path / "gradebook.csv", due=None)
    table = read_csv(tmp_path / "gradebook.csv")
    status, total = table[0].index("status"), table[0].index("total")
    got = {r[0]: (r[status], r[total]) for r in table[1:]}
    assert got["s002"] == ("missing", "0") and got["s003"] == ("missing", "0")
    assert got["s001"][0] == "ok"


def test_a_group_member_gets_the_groups_result(tmp_path: Path) -> None:
    people = load_roster(roster(tmp_path / "r.csv", ROSTER_ROWS))
    group = make_result("s001", members=["s001", "s003"])
    rows = {r["student_id"]: r for r in with_roster_and_entries([group], people, [])}
    assert rows["s003"]["score"] == group["score"] and rows["s003"]["status"] == "ok"
    assert rows["s002"]["status"] == "missing"


def test_superseded_and_refused_entries_are_listed_in_the_gradebook(tmp_path: Path) -> None:
    class_folder(tmp_path)
    assert main_report([ASSIGNMENT, "--results", str(tmp_path / "out")]) == 0
    table = read_csv(tmp_path / "out" / ASSIGNMENT / "gradebook.csv")
    notes = table[0].index("notes")
    rows = {r[0]: r for r in table[1:]}
    assert "superseded: lee_11_1_backprop-1.py" in rows["s001"][notes]
    assert rows["notes.txt"][table[0].index("status")] == "refused"
    assert "unknown file type .txt" in rows["notes.txt"][notes]


def test_report_html_lists_entries_not_graded_and_missing_students(tmp_path: Path) -> None:
    roster_path = class_folder(tmp_path)
    main_report([ASSIGNMENT, "--results", str(tmp_path / "out"), "--roster", str(roster_path)])
    page = (tmp_path / "out" / ASSIGNMENT / "report.html").read_text("utf-8")
    assert "lee_11_1_backprop-1.py" in page and "unknown file type .txt" in page
    assert "Roster students without a submission (2)" in page
    assert "s002 <span class='name'>(Bo Li)</span>, s003" in page


def test_the_roster_comes_from_the_config_when_not_given(tmp_path: Path) -> None:
    class_folder(tmp_path)
    config = tmp_path / "grader.yaml"
    config.write_text(f"defaults:\n  roster: roster.csv\nassignments:\n  {ASSIGNMENT}:\n"
                      "    module: softmax\n    points: 5\n")
    main_report([ASSIGNMENT, "--results", str(tmp_path / "out"), "--config", str(config)])
    ids = [r[0] for r in read_csv(tmp_path / "out" / ASSIGNMENT / "gradebook.csv")[1:]]
    assert {"s001", "s002", "s003"} <= set(ids)


def test_canvas_export_has_canvas_columns_and_a_row_per_roster_student(tmp_path: Path) -> None:
    roster_path = class_folder(tmp_path)
    code = main_report([ASSIGNMENT, "--results", str(tmp_path / "out"), "--roster",
                        str(roster_path), "--format", "canvas"])
    assert code == 0
    table = read_csv(tmp_path / "out" / ASSIGNMENT / "canvas_grades.csv")
    assert table[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", TITLE]
    rows = {r[2]: r for r in table[1:]}
    assert rows["s001"] == ["Ann Lee", "11", "s001", "alee", "L01", "4"]
    assert rows["s002"][-1] == "0" and rows["s003"][1] == "13"
    assert "notes.txt" not in rows  # a refused entry is no student of the LMS


def test_moodle_export_identifies_students_by_id_number_and_email(tmp_path: Path) -> None:
    roster_path = class_folder(tmp_path)
    main_report([ASSIGNMENT, "--results", str(tmp_path / "out"), "--roster", str(roster_path),
                 "--format", "moodle"])
    table = read_csv(tmp_path / "out" / ASSIGNMENT / "moodle_grades.csv")
    assert table[0] == ["ID number", "Email address", "Full name", TITLE]
    assert ["s001", "ann@u.edu", "Ann Lee", "4"] in table
    assert ["s002", "bo@u.edu", "Bo Li", "0"] in table


def test_a_bad_roster_is_a_usage_error_of_grader_report(tmp_path: Path, capsys) -> None:
    class_folder(tmp_path)
    bad = roster(tmp_path / "bad.csv", [("s1", "A", "", "1", "", ""),
                                        ("s1", "B", "", "2", "", "")])
    code = main_report([ASSIGNMENT, "--results", str(tmp_path / "out"), "--roster", str(bad)])
    assert code == 2 and "bad.csv:3" in capsys.readouterr().err


def test_grader_report_cli_writes_the_lms_file(tmp_path: Path) -> None:
    roster_path = class_folder(tmp_path)
    code = cli_main(["report", ASSIGNMENT, "--results", str(tmp_path / "out"), "--roster",
                     str(roster_path), "--format", "canvas", "--format", "moodle"])
    assert code == 0
    assert (tmp_path / "out" / ASSIGNMENT / "canvas_grades.csv").is_file()
    assert (tmp_path / "out" / ASSIGNMENT / "moodle_grades.csv").is_file()


def test_an_unknown_lms_format_is_refused(tmp_path: Path, capsys) -> None:
    class_folder(tmp_path)
    with pytest.raises(SystemExit) as info:
        main_report([ASSIGNMENT, "--results", str(tmp_path / "out"), "--format", "sakai"])
    assert info.value.code == 2 and "invalid choice: 'sakai'" in capsys.readouterr().err


# --- interrupted batches: an entry without a result is "not graded", never 0 --------------

INTERRUPTED_ENTRIES = [
    {"entry": "lee_11_1_backprop.py", "status": "graded", "student_id": "s001"},
    {"entry": "li_12_2_backprop.py", "status": "not graded", "student_id": "s002",
     "reason": "the batch was interrupted (Ctrl-C) before this submission was graded"},
    {"entry": "ng_13_3_backprop.py", "status": "graded", "student_id": "s003"},  # old file
]


def interrupted_class(tmp: Path) -> Path:
    roster_path = class_folder(tmp, INTERRUPTED_ENTRIES)
    path = tmp / "out" / ASSIGNMENT / BATCH_ENTRIES
    path.write_text(json.dumps({"interrupted": True, "entries": INTERRUPTED_ENTRIES}))
    return roster_path


def test_a_submission_without_a_result_is_not_graded_with_a_blank_total(tmp_path: Path) -> None:
    interrupted_class(tmp_path)
    main_report([ASSIGNMENT, "--results", str(tmp_path / "out")])
    table = read_csv(tmp_path / "out" / ASSIGNMENT / "gradebook.csv")
    status, total = table[0].index("status"), table[0].index("total")
    rows = {r[0]: r for r in table[1:]}
    assert (rows["s002"][status], rows["s002"][total]) == ("not graded", "")
    assert (rows["s003"][status], rows["s003"][total]) == ("not graded", "")
    assert "interrupted (Ctrl-C)" in rows["s002"][table[0].index("notes")]


@pytest.mark.parametrize("fmt", ["canvas", "moodle"])
def test_lms_files_leave_the_grade_of_a_submission_not_graded_blank(tmp_path: Path,
                                                                     fmt: str) -> None:
    roster_path = interrupted_class(tmp_path)
    main_report([ASSIGNMENT, "--results", str(tmp_path / "out"), "--roster", str(roster_path),
                 "--format", fmt])
    table = read_csv(tmp_path / "out" / ASSIGNMENT / f"{fmt}_grades.csv")
    grades = {r[2] if fmt == "canvas" else r[0]: r[-1] for r in table[1:]}
    assert grades == {"s001": "4", "s002": "", "s003": ""}


def test_grader_report_says_how_many_are_not_graded_and_why_and_exits_1(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    interrupted_class(tmp_path)
    code = main_report([ASSIGNMENT, "--results", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 1
    assert "2 submission(s) not graded, their grade left blank" in err
    assert "interrupted (Ctrl-C)" in err and "grading did not finish" in err


def test_report_html_warns_that_the_batch_was_interrupted_and_results_are_missing(
        tmp_path: Path) -> None:
    interrupted_class(tmp_path)
    main_report([ASSIGNMENT, "--results", str(tmp_path / "out")])
    page = (tmp_path / "out" / ASSIGNMENT / "report.html").read_text("utf-8")
    assert "⚠ The last grading batch was interrupted before it finished." in page
    assert "⚠ 2 submission(s) have no result" in page
    assert "Submissions not graded (2)" in page and "1 results, 2 not graded" in page


def test_a_newer_submission_not_graded_is_noted_beside_the_earlier_result(
        tmp_path: Path) -> None:
    class_folder(tmp_path, [{"entry": "lee_11_2_backprop.py", "status": "not graded",
                             "student_id": "s001", "reason": "the batch was interrupted"}])
    main_report([ASSIGNMENT, "--results", str(tmp_path / "out")])
    table = read_csv(tmp_path / "out" / ASSIGNMENT / "gradebook.csv")
    row = table[1]
    assert row[table[0].index("total")] == "4"
    assert "the score is of an earlier submission" in row[table[0].index("notes")]


# --- group submissions: every member has a row -------------------------------------------

def test_every_group_member_gets_the_groups_row_without_a_roster(tmp_path: Path) -> None:
    group = make_result("s2", members=["s2", "s3"], display_name="Bo Li, Cy Ng")
    write_results(tmp_path / "out", [group])
    main_report([ASSIGNMENT, "--results", str(tmp_path / "out")])
    table = read_csv(tmp_path / "out" / ASSIGNMENT / "gradebook.csv")
    rows = {r[0]: r for r in table[1:]}
    assert sorted(rows) == ["s2", "s3"]
    assert rows["s3"][1] == rows["s2"][1] == "2" and rows["s3"][3] == "ok"
    assert "group submission handed in as s2" in rows["s3"][table[0].index("notes")]


def test_every_group_member_gets_their_own_row_and_name_in_the_lms_file(tmp_path: Path) -> None:
    roster_path = roster(tmp_path / "roster.csv", ROSTER_ROWS)
    write_results(tmp_path / "out", [make_result("s002", members=["s002", "s003"],
                                                 display_name="Bo Li, Cy Ng", lms_id="12")])
    main_report([ASSIGNMENT, "--results", str(tmp_path / "out"), "--roster", str(roster_path),
                 "--format", "canvas"])
    table = read_csv(tmp_path / "out" / ASSIGNMENT / "canvas_grades.csv")
    rows = {r[2]: r for r in table[1:]}
    assert rows["s002"] == ["Bo Li", "12", "s002", "bli", "L02", "2"]
    assert rows["s003"] == ["Cy Ng", "13", "s003", "cng", "L01", "2"]
    assert rows["s001"][-1] == "0"  # on the roster, no submission


# --- report.html: names, links, counts ----------------------------------------------------

def test_report_html_shows_roster_names_and_links_each_student_to_their_feedback(
        tmp_path: Path) -> None:
    roster_path = class_folder(tmp_path)
    main_report([ASSIGNMENT, "--results", str(tmp_path / "out"), "--roster", str(roster_path)])
    page = (tmp_path / "out" / ASSIGNMENT / "report.html").read_text("utf-8")
    assert "<a href='s001/feedback.html'>s001</a> <span class='name'>(Ann Lee)</span>" in page
    assert (tmp_path / "out" / ASSIGNMENT / "s001" / "feedback.html").is_file()


def test_report_html_links_to_feedback_from_another_output_folder(tmp_path: Path) -> None:
    class_folder(tmp_path)
    main_report([ASSIGNMENT, "--results", str(tmp_path / "out"), "--out",
                 str(tmp_path / "web")])
    page = (tmp_path / "web" / "report.html").read_text("utf-8")
    assert f"<a href='../out/{ASSIGNMENT}/s001/feedback.html'>s001</a>" in page


def test_report_html_header_counts_roster_students_without_a_submission(tmp_path: Path) -> None:
    roster_path = class_folder(tmp_path)
    main_report([ASSIGNMENT, "--results", str(tmp_path / "out"), "--roster", str(roster_path)])
    page = (tmp_path / "out" / ASSIGNMENT / "report.html").read_text("utf-8")
    assert "1 results, 2 roster students without a submission" in page


def test_a_student_folder_without_its_results_is_not_graded_not_missing(tmp_path: Path) -> None:
    roster_path = class_folder(tmp_path, [])
    (tmp_path / "out" / ASSIGNMENT / "s002").mkdir()  # grading started, never finished
    main_report([ASSIGNMENT, "--results", str(tmp_path / "out"), "--roster", str(roster_path),
                 "--format", "canvas"])
    grades = {r[2]: r[-1] for r in read_csv(tmp_path / "out" / ASSIGNMENT /
                                            "canvas_grades.csv")[1:]}
    assert grades == {"s001": "4", "s002": "", "s003": "0"}
