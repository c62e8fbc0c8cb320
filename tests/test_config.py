"""grader.yaml is validated on load; errors name the file line and the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.course.config import ConfigError, load_config

ROOT = Path(__file__).resolve().parent.parent

GOOD = """\
course: Test course
defaults:
  call_timeout_s: 5
  device: cpu
assignments:
  a1_backprop:
    module: backprop
    points: 40
    due: 2026-12-01T23:59:00
"""


def load(tmp_path: Path, text: str):
    path = tmp_path / "grader.yaml"
    path.write_text(text)
    return load_config(path)


def test_the_projects_grader_yaml_is_valid() -> None:
    course = load_config(ROOT / "grader.yaml")
    assert {"a1_backprop", "a2_softmax"} <= set(course.assignments)


def test_defaults_apply_and_assignment_values_override(tmp_path: Path) -> None:
    cfg = load(tmp_path, GOOD + "    memory_mb: 512\n").assignment("a1_backprop")
    assert cfg.limits.call_timeout_s == 5 and cfg.limits.memory_mb == 512
    assert cfg.hidden_tests == tmp_path / "autotests" / "a1_backprop"
    assert cfg.due is not None and cfg.due.tzinfo is not None


@pytest.mark.parametrize(("edit", "expected"), [
    (("points: 40", "points: forty"), "grader.yaml:8: assignments.a1_backprop.points: expected a number > 0, got 'forty'"),  # noqa: E501
    (("device: cpu", "device: tpu"), "grader.yaml:4: defaults.device: expected one of auto, cpu, cuda"),  # noqa: E501
    (("call_timeout_s: 5", "call_timeout_s: -1"), "grader.yaml:3: defaults.call_timeout_s"),
    (("module: backprop", "module: back-prop"), "grader.yaml:7: assignments.a1_backprop.module"),
    (("    due: 2026-12-01T23:59:00", "    due: next friday"), "grader.yaml:9: assignments.a1_backprop.due: expected an ISO date-time"),  # noqa: E501
    (("    points: 40", "    pointz: 40"), "grader.yaml:8: assignments.a1_backprop.pointz: unknown key"),  # noqa: E501
])
def test_an_invalid_value_names_line_and_key(tmp_path: Path, edit: tuple[str, str],
                                             expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        load(tmp_path, GOOD.replace(*edit))
    assert str(info.value).startswith(expected)


def test_a_missing_required_key_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"assignments\.a1_backprop\.points: missing"):
        load(tmp_path, GOOD.replace("    points: 40\n", ""))


def test_broken_yaml_is_reported_with_its_position(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not valid YAML"):
        load(tmp_path, "assignments: [unclosed\n")


def test_an_unknown_assignment_lists_the_known_ones(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="known: a1_backprop"):
        load(tmp_path, GOOD).assignment("a9")
