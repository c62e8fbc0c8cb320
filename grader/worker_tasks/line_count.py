"""Counting the Python lines a student function executes, inside the sandboxed worker.

"Vectorized" is checked without a clock: a hidden test calls ``count_lines`` on two inputs
that differ only in the number of output positions. A loop over those positions runs its
body once per position, so its line count grows with them; numpy's work happens in C and
adds no Python lines. Called as
``student.worker_call("grader.worker_tasks.line_count:count_lines", "fn_name", *args)``.
"""

from __future__ import annotations

import os
import sys
from types import FrameType, ModuleType
from typing import Any


def count_lines(module: ModuleType, fn_name: str, *args: Any) -> int:
    """Lines executed by ``module.fn_name(*args)`` in the submission's files (its helpers
    and helper modules included)."""
    fn = getattr(module, fn_name)
    folder = os.path.dirname(os.path.abspath(module.__file__)) + os.sep
    count = 0

    def local(frame: FrameType, event: str, arg: Any) -> Any:
        nonlocal count
        if event == "line":
            count += 1
        return local

    def calls(frame: FrameType, event: str, arg: Any) -> Any:
        # Only the submission's frames are traced line by line; numpy's Python wrappers
        # would otherwise add counts that depend on numpy's version.
        return local if os.path.abspath(frame.f_code.co_filename).startswith(folder) else None

    previous = sys.gettrace()
    sys.settrace(calls)
    try:
        fn(*args)
        intact = sys.gettrace() is calls
    finally:
        sys.settrace(previous)
    if not intact:  # a count of a switched-off tracer would pass as "vectorized"
        raise RuntimeError(f"{fn_name} replaced the trace function (sys.settrace); the grader "
                           "counts the Python lines it runs and needs it left alone")
    return count
