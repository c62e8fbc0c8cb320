"""The command layer: one parser per subcommand, --help everywhere, one mapping from errors to
exit statuses, and one line (never a traceback) for an error."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader import cli

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
