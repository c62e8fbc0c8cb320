"""The one due-date rule of the course, used by the runner's ``late`` flag and by the reports.

- A date alone means the END of that day in the course time zone: ``due: 2026-11-30`` with
  ``timezone: Europe/Berlin`` is 2026-11-30 23:59:59 Berlin time (submissions at 23:59 count).
- A date-time without an offset is a wall-clock time in the course time zone.
- A date-time with an offset (``Z``, ``+01:00``) means exactly that instant.

The course time zone is ``defaults.timezone`` in grader.yaml (an IANA name, default UTC).
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

UTC = dt.timezone.utc
END_OF_DAY = dt.time(23, 59, 59)


def course_zone(name: str) -> dt.tzinfo:
    """The tzinfo of an IANA zone name (``Europe/Berlin``, ``UTC``); ValueError if unknown."""
    if name.upper() == "UTC":
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"expected an IANA time zone name such as Europe/Berlin, "
                         f"got {name!r}") from None


def parse_due(value: dt.datetime | dt.date | str, zone: dt.tzinfo = UTC) -> dt.datetime:
    """The instant a due date in grader.yaml (or ``--due``) means; ValueError if unreadable."""
    if isinstance(value, str):
        text = value.strip()
        try:
            value = dt.date.fromisoformat(text)
        except ValueError:
            try:
                value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
            except ValueError:
                raise ValueError(f"expected an ISO date or date-time, got {text!r}") from None
    if not isinstance(value, dt.datetime):
        value = dt.datetime.combine(value, END_OF_DAY)
    return value if value.tzinfo is not None else value.replace(tzinfo=zone)
