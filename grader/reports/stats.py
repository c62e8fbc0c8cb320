"""Class-wide numbers behind report.html: pass rates, failure groups, provenance."""

from __future__ import annotations

import re
import statistics
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from grader.reports.format import parse_time
from grader.reports.gradebook import column_key, suite_columns

# A number standing alone (not the 64 in float64 or the 2 in a2_softmax).
_NUMBER = re.compile(r"(?<![\w.])[-+]?(?:\d+(?:\.\d+)?|\.\d+)(?:[eE][-+]?\d+)?(?!\w)")
_HEX = re.compile(r"\b0x[0-9a-fA-F]+\b")
KEY_CHARS = 240


def normalize_message(message: str) -> str:
    """The grouping key of a failure message: its first line with every number replaced by N.

    Hidden tests draw random inputs, so the same mistake yields messages that differ only in
    shapes, errors and indices; the first line names the function and what went wrong.
    """
    first = next((line for line in str(message).splitlines() if line.strip()), "")
    text = _HEX.sub("0x…", first)
    text = " ".join(_NUMBER.sub("N", text).split())
    return text if len(text) <= KEY_CHARS else text[:KEY_CHARS - 1] + "…"


@dataclass
class FailureGroup:
    """Failed tests whose messages normalise to the same key."""

    key: str
    example: str
    count: int = 0
    tests: Counter[str] = field(default_factory=Counter)
    students: set[str] = field(default_factory=set)


def failure_groups(results: list[dict[str, Any]],
                   limit: int | None = 20) -> list[FailureGroup]:
    """The ``limit`` most frequent failure messages (None: all), most frequent first (ties
    by key)."""
    groups: dict[str, FailureGroup] = {}
    for result in results:
        for test in result.get("tests") or []:
            if test.get("status") == "passed":
                continue
            message = str(test.get("output") or "(no message)")
            key = normalize_message(message)
            group = groups.setdefault(key, FailureGroup(key=key, example=message))
            group.count += 1
            group.tests[column_key(test)] += 1
            group.students.add(str(result.get("student_id", "?")))
    ranked = sorted(groups.values(), key=lambda g: (-g.count, g.key))
    return ranked[:limit]


@dataclass
class PerTestStats:
    """How one test went across the class (over the submissions that ran it)."""

    key: str
    name: str
    max_score: float
    ran: int = 0
    passed: int = 0
    points: float = 0.0

    @property
    def pass_rate(self) -> float:
        return self.passed / self.ran if self.ran else 0.0

    @property
    def mean_score(self) -> float:
        return self.points / self.ran if self.ran else 0.0


def per_test_stats(results: list[dict[str, Any]]) -> list[PerTestStats]:
    """Per-test pass counts in suite order."""
    stats = {key: PerTestStats(key=key, name=key, max_score=0.0) for key in suite_columns(results)}
    for result in results:
        for test in result.get("tests") or []:
            s = stats[column_key(test)]
            s.name = str(test.get("name") or s.key)
            s.max_score = max(s.max_score, float(test.get("max_score") or 0.0))
            s.ran += 1
            s.passed += test.get("status") == "passed"
            s.points += float(test.get("score") or 0.0)
    return list(stats.values())


def problem_submissions(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Submissions that crashed, timed out or could not be graded (status != ok)."""
    return [r for r in results if r.get("status", "ok") != "ok"]


def summary(values: list[float]) -> dict[str, float]:
    """count, mean, median, min, max and 90th percentile; empty for no values."""
    if not values:
        return {}
    ordered = sorted(values)
    p90 = ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]
    return {
        "count": len(ordered),
        "mean": statistics.fmean(ordered),
        "median": statistics.median(ordered),
        "min": ordered[0],
        "max": ordered[-1],
        "p90": p90,
    }


def provenance(results: list[dict[str, Any]]) -> dict[str, Any]:
    """Where the grades came from: versions, sandbox, devices, seeds, suite and time range."""
    def count(get: Any) -> Counter[str]:
        return Counter(str(get(r)) for r in results)

    times = [t for r in results for t in (parse_time(r.get("started_at")),
                                          parse_time(r.get("finished_at"))) if t]
    versions: dict[str, Counter[str]] = {}
    for r in results:
        for name, version in (r.get("versions") or {}).items():
            versions.setdefault(name, Counter())[str(version)] += 1
    return {
        "grader_version": count(lambda r: r.get("grader_version", "?")),
        "versions": versions,
        "sandbox": count(lambda r: r.get("sandbox", "?")),
        "device": count(lambda r: r.get("device", "?")),
        "suite_sha256": count(lambda r: r.get("suite_sha256", "?")),
        "insecure": sum(1 for r in results if r.get("insecure")),
        "seeds": {str(r.get("student_id", "?")): r.get("seed") for r in results},
        "first_start": min(times) if times else None,
        "last_finish": max(times) if times else None,
    }
