"""Public tests for the learning-rate schedules and random_search in optim.py."""

import math

import numpy as np
import optim
import pytest


def test_step_decay_values():
    got = [optim.step_decay(1.0, t, step_size=3, gamma=0.5) for t in range(8)]
    np.testing.assert_allclose(got, [1, 1, 1, 0.5, 0.5, 0.5, 0.25, 0.25])
    assert optim.step_decay(2.0, 4, step_size=2) == pytest.approx(0.02)  # default gamma 0.1


def test_linear_decay_values():
    got = [optim.linear_decay(1.0, t, total_steps=4, end_factor=0.2) for t in range(7)]
    np.testing.assert_allclose(got, [1.0, 0.8, 0.6, 0.4, 0.2, 0.2, 0.2])
    assert optim.linear_decay(3.0, 10, total_steps=10) == pytest.approx(0.0, abs=1e-12)


def test_inverse_sqrt_values():
    got = [optim.inverse_sqrt(2.0, t) for t in (0, 3, 8)]
    np.testing.assert_allclose(got, [2.0, 1.0, 2.0 / 3.0])


def test_linear_warmup_values():
    got = [optim.linear_warmup(0.8, t, warmup_steps=4) for t in range(6)]
    np.testing.assert_allclose(got, [0.2, 0.4, 0.6, 0.8, 0.8, 0.8])


def _value(params):
    return (math.log10(params["lr"]) + 2.0) ** 2 + (0.0 if params["act"] == "tanh" else 1.0)


def _recorder():
    """An objective that records every params dict it is called with."""
    calls = []

    def objective(params):
        calls.append(dict(params))
        return _value(params)

    return objective, calls


SPACE = {"lr": ("log", 1e-5, 1e-1), "dropout": ("uniform", 0.1, 0.5), "act": ["relu", "tanh"]}


def test_random_search_calls_objective_n_trials_times():
    objective, calls = _recorder()
    optim.random_search(objective, SPACE, 17, seed=0)
    assert len(calls) == 17
    assert all(set(c) == set(SPACE) for c in calls)


def test_random_search_returns_the_best_trial():
    objective, calls = _recorder()
    best_params, best_value = optim.random_search(objective, SPACE, 30, seed=1)
    values = [_value(c) for c in calls]
    assert best_value == pytest.approx(min(values))
    assert best_params == calls[int(np.argmin(values))]


def test_random_search_samples_in_range_and_from_choices():
    objective, calls = _recorder()
    optim.random_search(objective, SPACE, 200, seed=2)
    lrs = np.array([c["lr"] for c in calls])
    drops = np.array([c["dropout"] for c in calls])
    assert np.all((lrs >= 1e-5) & (lrs <= 1e-1))
    assert np.all((drops >= 0.1) & (drops <= 0.5))
    assert {c["act"] for c in calls} == {"relu", "tanh"}


def test_log_scale_covers_every_decade():
    # Log-uniform on [1e-5, 1e-1]: each of the 4 decades gets about a quarter of the samples.
    # A uniform draw would put about 90% of them in the last decade.
    objective, calls = _recorder()
    optim.random_search(objective, SPACE, 400, seed=3)
    decades = np.floor(np.log10([c["lr"] for c in calls])).astype(int)
    counts = [int(np.sum(decades == d)) for d in (-5, -4, -3, -2)]
    assert all(60 <= n <= 140 for n in counts), counts


def test_random_search_is_reproducible():
    runs = []
    for seed in (7, 7, 8):
        objective, calls = _recorder()
        optim.random_search(objective, SPACE, 5, seed=seed)
        runs.append(calls)
    assert runs[0] == runs[1], "same seed, different trials"
    assert runs[0] != runs[2], "different seeds, same trials"
