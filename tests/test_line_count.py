"""grader.worker_tasks.line_count: the clock-free "is it vectorized" measure of a7_conv."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from grader.worker_tasks.line_count import count_lines

STUDENT = '''
import numpy as np
from helper import double


def looped(x):
    out = np.empty_like(x)
    for i in range(x.shape[0]):
        out[i] = x[i] * 2
    return out


def vectorized(x):
    padded = np.pad(x, 1)
    return np.einsum("i,i->", padded, padded)


def via_helper(x):
    return double(x)


def comprehension(x):
    return np.array([v * 2 for v in x])


def hides_its_loop(x):
    import sys
    sys.settrace(None)
    return [v for v in x]
'''

HELPER = '''
def double(x):
    total = []
    for v in x:
        total.append(2 * v)
    return total
'''


@pytest.fixture
def student(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    (tmp_path / "submission.py").write_text(STUDENT)
    (tmp_path / "helper.py").write_text(HELPER)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "helper", raising=False)  # import this test's copy
    spec = importlib.util.spec_from_file_location("submission", tmp_path / "submission.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_python_loop_adds_lines_per_iteration(student: ModuleType) -> None:
    small = count_lines(student, "looped", np.ones(3))
    big = count_lines(student, "looped", np.ones(30))
    assert big - small == 2 * 27  # the for line and its body, once per extra element


def test_a_comprehension_counts_as_a_loop(student: ModuleType) -> None:
    small = count_lines(student, "comprehension", np.ones(3))
    big = count_lines(student, "comprehension", np.ones(30))
    assert big - small == 27


def test_numpy_work_adds_no_lines_whatever_the_size(student: ModuleType) -> None:
    assert count_lines(student, "vectorized", np.ones(3)) == 2
    assert count_lines(student, "vectorized", np.ones(3000)) == 2


def test_helper_modules_of_the_submission_are_counted(student: ModuleType) -> None:
    small = count_lines(student, "via_helper", np.ones(2))
    big = count_lines(student, "via_helper", np.ones(12))
    assert big - small == 2 * 10


def test_the_previous_trace_function_is_restored(student: ModuleType) -> None:
    before = sys.gettrace()
    count_lines(student, "vectorized", np.ones(3))
    assert sys.gettrace() is before


def test_switching_the_tracer_off_is_an_error(student: ModuleType) -> None:
    with pytest.raises(RuntimeError, match="hides_its_loop replaced the trace function"):
        count_lines(student, "hides_its_loop", np.ones(3))
