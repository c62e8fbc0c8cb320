"""grader.yaml is validated on load; errors name the file line and the key."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from grader.course.config import ConfigError, load_config
from grader.course.visibility import is_shown

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
    (("    due: 2026-12-01T23:59:00", "    due: next friday"), "grader.yaml:9: assignments.a1_backprop.due: expected an ISO date or date-time"),  # noqa: E501
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


# --- the due-date rule (grader.course.due), in the course time zone ---------------------------

def due_of(tmp_path: Path, due: str, timezone: str | None = None) -> datetime:
    text = GOOD.replace("2026-12-01T23:59:00", due)
    if timezone is not None:
        text = text.replace("  device: cpu\n", f"  device: cpu\n  timezone: {timezone}\n")
    due_at = load(tmp_path, text).assignment("a1_backprop").due
    assert due_at is not None
    return due_at


def test_a_date_alone_is_due_at_the_end_of_that_day_in_the_course_zone(tmp_path: Path) -> None:
    due = due_of(tmp_path, "2026-11-30", "Europe/Berlin")
    berlin = ZoneInfo("Europe/Berlin")
    assert datetime(2026, 11, 30, 23, 59, 59, tzinfo=berlin) <= due
    assert datetime(2026, 12, 1, 0, 0, 0, tzinfo=berlin) > due
    assert due == datetime(2026, 11, 30, 22, 59, 59, tzinfo=timezone.utc)


def test_a_date_alone_without_a_course_zone_ends_at_utc_midnight(tmp_path: Path) -> None:
    assert due_of(tmp_path, "2026-11-30") == datetime(2026, 11, 30, 23, 59, 59,
                                                       tzinfo=timezone.utc)


def test_a_date_time_without_offset_is_wall_clock_time_in_the_course_zone(
        tmp_path: Path) -> None:
    due = due_of(tmp_path, "2026-11-30T17:00:00", "America/New_York")
    assert due == datetime(2026, 11, 30, 22, 0, tzinfo=timezone.utc)


def test_a_date_time_with_an_offset_keeps_it_whatever_the_course_zone(tmp_path: Path) -> None:
    due = due_of(tmp_path, "2026-11-30T17:00:00+01:00", "America/New_York")
    assert due == datetime(2026, 11, 30, 16, 0, tzinfo=timezone.utc)


def test_the_reports_visibility_uses_the_same_instant_as_the_runners_late_flag(
        tmp_path: Path) -> None:
    due = due_of(tmp_path, "2026-11-30", "Asia/Tokyo")
    just_before = due - timedelta(seconds=1)
    assert not is_shown("after_due_date", now=just_before, due=due, published=False)
    assert is_shown("after_due_date", now=due, due=due, published=False)


def test_an_unknown_time_zone_names_line_and_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"grader\.yaml:5: defaults\.timezone: expected an "
                                          "IANA time zone"):
        load(tmp_path, GOOD.replace("  device: cpu\n", "  device: cpu\n  timezone: Mars/Base\n"))


# --- options checked by the assignment's schema on load ---------------------------------------

A6 = """\
assignments:
  a6_mnist:
    module: mnist_models
    points: 40
    options_schema: grader.mnist.scoring:resolve_options
    options:
      dataset: fashion_mnist
      perturbation: {max_shift: 1, noise_std: 8}
      retrain:
        epochs: 2
"""


def test_options_are_resolved_by_the_declared_schema(tmp_path: Path) -> None:
    settings = load(tmp_path, A6).assignment("a6_mnist").settings
    assert settings.dataset == "fashion_mnist" and settings.epochs == 2


def test_a_misspelled_option_is_a_load_error_naming_its_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load(tmp_path, A6.replace("        epochs: 2", "        epochz: 2"))
    assert str(info.value).startswith("grader.yaml:10: assignments.a6_mnist.options.retrain."
                                      "epochz: unknown key")


def test_an_invalid_option_value_is_a_load_error_naming_its_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load(tmp_path, A6.replace("max_shift: 1", "max_shift: 9"))
    assert str(info.value).startswith("grader.yaml:8: assignments.a6_mnist.options."
                                      "perturbation.max_shift: expected an int in 0..3")


def test_options_without_a_schema_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"grader\.yaml:6: assignments\.a6_mnist\.options: "
                                          "no options_schema"):
        load(tmp_path, A6.replace("    options_schema: grader.mnist.scoring:resolve_options\n",
                                  ""))


def test_a_schema_that_cannot_be_imported_names_its_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"grader\.yaml:5: assignments\.a6_mnist\."
                                          "options_schema: cannot load"):
        load(tmp_path, A6.replace("grader.mnist.scoring:resolve_options", "grader.nope:check"))
