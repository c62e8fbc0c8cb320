"""The results contract: one ``Result`` per graded submission, as results.json stores it.

docs/RESULTS.md describes every field; ``results.schema.json`` beside this module is the same
contract as a JSON Schema (the tests validate real results against it).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

STATUSES = ("ok", "submission_error", "timeout", "crashed")
# Statuses that say nothing about the student: the grader failed (a missing data set, a
# broken suite, a grading process that died). Such a result is regraded by the next run.
GRADER_FAULT_STATUSES = frozenset({"crashed"})
# Statuses whose score is the sum of the finished tests' scores (a timeout keeps the points of
# the tests that finished before the budget ran out); any other status scores 0.
SCORED_STATUSES = frozenset({"ok", "timeout"})


@dataclass(frozen=True)
class TestResult:
    """One hidden test's outcome (an entry of ``tests``)."""

    __test__ = False  # not a pytest test class

    name: str
    test_id: str
    score: float
    max_score: float
    status: str          # "passed" | "failed"
    output: str
    visibility: str
    duration: float = 0.0

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TestResult:
        return cls(**{f.name: data[f.name] for f in fields(cls) if f.name in data})


@dataclass
class Result:
    """One graded submission: Gradescope's format plus the grader's own fields."""

    score: float
    max_score: float
    execution_time: float
    output: str
    tests: list[TestResult]
    grader_version: str
    assignment: str
    student_id: str
    submission: str
    submission_sha256: str
    suite_sha256: str
    status: str
    error: str | None
    sandbox: str
    insecure: bool
    device: str
    seed: int
    versions: dict[str, str]
    started_at: str
    finished_at: str
    late: bool | None = None
    isolation: dict[str, Any] = field(default_factory=dict)  # {} in results from before it
    visibility: str = "visible"
    display_name: str | None = None
    lms_id: str | None = None
    members: list[str] = field(default_factory=list)

    @property
    def grader_fault(self) -> bool:
        """True when the grader, not the submission, is why this result has no grade."""
        return self.status in GRADER_FAULT_STATUSES

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Result:
        """A Result from results.json data; KeyError/TypeError when it is not one."""
        values = {f.name: data[f.name] for f in fields(cls) if f.name in data}
        values["tests"] = [TestResult.from_dict(t) for t in data["tests"]]
        return cls(**values)


def result_score(status: str, tests: list[TestResult]) -> float:
    """The submission's score by the rule of docs/RESULTS.md."""
    if status not in SCORED_STATUSES:
        return 0.0
    return round(sum(t.score for t in tests), 6)
