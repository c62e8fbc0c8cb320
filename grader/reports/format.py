"""Small formatting helpers shared by feedback, gradebook and report pages."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

STATUS_LABELS = {
    "ok": "graded",
    "submission_error": "submission error",
    "timeout": "timed out",
    "crashed": "crashed",
}


def fmt_number(value: Any) -> str:
    """Points as people write them: 2 not 2.0, 1.25 not 1.2500000001; '' for missing."""
    if value is None or value == "":
        return ""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    if not math.isfinite(number):
        return str(number)
    if number.is_integer():
        return str(int(number))
    return f"{number:.4f}".rstrip("0").rstrip(".")


def parse_time(value: Any) -> dt.datetime | None:
    """An aware datetime from an ISO timestamp in a result; None when absent or malformed."""
    if not isinstance(value, str) or not value:
        return None
    try:
        # Python 3.10's fromisoformat does not read a trailing Z.
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return moment


def fmt_time(value: Any) -> str:
    """A result timestamp for humans, in UTC; the raw text when it cannot be parsed."""
    moment = parse_time(value)
    if moment is None:
        return "" if value is None else str(value)
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def status_label(status: Any) -> str:
    return STATUS_LABELS.get(str(status), str(status))
