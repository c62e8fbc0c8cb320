"""The command layer: one parser per subcommand, --help everywhere, one mapping from errors to
exit statuses, and one line (never a traceback) for an error."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

import grader
from grader import cli
from grader.intake.identity import unpack_lms_download
from tests import lms_exports
from tests.conftest import solution_text, stub_text, write_config

ROOT = Path(__file__).resolve().parent.parent
COMMANDS = ["grade", "validate", "release", "check", "report", "similarity", "data",
            "export-gradescope"]


def course(tmp_path: Path, solution: str) -> Path:
    """A one-assignment course in ``tmp_path`` whose solution module is ``solution``."""
    (tmp_path / "solutions" / "a1").mkdir(parents=True)
    (tmp_path / "solutions" / "a1" / "mod.py").write_text(solution)
    config = tmp_path / "grader.yaml"
    config.write_text("assignments:\n  a1:\n    module: mod\n    points: 10\n")
    return config


def test_every_subcommand_is_listed_in_the_top_level_help(capsys) -> None:
    with pytest.raises(SystemExit) as info:
        cli.main(["--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert all(command in out for command in COMMANDS)


@pytest.mark.parametrize("command", COMMANDS)
def test_help_of_a_subcommand_prints_its_usage_and_exits_0(command: str, capsys) -> None:
    with pytest.raises(SystemExit) as info:
        cli.main([command, "--help"])
    assert info.value.code == 0
    assert f"usage: grader {command}" in capsys.readouterr().out


def test_an_unknown_option_is_a_usage_error(capsys) -> None:
    with pytest.raises(SystemExit) as info:
        cli.main(["report", "a2_softmax", "--results", "x", "--colour"])
    assert info.value.code == cli.EXIT_USAGE
    assert "unrecognized arguments: --colour" in capsys.readouterr().err


def test_a_broken_course_config_is_exit_3_in_one_line(tmp_path: Path, capsys) -> None:
    config = tmp_path / "grader.yaml"
    config.write_text("assignments:\n  a1:\n    module: mod\n    points: ten\n")
    assert cli.main(["--config", str(config), "release", "a1"]) == 3
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "grader.yaml:4: assignments.a1.points" in err


def test_config_may_follow_the_subcommand(tmp_path: Path, capsys) -> None:
    config = course(tmp_path, "def f():\n    return 1\n")
    assert cli.main(["release", "a1", "--config", str(config)]) == 0
    assert (tmp_path / "assignments" / "a1" / "mod.py").is_file()


def test_a_bad_solution_marker_in_release_is_one_line_and_exit_3(tmp_path: Path,
                                                                 capsys) -> None:
    config = course(tmp_path, "def f():\n    # BEGIN SOLUTION\n    return 1\n")
    assert cli.main(["--config", str(config), "release", "a1"]) == 3
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "BEGIN SOLUTION is never closed" in err


def test_a_marker_that_breaks_the_stubs_syntax_is_one_line_and_exit_3(tmp_path: Path,
                                                                     capsys) -> None:
    # BEGIN less indented than the `if` it answers: the stub's `if` loses its body.
    config = course(tmp_path, "def f(x):\n    if x:\n# BEGIN SOLUTION\n        return 1\n"
                              "# END SOLUTION\n    return 2\n")
    assert cli.main(["--config", str(config), "release", "a1"]) == 3
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err and "not valid Python" in err


def test_ctrl_c_exits_130_without_a_traceback(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    def interrupted(args: object) -> int:
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "cmd_release", interrupted)
    assert cli.main(["--config", str(ROOT / "grader.yaml"), "release", "a1_backprop"]) == 130
    assert capsys.readouterr().err.strip() == "grader release: interrupted"


def test_a_malformed_due_override_is_a_usage_error(tmp_path: Path, capsys) -> None:
    code = cli.main(["--config", str(ROOT / "grader.yaml"), "report", "a2_softmax",
                     "--results", str(tmp_path), "--due", "next friday"])
    assert code == cli.EXIT_USAGE and "next friday" in capsys.readouterr().err


# --- help and version ------------------------------------------------------------------------


def test_top_level_help_starts_with_a_sentence_for_users(capsys) -> None:
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    out = capsys.readouterr().out
    assert cli.DESCRIPTION.split()[0] in out and "the command line" not in out
    assert "``" not in out


def test_version_prints_the_grader_version(capsys) -> None:
    with pytest.raises(SystemExit) as info:
        cli.main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out.strip() == f"grader {grader.__version__}"


# --- every option checked before anything runs: usage errors exit 2 ------------------------


def a_graded_course(tmp_path: Path) -> tuple[Path, Path, Path]:
    """(config, one submission, its results.json holding a good 10/10 result)."""
    config = course(tmp_path, "def f():\n    return 1\n")
    submission = tmp_path / "sam.py"
    submission.write_text("def f():\n    return 1\n")
    results = tmp_path / "out" / "a1" / "sam" / "results.json"
    results.parent.mkdir(parents=True)
    results.write_text('{"score": 10.0, "max_score": 10.0, "status": "ok"}\n')
    return config, submission, results


@pytest.mark.parametrize("option", [["--workers", "0"], ["--workers", "-3"],
                                    ["--workers", "many"], ["--timeout", "0"],
                                    ["--timeout", "-1"], ["--timeout", "nan"],
                                    ["--seed", "-1"], ["--student-id", "canvass"]])
def test_a_bad_grade_option_exits_2_and_never_touches_results(tmp_path: Path, option: list[str],
                                                             capsys) -> None:
    config, submission, results = a_graded_course(tmp_path)
    before = results.read_bytes()
    with pytest.raises(SystemExit) as info:
        cli.main(["--config", str(config), "grade", "a1", str(submission), "--out",
                  str(tmp_path / "out"), "--regrade", *option])
    assert info.value.code == cli.EXIT_USAGE
    assert results.read_bytes() == before
    err = capsys.readouterr().err
    assert option[0] in err and "Traceback" not in err


@pytest.mark.parametrize("command", [["grade", "a9", "x.py"], ["validate", "a9"],
                                     ["release", "a9"], ["report", "a9", "--results", "r"],
                                     ["similarity", "a9", "--results", "r"],
                                     ["export-gradescope", "a9"], ["check", "a9"]])
def test_an_unknown_assignment_is_a_usage_error(tmp_path: Path, command: list[str],
                                                capsys) -> None:
    config = course(tmp_path, "def f():\n    return 1\n")
    assert cli.main(["--config", str(config), *command]) == cli.EXIT_USAGE
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no assignment 'a9'" in err


def test_a_missing_submission_path_is_a_usage_error(tmp_path: Path, capsys) -> None:
    config = course(tmp_path, "def f():\n    return 1\n")
    assert cli.main(["--config", str(config), "grade", "a1", str(tmp_path / "nope")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_an_empty_folder_says_there_is_nothing_to_grade(tmp_path: Path, capsys) -> None:
    config = course(tmp_path, "def f():\n    return 1\n")
    (tmp_path / "empty").mkdir()
    assert cli.main(["--config", str(config), "grade", "a1", str(tmp_path / "empty"),
                     "--out", str(tmp_path / "out")]) == cli.EXIT_USAGE
    assert "is empty: nothing to grade" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_a_folder_with_nothing_gradable_says_so_instead_of_graded_0(tmp_path: Path,
                                                                    capsys) -> None:
    config = course(tmp_path, "def f():\n    return 1\n")
    (tmp_path / "autotests" / "a1").mkdir(parents=True)
    batch = tmp_path / "batch"
    batch.mkdir()
    (batch / "notes.txt").write_text("see attached\n")
    (batch / "photo.png").write_bytes(b"\x89PNG")
    code = cli.main(["--config", str(config), "grade", "a1", str(batch), "--out",
                     str(tmp_path / "out"), "--insecure", "-q"])
    err = capsys.readouterr().err
    assert code == cli.EXIT_USAGE
    assert "nothing gradable in" in err and "2 entries refused" in err


def test_report_and_similarity_give_the_same_status_for_no_results(tmp_path: Path,
                                                                    capsys) -> None:
    config = ["--config", str(ROOT / "grader.yaml")]
    results = ["--results", str(tmp_path / "nothing")]
    report = cli.main([*config, "report", "a2_softmax", *results])
    similarity = cli.main([*config, "similarity", "a2_softmax", *results])
    assert report == similarity == cli.EXIT_NOTHING
    err = capsys.readouterr().err
    assert err.count("no results") == 2 and "Traceback" not in err


# --- config values checked on load: one line, never a traceback -----------------------------


def test_an_impossible_due_date_is_one_line_naming_key_and_line(tmp_path: Path, capsys) -> None:
    config = tmp_path / "grader.yaml"
    config.write_text("assignments:\n  a1:\n    module: mod\n    points: 10\n"
                      "    due: 2026-13-45\n")
    assert cli.main(["--config", str(config), "release", "a1"]) == 3
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "grader.yaml:5: assignments.a1.due" in err
    assert "2026-13-45" in err and "Traceback" not in err


def test_a_config_that_is_not_utf8_is_one_line_saying_to_save_it_as_utf8(tmp_path: Path,
                                                                          capsys) -> None:
    config = tmp_path / "grader.yaml"
    config.write_bytes("course: Cours d'été\nassignments:\n  a1:\n    module: mod\n"
                       "    points: 10\n".encode("latin-1"))
    assert cli.main(["--config", str(config), "release", "a1"]) == 3
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "grader.yaml:1: not UTF-8" in err and "UTF-8" in err


# --- LMS naming: validate whatever the preset, --student-id for one run, the download zip ---


def lms_course(tmp_path: Path, rule: str) -> Path:
    """The real a2 with ``student_id: rule`` in a course of its own."""
    config = write_config(tmp_path, "a2_softmax")
    config.write_text(config.read_text().replace("defaults:\n",
                                                 f"defaults:\n  student_id: {rule}\n", 1))
    return config


@pytest.mark.sandbox
def test_validate_works_when_the_course_names_students_by_an_lms_preset(tmp_path: Path,
                                                                         capsys) -> None:
    config = lms_course(tmp_path, "canvas")
    assert cli.main(["--config", str(config), "validate", "a2_softmax", "--workers", "1"]) == 0
    assert "a2_softmax: solution 30/30, stub 0/30 -> OK" in capsys.readouterr().out


def canvas_download(tmp_path: Path) -> Path:
    """Canvas's submissions.zip as it is downloaded: two students' files at its top level."""
    folder = tmp_path / "download"
    lms_exports.canvas(folder, "smithjohn", 1101, 5001, "softmax.py",
                       text=solution_text("a2_softmax"))
    lms_exports.canvas(folder, "doejane", 1102, 5002, "softmax.py", text=stub_text("a2_softmax"))
    archive = tmp_path / "submissions.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for path in sorted(folder.iterdir()):
            zf.write(path, path.name)
    return archive


@pytest.mark.sandbox
def test_an_lms_download_zip_is_graded_as_a_batch_named_by_student_id(tmp_path: Path) -> None:
    config = write_config(tmp_path, "a2_softmax")  # the course names students by stem
    out = tmp_path / "out"
    code = cli.main(["--config", str(config), "grade", "a2_softmax",
                     str(canvas_download(tmp_path)), "--student-id", "canvas", "--out", str(out),
                     "--workers", "1", "-q"])
    assert code == 0
    scores = {p.parent.name: json.loads(p.read_text())["score"]
              for p in (out / "a2_softmax").glob("*/results.json")}
    assert scores == {"1101": 30.0, "1102": 0.0}


def test_a_students_own_zip_is_not_mistaken_for_a_download(tmp_path: Path) -> None:
    archive = tmp_path / "alice.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("a2/softmax.py", solution_text("a2_softmax"))
    assert unpack_lms_download(archive, tmp_path / "unpacked", "canvas") is None
    assert list((tmp_path / "unpacked").iterdir()) == []
