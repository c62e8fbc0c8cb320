"""pytest plugin that runs a hidden suite against one sandboxed submission.

Provides the ``student``, ``rng``, ``run_seed``, ``assignment_config`` and ``device`` fixtures
and the ``points`` / ``visibility`` markers, and records one outcome per test with a message
written for the student. grader.grading.submission passes an instance to
``pytest.main(plugins=[...])`` in a process that never runs student code.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

from grader.course.visibility import VISIBILITIES
from grader.grading.output_caps import cap_test_output
from grader.grading.proxy import BudgetExhausted, LoadError, Session, StudentError, StudentModule
from grader.sandbox.workers import SandboxFault


class SuiteError(Exception):
    """The hidden suite itself is broken (a grader fault, never the student's)."""


@dataclass
class Outcome:
    test_id: str
    name: str
    max_score: float
    visibility: str
    passed: bool = False
    output: str = ""
    duration: float = 0.0

    def as_result(self) -> dict:
        return {"name": self.name, "test_id": self.test_id,
                "score": self.max_score if self.passed else 0.0, "max_score": self.max_score,
                "status": "passed" if self.passed else "failed", "output": self.output,
                "visibility": self.visibility, "duration": round(self.duration, 4)}


def student_message(exc: BaseException) -> str:
    """What a student reads for a failed test."""
    if isinstance(exc, StudentError):
        return exc.student_message()
    if isinstance(exc, AssertionError):
        return str(exc) or "a check on your result failed"
    # The test could not even use the result (a wrong type or shape made the reference fail).
    return (f"the grader could not use what your code returned ({type(exc).__name__}: "
            f"{str(exc)[:300]}); check return types and shapes against the assignment")


def docstring_title(doc: str | None, fallback: str) -> str:
    """A hidden test's title: the first paragraph of its docstring as one line (a sentence
    wrapped over several lines is whole), else ``fallback`` (the test's name)."""
    paragraph = (doc or "").strip().split("\n\n")[0]
    return " ".join(paragraph.split()) or fallback


class GraderPlugin:
    def __init__(self, session: Session, *, seed: int, total_points: float,
                 default_visibility: str, config: dict, device: str) -> None:
        self.session, self.seed = session, seed
        self.total_points, self.default_visibility = total_points, default_visibility
        self.config, self.device_name = config, device
        self.outcomes: dict[str, Outcome] = {}
        self.load_error: LoadError | None = None
        self.budget_exhausted = False
        self.sandbox_fault: SandboxFault | None = None  # a restart of the worker failed
        self.collect_errors: list[str] = []

    # -- markers and collection -------------------------------------------------------------
    def pytest_configure(self, config: pytest.Config) -> None:
        config.addinivalue_line("markers", "points(n): points awarded when the test passes")
        config.addinivalue_line("markers", "visibility(v): visible | hidden | after_due_date "
                                "| after_published")

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self.collect_errors.append(f"{report.nodeid}: {report.longreprtext[-2000:]}")

    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        total = 0.0
        for item in items:
            marker = item.get_closest_marker("points")
            if marker is None or not marker.args:
                raise self._suite_error(f"hidden test {item.nodeid} has no @pytest.mark.points(n)")
            points = float(marker.args[0])
            vis = item.get_closest_marker("visibility")
            visibility = vis.args[0] if vis else self.default_visibility
            if visibility not in VISIBILITIES:
                raise self._suite_error(f"{item.nodeid}: unknown visibility {visibility!r}")
            title = docstring_title(getattr(item.obj, "__doc__", None), item.name)
            self.outcomes[item.nodeid] = Outcome(item.name, title, points, visibility)
            total += points
        if items and abs(total - self.total_points) > 1e-9:
            raise self._suite_error(f"the hidden tests add up to {total:g} points but grader.yaml "
                             f"gives {self.total_points:g}")

    def pytest_keyboard_interrupt(self, excinfo: pytest.ExceptionInfo) -> None:
        # pytest.exit() in a hidden suite (e.g. its data set is missing): a grader fault.
        self.collect_errors.append(str(excinfo.value))

    def _suite_error(self, message: str) -> pytest.UsageError:
        self.collect_errors.append(message)
        return pytest.UsageError(message)

    # -- outcomes -----------------------------------------------------------------------------
    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo) -> Any:
        outcome = yield
        report = outcome.get_result()
        record = self.outcomes.get(item.nodeid)
        if record is None:
            return
        if call.when == "call":
            record.duration = call.duration
        if report.when == "call" and report.passed:
            record.passed = True
            # A passing test may leave a note for the results: record_property("output", text).
            record.output = "\n".join(str(v) for k, v in report.user_properties if k == "output")
        elif report.failed or report.skipped:
            record.passed = False
            if call.excinfo is not None and not record.output:
                exc = call.excinfo.value
                self.budget_exhausted |= isinstance(exc, BudgetExhausted)
                if isinstance(exc, SandboxFault):
                    self.sandbox_fault = exc
                if report.skipped:
                    message = f"not graded: {getattr(exc, 'msg', exc)}"
                else:
                    message = student_message(exc)
                # The message quotes the student's exception, traceback and values.
                record.output = cap_test_output(message)

    # -- fixtures -----------------------------------------------------------------------------
    @pytest.fixture(scope="session")
    def student(self) -> StudentModule:
        if self.load_error is not None:
            raise self.load_error
        return StudentModule(self.session)

    @pytest.fixture
    def rng(self, request: pytest.FixtureRequest) -> np.random.Generator:
        """Seeded from the run seed and the test's name: replayable, different every run."""
        return np.random.default_rng([self.seed, zlib.crc32(request.node.nodeid.encode())])

    @pytest.fixture(scope="session")
    def run_seed(self) -> int:
        return self.seed

    @pytest.fixture(scope="session")
    def assignment_config(self) -> dict:
        return dict(self.config)

    @pytest.fixture(scope="session")
    def device(self) -> str:
        return self.device_name


def run_suite(plugin: GraderPlugin, suite_dir: str) -> list[dict]:
    """Run the hidden suite with ``plugin``; returns the per-test results in suite order.

    Raises SuiteError when the suite itself cannot run and SandboxFault when no worker could
    be started: both are the grader's fault.
    """
    try:
        plugin.session.start()
    except LoadError as exc:
        plugin.load_error = exc
    args = [suite_dir, "-p", "no:cacheprovider", "-p", "no:stepwise", "-p", "no:legacypath",
            "-p", "no:unraisableexception", "-p", "no:threadexception", "--assert=plain",
            "-q", "--rootdir", suite_dir, "--import-mode=importlib", "-o", "addopts=",
            "-W", "ignore::DeprecationWarning"]
    try:
        code = pytest.main(args, plugins=[plugin])
    except SuiteError as exc:
        plugin.collect_errors.append(str(exc))
        code = pytest.ExitCode.INTERNAL_ERROR
    finally:
        plugin.session.close()
    if plugin.sandbox_fault is not None:
        raise plugin.sandbox_fault
    if plugin.collect_errors or code in (pytest.ExitCode.INTERNAL_ERROR,
                                         pytest.ExitCode.USAGE_ERROR,
                                         pytest.ExitCode.NO_TESTS_COLLECTED):
        raise SuiteError(f"the hidden suite could not run (pytest exit {int(code)}): "
                         + "; ".join(plugin.collect_errors)[:4000])
    return [o.as_result() for o in plugin.outcomes.values()]
