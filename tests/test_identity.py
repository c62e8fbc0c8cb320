"""Student identity: LMS presets, roster, distinct ids and an account of every batch entry."""

from __future__ import annotations

from pathlib import Path

import pytest
from lms_exports import CODE, blackboard, canvas, gradescope, moodle, roster, touch

from grader.course.config import ConfigError, load_config
from grader.intake.identity import (
    IdentityError,
    assign_ids,
    is_single_submission,
    load_roster,
    plan_batch,
    safe_id,
)

MODULE = "backprop"


def fates(plan) -> dict[str, tuple[str, str]]:
    """entry name -> (status, student_id)."""
    return {e.path.name: (e.status, e.student_id) for e in plan.entries}


def graded_ids(plan) -> list[str]:
    return sorted(e.student_id for e in plan.graded())


# --- ids on disk ---------------------------------------------------------------------------

def test_a_trailing_underscore_is_not_dropped_so_alice_and_alice_underscore_stay_apart() -> None:
    assert safe_id("alice_") != safe_id("alice")


def test_non_ascii_names_are_kept_not_collapsed_to_one_id() -> None:
    assert safe_id("Zoë Müller") == "Zoë_Müller"
    assert safe_id("张伟") != safe_id("李娜")


def test_a_name_with_nothing_safe_in_it_gets_a_hash_not_a_shared_placeholder() -> None:
    assert safe_id("🙂") != safe_id("🙃") and safe_id("🙂").startswith("student-")


def test_ids_are_never_hidden_or_option_like() -> None:
    assert not safe_id("..secret").startswith(".") and not safe_id("-rf").startswith("-")


def test_ids_fit_in_a_file_name() -> None:
    assert len(safe_id("ü" * 500).encode()) <= 120


def test_keys_whose_safe_ids_clash_are_disambiguated_with_a_warning() -> None:
    ids, warnings = assign_ids(["alice bob", "alice/bob", "Alice_Bob"])
    assert len({i.casefold() for i in ids.values()}) == 3
    assert len(warnings) == 2 and "same folder name" in warnings[0]


# --- stem rule and the batch-versus-single decision ----------------------------------------

def test_py_ipynb_and_a_stray_space_of_one_student_grade_the_latest_and_supersede_the_rest(
        tmp_path: Path) -> None:
    touch(tmp_path / "alice.py", mtime=1000)
    touch(tmp_path / "alice.ipynb", "{}", mtime=3000)
    touch(tmp_path / "alice .py", mtime=2000)
    plan = plan_batch(tmp_path, MODULE)
    assert fates(plan) == {"alice.py": ("superseded", "alice"),
                           "alice .py": ("superseded", "alice"),
                           "alice.ipynb": ("graded", "alice")}
    assert all("alice.ipynb is graded" in e.reason for e in plan.entries
               if e.status == "superseded")


def test_alice_and_alice_underscore_are_two_students(tmp_path: Path) -> None:
    touch(tmp_path / "alice.py")
    touch(tmp_path / "alice_.py")
    assert graded_ids(plan_batch(tmp_path, MODULE)) == ["alice", "alice_"]


def test_two_non_ascii_names_are_two_students_and_keep_their_names(tmp_path: Path) -> None:
    touch(tmp_path / "张伟.py")
    touch(tmp_path / "李娜.py")
    plan = plan_batch(tmp_path, MODULE)
    assert graded_ids(plan) == ["张伟", "李娜"]
    assert sorted(e.display_name for e in plan.graded()) == ["张伟", "李娜"]


def test_names_that_differ_only_in_case_get_distinct_folders(tmp_path: Path) -> None:
    touch(tmp_path / "Bob.py")
    touch(tmp_path / "bob.py")
    plan = plan_batch(tmp_path, MODULE)
    assert len({i.casefold() for i in graded_ids(plan)}) == 2 and plan.warnings


def test_a_txt_file_in_a_batch_is_refused_with_its_type_named(tmp_path: Path) -> None:
    touch(tmp_path / "alice.py")
    touch(tmp_path / "readme.txt", "hi")
    entry = {e.path.name: e for e in plan_batch(tmp_path, MODULE).entries}["readme.txt"]
    assert entry.status == "refused" and "unknown file type .txt" in entry.reason


def test_an_unreadable_entry_is_refused_with_a_reason(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    touch(tmp_path / "alice.py")
    touch(tmp_path / "bob.py")
    real_stat = Path.stat

    def stat(self: Path, **kwargs):  # what a permission problem on the LMS share looks like
        if self.name == "bob.py":
            raise PermissionError(13, "Permission denied")
        return real_stat(self, **kwargs)

    monkeypatch.setattr(Path, "stat", stat)
    entry = {e.path.name: e for e in plan_batch(tmp_path, MODULE).entries}["bob.py"]
    assert entry.status == "refused" and "unreadable: Permission denied" in entry.reason


def test_a_link_in_a_batch_is_refused(tmp_path: Path) -> None:
    touch(tmp_path / "alice.py")
    (tmp_path / "mallory.py").symlink_to("/etc/passwd")
    entry = {e.path.name: e for e in plan_batch(tmp_path, MODULE).entries}["mallory.py"]
    assert entry.status == "refused" and "link" in entry.reason


def test_os_litter_is_not_an_entry(tmp_path: Path) -> None:
    touch(tmp_path / "alice.py")
    touch(tmp_path / ".DS_Store", "")
    (tmp_path / "__MACOSX").mkdir()
    assert [e.path.name for e in plan_batch(tmp_path, MODULE).entries] == ["alice.py"]


def test_a_batch_holding_a_file_named_like_the_module_is_still_a_batch(tmp_path: Path) -> None:
    touch(tmp_path / "backprop.py")
    touch(tmp_path / "alice.py")
    touch(tmp_path / "bob.ipynb", "{}")
    assert not is_single_submission(tmp_path, MODULE)
    assert graded_ids(plan_batch(tmp_path, MODULE)) == ["alice", "backprop", "bob"]


def test_a_folder_with_the_module_and_a_helper_file_is_one_submission(tmp_path: Path) -> None:
    touch(tmp_path / "backprop.py")
    touch(tmp_path / "helpers.py", "def clip(x):\n    return x\n")
    touch(tmp_path / "notes.txt", "")
    assert is_single_submission(tmp_path, MODULE)
    assert [e.source for e in plan_batch(tmp_path, MODULE).entries] == [tmp_path]


def test_a_py_sibling_defining_the_modules_functions_makes_the_folder_a_batch(
        tmp_path: Path) -> None:
    touch(tmp_path / "backprop.py")
    touch(tmp_path / "alice.py")  # the same relu: another student's copy of the module
    assert not is_single_submission(tmp_path, MODULE)


def test_a_module_in_upper_case_is_recognised(tmp_path: Path) -> None:
    touch(tmp_path / "Backprop.PY")
    assert is_single_submission(tmp_path, MODULE)


def test_a_nested_folder_is_followed_down_to_the_code(tmp_path: Path) -> None:
    touch(tmp_path / "alice" / "a1_backprop" / "backprop.py")
    touch(tmp_path / "bob" / "backprop.py")
    sources = {e.student_id: e.source for e in plan_batch(tmp_path, MODULE).entries}
    assert sources["alice"] == tmp_path / "alice" / "a1_backprop"
    assert sources["bob"] == tmp_path / "bob"


def test_an_upper_case_code_file_in_a_nested_folder_is_what_gets_staged(tmp_path: Path) -> None:
    touch(tmp_path / "alice" / "a1_backprop" / "Backprop.PY")
    touch(tmp_path / "bob.py")
    sources = {e.student_id: e.source for e in plan_batch(tmp_path, MODULE).entries}
    assert sources["alice"] == tmp_path / "alice" / "a1_backprop" / "Backprop.PY"


def test_parent_rule_names_batch_folders_by_their_own_name_not_the_batch(tmp_path: Path) -> None:
    for who in ("ann", "ben", "cy"):
        touch(tmp_path / "batch" / who / "work.py")
    assert graded_ids(plan_batch(tmp_path / "batch", MODULE, "parent")) == ["ann", "ben", "cy"]


def test_parent_rule_names_a_lone_file_by_its_folder(tmp_path: Path) -> None:
    src = touch(tmp_path / "sam" / "work.py")
    assert graded_ids(plan_batch(src, MODULE, "parent")) == ["sam"]


# --- Canvas --------------------------------------------------------------------------------

def test_canvas_files_of_one_user_are_one_student_latest_attempt_graded(tmp_path: Path) -> None:
    canvas(tmp_path, "smithjohn", 12345, 67890, "backprop.py")
    canvas(tmp_path, "smithjohn", 12345, 67890, "backprop-1.py")
    canvas(tmp_path, "doejane", 222, 333, "backprop.py")
    plan = plan_batch(tmp_path, MODULE, "canvas")
    assert fates(plan) == {
        "smithjohn_12345_67890_backprop.py": ("superseded", "12345"),
        "smithjohn_12345_67890_backprop-1.py": ("graded", "12345"),
        "doejane_222_333_backprop.py": ("graded", "222"),
    }


def test_a_second_file_of_one_canvas_attempt_is_superseded_saying_so(tmp_path: Path) -> None:
    canvas(tmp_path, "smithjohn", 12345, 67890, "backprop.py")
    canvas(tmp_path, "smithjohn", 12345, 67890, "helpers.py")
    plan = plan_batch(tmp_path, MODULE, "canvas")
    older = next(e for e in plan.entries if e.status == "superseded")
    assert "another file of the same attempt" in older.reason and len(plan.graded()) == 1


def test_canvas_late_marker_sets_late(tmp_path: Path) -> None:
    canvas(tmp_path, "smithjohn", 12345, 67890, "backprop.py", late=True)
    canvas(tmp_path, "doejane", 222, 333, "backprop.py")
    late = {e.display_name: e.late for e in plan_batch(tmp_path, MODULE, "canvas").graded()}
    assert late == {"smithjohn": True, "doejane": False}


def test_canvas_names_that_do_not_follow_the_scheme_are_refused(tmp_path: Path) -> None:
    canvas(tmp_path, "doejane", 222, 333, "backprop.py")
    touch(tmp_path / "backprop.py")
    entry = {e.path.name: e for e in plan_batch(tmp_path, MODULE, "canvas").entries}
    assert entry["backprop.py"].status == "refused"
    assert "student_id rule" in entry["backprop.py"].reason


def test_canvas_ids_map_to_course_ids_through_the_roster(tmp_path: Path) -> None:
    canvas(tmp_path / "b", "smithjohn", 12345, 67890, "backprop.py")
    canvas(tmp_path / "b", "stranger", 999, 1, "backprop.py")
    people = load_roster(roster(tmp_path / "r.csv", [("s001", "John Smith", "js@u.edu",
                                                      "12345", "jsmith", "L01")]))
    plan = plan_batch(tmp_path / "b", MODULE, "canvas", people)
    by_id = {e.student_id: e for e in plan.graded()}
    assert by_id["s001"].display_name == "John Smith" and by_id["s001"].lms_id == "12345"
    assert "not on the roster" in by_id["999"].warnings[0]


# --- Moodle --------------------------------------------------------------------------------

def test_moodle_folders_are_one_student_each_with_their_unicode_names(tmp_path: Path) -> None:
    moodle(tmp_path, "Zoë Müller", 77, {"backprop.py": CODE})
    moodle(tmp_path, "José Núñez", 78, {"a1/backprop.py": CODE})
    plan = plan_batch(tmp_path, MODULE, "moodle")
    assert graded_ids(plan) == ["77", "78"]
    assert sorted(e.display_name for e in plan.graded()) == ["José Núñez", "Zoë Müller"]


def test_moodle_folders_as_current_moodle_names_them(tmp_path: Path) -> None:
    """Moodle 3.1+ writes ``<name>_<id>_assignsubmission_file/`` with no trailing ``_``."""
    moodle(tmp_path, "Ann Lee", 5, {"backprop.py": CODE}, suffix="")
    moodle(tmp_path, "Bo Li", 6, {"backprop.py": CODE}, suffix="")
    plan = plan_batch(tmp_path, MODULE, "moodle")
    assert sorted(e.display_name for e in plan.graded()) == ["Ann Lee", "Bo Li"]


def test_moodle_online_text_is_refused_as_not_code(tmp_path: Path) -> None:
    moodle(tmp_path, "Ann Lee", 5, {"backprop.py": CODE})
    moodle(tmp_path, "Ann Lee", 5, {"onlinetext.html": "<p>hi</p>"}, plugin="onlinetext")
    plan = plan_batch(tmp_path, MODULE, "moodle")
    statuses = sorted(e.status for e in plan.entries)
    assert statuses == ["graded", "refused"]
    assert "online text" in next(e.reason for e in plan.entries if e.status == "refused")


# --- Blackboard ----------------------------------------------------------------------------

def test_blackboard_receipts_are_accounted_and_the_latest_attempt_graded(tmp_path: Path) -> None:
    blackboard(tmp_path, "A1_Backprop", "jsmith", "2026-11-20-10-00-00", "backprop.py",
               full_name="John Smith")
    blackboard(tmp_path, "A1_Backprop", "jsmith", "2026-11-21-09-30-00", "backprop.py",
               full_name="John Smith")
    plan = plan_batch(tmp_path, MODULE, "blackboard")
    assert sorted(e.status for e in plan.entries) == ["graded", "receipt", "receipt",
                                                      "superseded"]
    graded = plan.graded()[0]
    assert graded.student_id == "jsmith" and "2026-11-21" in graded.path.name


def test_blackboard_receipt_names_the_student(tmp_path: Path) -> None:
    blackboard(tmp_path, "A1", "jsmith", "2026-11-20-10-00-00", "backprop.py",
               full_name="John Smith")
    receipt = next(e for e in plan_batch(tmp_path, MODULE, "blackboard").entries
                   if e.status == "receipt")
    assert receipt.display_name == "John Smith"


# --- Gradescope ----------------------------------------------------------------------------

def test_gradescope_submitters_come_from_the_metadata(tmp_path: Path) -> None:
    gradescope(tmp_path, {101: [("Ann Lee", "s1", "ann@u.edu")],
                          102: [("Bo Li", "s2", "bo@u.edu"), ("Cy Ng", "s3", "cy@u.edu")]})
    plan = plan_batch(tmp_path, MODULE, "gradescope")
    by_id = {e.student_id: e for e in plan.graded()}
    assert sorted(by_id) == ["s1", "s2"]
    assert by_id["s2"].members == ("s2", "s3") and by_id["s2"].display_name == "Bo Li, Cy Ng"
    assert [e.status for e in plan.entries if e.path.name.endswith(".yml")] == ["receipt"]


# --- regex ---------------------------------------------------------------------------------

def test_a_regex_rule_takes_id_name_and_attempt_from_named_groups(tmp_path: Path) -> None:
    touch(tmp_path / "hw1-u17-Ann-try2.py")
    touch(tmp_path / "hw1-u17-Ann-try10.py")
    touch(tmp_path / "random.py")
    rule = r"regex:hw1-(?P<id>u\d+)-(?P<name>[^-]+)-try(?P<attempt>\d+)\.py"
    plan = plan_batch(tmp_path, MODULE, rule)
    assert fates(plan)["hw1-u17-Ann-try10.py"] == ("graded", "u17")
    assert fates(plan)["hw1-u17-Ann-try2.py"] == ("superseded", "u17")
    assert fates(plan)["random.py"][0] == "refused"


# --- configuration and roster validation ---------------------------------------------------

CONFIG = "defaults:\n  student_id: {rule}\n{extra}assignments:\n  a1:\n    module: backprop\n" \
         "    points: 10\n"


def test_every_preset_is_accepted_in_grader_yaml(tmp_path: Path) -> None:
    for rule in ("stem", "parent", "canvas", "moodle", "blackboard", "gradescope",
                 "'regex:(?P<id>\\w+)\\.py'"):
        (tmp_path / "grader.yaml").write_text(CONFIG.format(rule=rule, extra=""))
        assert load_config(tmp_path / "grader.yaml").assignment("a1").student_id.strip("'")


@pytest.mark.parametrize(("rule", "message"), [
    ("lms", "expected one of stem, parent, canvas"),
    ("'regex:(?P<who>\\w+)'", "named group (?P<id>"),
    ("'regex:(unclosed'", "not a valid regular expression"),
])
def test_a_bad_student_id_rule_names_the_line(tmp_path: Path, rule: str, message: str) -> None:
    (tmp_path / "grader.yaml").write_text(CONFIG.format(rule=rule, extra=""))
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path / "grader.yaml")
    assert str(info.value).startswith("grader.yaml:2: defaults.student_id") \
        and message in str(info.value)


def test_the_roster_is_loaded_with_the_config(tmp_path: Path) -> None:
    roster(tmp_path / "roster.csv", [("s001", "Ann", "ann@u.edu", "11;12", "", "")])
    (tmp_path / "grader.yaml").write_text(CONFIG.format(rule="canvas",
                                                        extra="  roster: roster.csv\n"))
    cfg = load_config(tmp_path / "grader.yaml").assignment("a1")
    assert cfg.roster is not None and cfg.roster.lookup("12").student_id == "s001"


@pytest.mark.parametrize(("rows", "message"), [
    ([("s001", "Ann", "", "11", "", ""), ("s001", "Bob", "", "12", "", "")],
     "roster.csv:3: 's001' already names the student on line 2"),
    ([("s001", "Ann", "", "11", "", ""), ("s002", "Bob", "", "11", "", "")],
     "roster.csv:3: '11' already names the student on line 2"),
    ([("", "Ann", "", "11", "", "")], "roster.csv:2: student_id is empty"),
])
def test_a_bad_roster_is_refused_naming_its_line(tmp_path: Path, rows, message: str) -> None:
    roster(tmp_path / "roster.csv", rows)
    (tmp_path / "grader.yaml").write_text(CONFIG.format(rule="canvas",
                                                        extra="  roster: roster.csv\n"))
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path / "grader.yaml")
    assert "grader.yaml:3: defaults.roster" in str(info.value) and message in str(info.value)


def test_a_roster_without_a_student_id_column_is_refused(tmp_path: Path) -> None:
    path = roster(tmp_path / "r.csv", [("Ann",)], header="name")
    with pytest.raises(IdentityError, match=r"r\.csv:1: header must name student_id"):
        load_roster(path)


def test_a_latin_1_roster_is_refused_naming_the_line_and_how_to_save_it(tmp_path: Path) -> None:
    path = tmp_path / "roster.csv"
    path.write_bytes("student_id,name\ns001,Ann Lee\ns002,Zoë Müller\n".encode("latin-1"))
    with pytest.raises(IdentityError) as info:
        load_roster(path)
    assert str(info.value) == ("roster.csv:3: not UTF-8 (byte 0xeb); save the roster as UTF-8 "
                               "(in Excel: Save As > CSV UTF-8)")


def test_a_utf_8_roster_with_a_byte_order_mark_is_read(tmp_path: Path) -> None:
    path = tmp_path / "roster.csv"
    path.write_bytes("student_id,name\ns002,Zoë Müller\n".encode("utf-8-sig"))
    assert load_roster(path).lookup("s002").name == "Zoë Müller"


# --- group submissions -----------------------------------------------------------------------

def test_every_member_of_a_gradescope_group_is_on_the_graded_entry(tmp_path: Path) -> None:
    gradescope(tmp_path, {102: [("Bo Li", "s2", "bo@u.edu"), ("Cy Ng", "", "cy@u.edu")]})
    entry = plan_batch(tmp_path, MODULE, "gradescope").graded()[0]
    assert entry.student_id == "s2" and entry.members == ("s2", "cy@u.edu")
