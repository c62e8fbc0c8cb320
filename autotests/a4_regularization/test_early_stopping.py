"""Hidden tests: EarlyStopping (an object in the worker, driven through its handle).

Losses are multiples of 1/8 and min_delta is 0, 1/8 or 1/4, so `best - min_delta` is exact in
floating point and no comparison is borderline by rounding.
"""

import numpy as np
import pytest

from grader.testing import assert_close, assert_true


def _run(student, losses, patience, min_delta=None):
    """Feed losses one by one; return the list of step() results."""
    es = (student.EarlyStopping(patience) if min_delta is None
          else student.EarlyStopping(patience, min_delta))
    return es, [bool(es.step(v)) for v in losses]


def _describe(losses, patience, min_delta) -> str:
    return f"EarlyStopping(patience={patience}, min_delta={min_delta}) fed {losses}"


def _expect_returns(got, want, losses, patience, min_delta=0.0) -> None:
    assert_true(got == want, f"{_describe(losses, patience, min_delta)}: step() returned {got}, "
                f"expected {want}")


def _reference(losses, patience, min_delta):
    """Per call: (return value, best, best_step) as the contract defines them."""
    best, best_step, bad, rows = None, None, 0, []
    for i, v in enumerate(losses):
        if best is None or v < best - min_delta:
            best, best_step, bad = v, i, 0
        else:
            bad += 1
        rows.append((bad >= patience, best, best_step))
    return rows


@pytest.mark.points(1)
def test_early_stopping_stops_after_patience_bad_calls(student, rng):
    """EarlyStopping.step: True exactly at the patience-th call without improvement"""
    patience = int(rng.integers(2, 5))
    losses = [2.0, 1.5, 1.0] + [1.25 + 0.125 * k for k in range(patience)]
    _, got = _run(student, losses, patience)
    _expect_returns(got, [False] * (len(losses) - 1) + [True], losses, patience)


@pytest.mark.points(1)
def test_early_stopping_equal_loss_is_not_improvement(student, rng):
    """EarlyStopping.step: a loss equal to the best does not count as an improvement"""
    patience = int(rng.integers(2, 4))
    losses = [1.0] * (patience + 1)
    es, got = _run(student, losses, patience)
    _expect_returns(got, [False] * patience + [True], losses, patience)
    assert_true(es.best_step == 0, f"{_describe(losses, patience, 0.0)}: best_step is "
                f"{es.best_step}, expected 0 (improvement needs val_loss < best - min_delta)")


@pytest.mark.points(1)
def test_early_stopping_min_delta(student, rng):
    """EarlyStopping(min_delta): improvements of min_delta or less do not count"""
    min_delta = 0.25
    # 0.875 is better but by less than min_delta; 0.75 by exactly min_delta (strict <)
    losses = [1.0, 0.875, 0.75]
    es, got = _run(student, losses, 2, min_delta)
    _expect_returns(got, [False, False, True], losses, 2, min_delta)
    assert_close(es.best, 1.0, fn="EarlyStopping.step", what="best",
                 inputs={"losses": np.array(losses)})
    assert_true(es.best_step == 0,
                f"{_describe(losses, 2, min_delta)}: best_step is {es.best_step}, expected 0")


@pytest.mark.points(1)
def test_early_stopping_best_and_best_step(student, rng):
    """EarlyStopping: best is the best loss so far and best_step its 0-based call index"""
    losses = [2.0, 1.0, 1.5, 0.5, 0.75, 0.625]
    es, _ = _run(student, losses, 10)
    assert_close(es.best, 0.5, fn="EarlyStopping.step", what="best",
                 inputs={"losses": np.array(losses)})
    assert_true(es.best_step == 3, f"{_describe(losses, 10, 0.0)}: best_step is {es.best_step}, "
                "expected 3 (0-based index of the call that set best)")


@pytest.mark.points(1)
def test_early_stopping_counter_resets_on_improvement(student, rng):
    """EarlyStopping.step: an improvement resets the count of calls without improvement"""
    patience = int(rng.integers(2, 4))
    bad = [1.5 + 0.125 * k for k in range(patience - 1)]
    losses = [1.0, *bad, 0.5, *bad, 2.0]
    _, got = _run(student, losses, patience)
    _expect_returns(got, [False] * (len(losses) - 1) + [True], losses, patience)


@pytest.mark.points(1)
def test_early_stopping_random_sequences(student, rng):
    """EarlyStopping: random loss curves agree call by call (returns, best, best_step)"""
    for _ in range(3):
        patience = int(rng.integers(1, 5))
        min_delta = float(rng.choice([0.0, 0.125, 0.25]))
        # a noisy descending curve on the 1/8 grid
        losses = list(4.0 + np.cumsum(rng.integers(-3, 3, size=25)) / 8.0)
        losses = [float(v) for v in losses]
        ref = _reference(losses, patience, min_delta)
        es = student.EarlyStopping(patience, min_delta)
        for i, (v, (stop, best, best_step)) in enumerate(zip(losses, ref, strict=True)):
            got = bool(es.step(v))
            where = f"{_describe(losses[: i + 1], patience, min_delta)}, at call {i}"
            assert_true(got == stop, f"{where}: step() returned {got}, expected {stop}")
            assert_true(es.best == best and es.best_step == best_step,
                        f"{where}: (best, best_step) = ({es.best}, {es.best_step}), "
                        f"expected ({best}, {best_step})")
            if stop:
                break  # what happens after stopping is not specified
