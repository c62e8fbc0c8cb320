"""What a student may see of a result: Gradescope's visibility semantics.

Rules (each test's ``visibility``, falling back to the result's top-level one):

- ``visible``: always shown.
- ``hidden``: never shown to students, not even after publishing.
- ``after_due_date``: shown once ``now >= due``; with no due date, only once published.
- ``after_published``: shown only once grades are published.

Publishing reveals everything except ``hidden`` (it is the last release step).

The top-level ``visibility`` governs the result as a whole: while it is withheld the student
sees neither the score, nor any test, nor the grader's output (the submission's status and
error stay visible: they say what is wrong with the submission, not with any test). While it is
shown, the total score includes the points of tests the student cannot see, as on Gradescope;
those tests' own names, points and messages are left out.

Naive datetimes are taken as UTC, like YAML timestamps without a zone.
"""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

from grader.course.due import UTC, parse_due

VISIBILITIES = ("visible", "hidden", "after_due_date", "after_published")


def as_utc(moment: dt.datetime | dt.date | str | None) -> dt.datetime | None:
    """A timezone-aware datetime from an ISO string, date or datetime, or None.

    The course's due-date rule (grader.course.due) with UTC as the zone: a bare date means the
    end of that day, naive means UTC. Due dates from grader.yaml arrive already aware.
    """
    if moment is None or moment == "":
        return None
    return parse_due(moment, UTC)


def is_shown(
    visibility: str | None, *, now: dt.datetime, due: dt.datetime | None, published: bool
) -> bool:
    """Whether something with this visibility is shown to the student at ``now``."""
    vis = visibility or "visible"
    if vis == "visible":
        return True
    if vis == "hidden":
        return False
    if vis == "after_due_date":
        due_utc = as_utc(due)
        return published or (due_utc is not None and as_utc(now) >= due_utc)
    if vis == "after_published":
        return published
    return False  # an unknown value must not leak a hidden test


def result_shown(
    result: dict[str, Any], *, now: dt.datetime, due: dt.datetime | None, published: bool
) -> bool:
    """Whether the result as a whole (score, tests, output) is released to the student."""
    return is_shown(result.get("visibility"), now=now, due=due, published=published)


def shows_test(
    test: dict[str, Any],
    result: dict[str, Any],
    *,
    now: dt.datetime,
    due: dt.datetime | None,
    published: bool,
) -> bool:
    """Whether one test is shown: its own visibility, else the result's default."""
    vis = test.get("visibility") or result.get("visibility")
    return is_shown(vis, now=now, due=due, published=published)


def student_view(
    result: dict[str, Any],
    now: dt.datetime,
    due: dt.datetime | None,
    published: bool = False,
) -> dict[str, Any]:
    """A copy of ``result`` holding only what the student may see (see the module rules).

    Adds ``released`` (whether score and tests are shown) and ``tests_withheld`` (how many
    tests were left out). The input is not modified.
    """
    view = copy.deepcopy(result)
    tests = view.get("tests") or []
    if not result_shown(result, now=now, due=due, published=published):
        view["released"] = False
        view["score"] = None
        view["output"] = ""
        view["tests"] = []
        view["tests_withheld"] = len(tests)
        return view
    kept = [
        t for t in tests if shows_test(t, result, now=now, due=due, published=published)
    ]
    view["released"] = True
    view["tests"] = kept
    view["tests_withheld"] = len(tests) - len(kept)
    return view
