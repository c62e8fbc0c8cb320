"""CPU-time comparisons for hidden tests: a student function against a reference.

"Vectorized" (a7) and "an analytic backward, not finite differences" (a4) are properties of
cost, so they are measured, never asked of the student's process: the student's call runs in
its worker and the kernel's count of the worker's CPU time is read by the trusted process
(``StudentModule.measure_cpu``); the reference runs here, in the trusted process, on the same
inputs, timed with ``time.thread_time``: this thread only, so CPU that other processes or idle
BLAS threads of the grader spend meanwhile is not counted. (Reference work handed to other
threads would not be counted either and make the check stricter; the references of the suites
are too small for BLAS to thread, and the allowed ratios are calibrated with them.)

Each comparison repeats on fresh inputs of the same shapes and keeps the cheapest run of
either side: noise from other processes only ever adds time, and fresh inputs leave a cache of
earlier answers nothing to find.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class CpuComparison:
    """The cheapest CPU time of the student's calls and of the reference's, in seconds."""

    student_s: float
    reference_s: float
    source: str  # which kernel counter measured the student (grader.sandbox.cpu_meter)

    @property
    def ratio(self) -> float:
        return self.student_s / max(self.reference_s, 1e-6)

    def describe(self) -> str:
        return (f"{self.student_s * 1e3:.1f} ms of CPU time against the reference's "
                f"{self.reference_s * 1e3:.2f} ms ({self.ratio:.1f}x; measured by the kernel: "
                f"{self.source})")


def reference_cpu(fn: Callable[[], Any]) -> tuple[Any, float]:
    """``fn()`` run in this process: its value and the CPU seconds of this thread."""
    start = time.thread_time()
    value = fn()
    return value, time.thread_time() - start


@dataclass(frozen=True)
class Run:
    """One input: the student's call, the reference's on the same input, and
    ``check(got, want)``, which fails a wrong answer (the speed of a wrong result means
    nothing)."""

    student: Callable[[], Any]
    reference: Callable[[], Any]
    check: Callable[[Any, Any], None]


def compare_cpu(student: Any, runs: list[Run]) -> CpuComparison:
    """Run and check each run; the cheapest time of each side."""
    student_s, reference_s, source = float("inf"), float("inf"), ""
    for run in runs:
        want, seconds = reference_cpu(run.reference)
        reference_s = min(reference_s, seconds)
        with student.measure_cpu() as cpu:
            got = run.student()
        run.check(got, want)
        student_s, source = min(student_s, cpu.seconds), cpu.source
    return CpuComparison(student_s, reference_s, source)
