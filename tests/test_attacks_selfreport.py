"""Red-team attacks on verdicts the worker used to compute about itself, graded through the real
pipeline.

The worker once reported which arguments a call changed and which numpy warnings it raised, and
a3 reseeded numpy through the student's own ``np``: a submission could patch all three from its
import. Now array arguments live in shared memory the trusted side compares itself
(grader.sandbox.arena), no verdict reads warnings, and nothing is reseeded through the student's
names (docs/SECURITY.md, "Verdicts come from the trusted side"). Each attack must score no
higher than the same code without the trick.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import failed_tests, grade_folder, solution_text
from tests.variants.mutate import Edit, apply

pytestmark = pytest.mark.sandbox

# At import: the worker's call and its (former) snapshot are wrapped so that every reply says
# "nothing changed, no warnings", whatever the call did.
SILENCE_THE_WORKER = '''

import grader.sandbox.worker as _worker

_plain_call = _worker.Worker.call


def _quiet_call(self, *args, **kwargs):
    reply = _plain_call(self, *args, **kwargs)
    return {**reply, "changed": {}, "warnings": []}


_worker.Worker.call = _quiet_call
_worker.Worker._snapshot = lambda self, obj: None
'''

# At import: the module's ``np`` becomes a stand-in whose random.seed ignores its argument
# (and pins the global state), so a grader that reseeds through it learns nothing.
FAKE_NUMPY = '''

import types as _types

import numpy as _numpy


class _Random:
    def __getattr__(self, name):
        return getattr(_numpy.random, name)

    def seed(self, *args, **kwargs):
        _numpy.random.seed(1234)


class module(_types.ModuleType):
    def __getattr__(self, name):
        return getattr(_numpy, name)


np = module("numpy")
np.random = _Random()
'''

# a3 mistakes the two attacks above would hide: relu writes into its input, tanh is the
# unstable quotient, xavier_normal draws from numpy's global state.
RELU_IN_PLACE = Edit("relu_forward", "out = np.maximum(x, 0.0)", "x[x < 0] = 0.0\n    out = x")
TANH_QUOTIENT = Edit("tanh_forward", "out = np.tanh(x)",
                     "out = (np.exp(x) - np.exp(-x)) / (np.exp(x) + np.exp(-x))")
GLOBAL_XAVIER = Edit("xavier_normal", "w = rng.normal(", "w = np.random.normal(")
# dout written into, then restored before returning.
RESTORED_DOUT = Edit("relu_backward", "dx = dout * (x > 0)",
                     "saved = dout.copy()\n    dout[x <= 0] = 0.0\n    dx = dout.copy()\n"
                     "    dout[...] = saved")


def _grade(tmp: Path, assignment: str, codes: dict[str, str]) -> dict[str, dict]:
    batch = tmp / "batch"
    batch.mkdir()
    for name, code in codes.items():
        (batch / f"{name}.py").write_text(code)
    results = grade_folder(tmp, assignment, batch)
    for result in results.values():
        assert result["status"] == "ok", result["error"]
    return results


def test_silencing_the_workers_report_gains_nothing(tmp_path: Path) -> None:
    buggy = apply(solution_text("a3_activations_init"), [RELU_IN_PLACE, TANH_QUOTIENT])
    results = _grade(tmp_path, "a3_activations_init",
                     {"attack": buggy + SILENCE_THE_WORKER, "control": buggy})
    attack, control = results["attack"], results["control"]
    assert attack["score"] <= control["score"] < control["max_score"]
    assert {"test_all_layers_leave_inputs_unchanged",
            "test_tanh_stable_for_large_inputs"} <= failed_tests(attack)


def test_a_numpy_whose_seed_ignores_its_argument_gains_nothing(tmp_path: Path) -> None:
    buggy = apply(solution_text("a3_activations_init"), [GLOBAL_XAVIER])
    results = _grade(tmp_path, "a3_activations_init",
                     {"attack": buggy + FAKE_NUMPY, "control": buggy})
    attack, control = results["attack"], results["control"]
    assert attack["score"] <= control["score"] < control["max_score"]
    assert "test_inits_replay_with_same_seed" in failed_tests(attack)


def test_an_input_restored_before_returning_counts_as_unchanged(tmp_path: Path) -> None:
    restored = apply(solution_text("a3_activations_init"), [RESTORED_DOUT])
    result = _grade(tmp_path, "a3_activations_init", {"restored": restored})["restored"]
    assert result["score"] == result["max_score"], sorted(failed_tests(result))
