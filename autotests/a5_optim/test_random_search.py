"""Hidden tests for a5_optim.random_search.

The objective is a plain Python function of this test process; the student's code calls it
through the grader's call-back stub, so every call is recorded here. The sampling tests are
statistical: a Kolmogorov-Smirnov test on the samples, mapped to [0, 1], against U(0, 1), with
a critical value for a false-alarm rate of 1e-6, so a correct sampler practically never fails
while a sampler on the wrong scale fails by a wide margin.
"""

import math
from typing import Any

import numpy as np
import pytest

from grader.testing import assert_close, assert_true

KS_ALPHA = 1e-6
MAX_RECORDED_CALLS = 10_000   # far above any n_trials here
MAX_PARAMS = 16               # hyperparameters per call; the spaces here have at most 3
SCALARS = (bool, int, float, str, type(None))


class Recorder:
    """An objective that records every call; value(params) -> float decides what it returns.

    It keeps only what a trial is: a dict of a few scalar hyperparameters. Anything else is
    refused with a message (the student's code gets it as an exception), so what this test
    process holds stays small whatever the student's code passes in.
    """

    def __init__(self, value: Any) -> None:
        self.value = value
        self.calls: list[dict[str, Any]] = []
        self.values: list[float] = []

    def __call__(self, params: dict[str, Any]) -> float:
        if len(self.calls) >= MAX_RECORDED_CALLS:
            raise RuntimeError(f"objective called more than {MAX_RECORDED_CALLS} times")
        if not isinstance(params, dict) or len(params) > MAX_PARAMS:
            raise TypeError("objective takes one dict of hyperparameters (name -> value)")
        odd = [k for k, v in params.items() if not isinstance(v, SCALARS)
               and not (isinstance(v, np.ndarray) and v.size <= 1)]
        if odd:
            raise TypeError(f"objective: hyperparameter {odd[0]!r} is a "
                            f"{type(params[odd[0]]).__name__}; each value must be one number "
                            "or one of the choices")
        self.calls.append(dict(params))
        v = float(self.value(params))
        self.values.append(v)
        return v


def _seed(rng: np.random.Generator) -> int:
    return int(rng.integers(0, 2**31 - 1))


def _ks_uniform(u: np.ndarray) -> tuple[float, float]:
    """KS statistic of u against U(0, 1) and its critical value at KS_ALPHA (asymptotic)."""
    u = np.sort(u)
    n = len(u)
    i = np.arange(1, n + 1)
    d = float(max(np.max(i / n - u), np.max(u - (i - 1) / n)))
    return d, math.sqrt(-math.log(KS_ALPHA / 2) / (2 * n))


def _samples(student: Any, space: dict[str, Any], n: int, seed: int) -> list[dict[str, Any]]:
    rec = Recorder(lambda p: 0.0)
    student.random_search(rec, space, n, seed)
    return rec.calls


@pytest.mark.points(1)
def test_calls_objective_exactly_n_trials(student, rng):
    """random_search: calls objective exactly n_trials times, each with every hyperparameter"""
    space = {"lr": ("log", 1e-4, 1e-1), "dropout": ("uniform", 0.0, 0.5),
             "act": ["relu", "tanh"]}
    for n in (1, int(rng.integers(5, 25))):
        rec = Recorder(lambda p: float(np.log10(p["lr"])) ** 2)
        student.random_search(rec, space, n, _seed(rng))
        assert_true(len(rec.calls) == n,
                    f"random_search(objective, space, n_trials={n}, seed) called objective "
                    f"{len(rec.calls)} times; expected exactly {n}")
        for params in rec.calls:
            assert_true(isinstance(params, dict) and set(params) == set(space),
                        f"random_search: objective must get a dict with keys {sorted(space)}, "
                        f"got {params!r}")


@pytest.mark.points(1)
def test_returns_best_evaluated_params(student, rng):
    """random_search: returns the params of the lowest objective value seen, and that value"""
    space = {"lr": ("log", 1e-5, 1e-1), "momentum": ("uniform", 0.5, 0.99),
             "act": ["relu", "tanh", "gelu"]}

    def objective(p: dict[str, Any]) -> float:
        # Known function, minimum 0 at lr = 10**-2.5, momentum = 0.85, act = tanh.
        return ((math.log10(p["lr"]) + 2.5) ** 2 + (p["momentum"] - 0.85) ** 2
                + (0.0 if p["act"] == "tanh" else 0.3))

    rec = Recorder(objective)
    result = student.random_search(rec, space, 40, _seed(rng))
    assert_true(isinstance(result, tuple) and len(result) == 2,
                "random_search must return a tuple (best_params, best_value)")
    best_params, best_value = result
    k = int(np.argmin(rec.values))
    assert_close(float(best_value), rec.values[k], fn="random_search", what="best_value",
                 rtol=1e-12, atol=0.0)
    assert_true(isinstance(best_params, dict) and set(best_params) == set(space),
                f"random_search: best_params must be a dict with keys {sorted(space)}")
    assert_true(best_params["act"] == rec.calls[k]["act"],
                "random_search: best_params are not the params of the best call")
    assert_close([best_params["lr"], best_params["momentum"]],
                 [rec.calls[k]["lr"], rec.calls[k]["momentum"]], fn="random_search",
                 what="best_params['lr'], best_params['momentum'] (vs the best call's params)",
                 rtol=1e-12, atol=0.0)


@pytest.mark.points(2)
def test_log_scale_sampling_is_log_uniform(student, rng):
    """random_search: ('log', low, high) samples are log-uniform: log(x) ~ U(log low, log high)"""
    low, high, n = 1e-6, 1e-1, 300
    calls = _samples(student, {"lr": ("log", low, high)}, n, _seed(rng))
    x = np.array([c["lr"] for c in calls], dtype=float)
    assert_true(bool(np.all((x >= low) & (x <= high))),
                f"random_search: ('log', {low}, {high}) sampled {x.min():.3g}..{x.max():.3g}, "
                "outside the range")
    u = (np.log(x) - math.log(low)) / (math.log(high) - math.log(low))
    d, crit = _ks_uniform(u)
    assert_true(d <= crit,
                f"random_search: ('log', {low}, {high}) samples are not log-uniform: "
                f"{n} samples, Kolmogorov-Smirnov distance of log(x) from uniform {d:.3f} > "
                f"{crit:.3f}; median sample {np.median(x):.3g}, expected about "
                f"{math.sqrt(low * high):.3g}")


@pytest.mark.points(1)
def test_uniform_sampling_is_uniform(student, rng):
    """random_search: ('uniform', low, high) samples are uniform on [low, high]"""
    low, high, n = -3.0, 5.0, 300
    calls = _samples(student, {"x": ("uniform", low, high)}, n, _seed(rng))
    x = np.array([c["x"] for c in calls], dtype=float)
    assert_true(bool(np.all((x >= low) & (x <= high))),
                f"random_search: ('uniform', {low}, {high}) sampled {x.min():.3g}..{x.max():.3g}, "
                "outside the range")
    d, crit = _ks_uniform((x - low) / (high - low))
    assert_true(d <= crit,
                f"random_search: ('uniform', {low}, {high}) samples are not uniform: "
                f"Kolmogorov-Smirnov distance {d:.3f} > {crit:.3f} over {n} samples")


@pytest.mark.points(1)
def test_choices_sampled_from_list(student, rng):
    """random_search: a list spec yields its elements, each about equally often"""
    acts, widths, n = ["relu", "tanh", "gelu"], [16, 32, 64, 128], 240
    calls = _samples(student, {"act": acts, "width": widths}, n, _seed(rng))
    for name, choices in (("act", acts), ("width", widths)):
        got = [c[name] for c in calls]
        bad = [g for g in got if g not in choices]
        assert_true(not bad, f"random_search: {name!r} in {choices} sampled {bad[:3]!r}, "
                             "which is not one of the choices")
        # Each count is Binomial(n, 1/k): 6 standard deviations is a generous band.
        p = 1.0 / len(choices)
        band = 6 * math.sqrt(n * p * (1 - p))
        for c in choices:
            count = sum(g == c for g in got)
            assert_true(abs(count - n * p) <= band,
                        f"random_search: choice {c!r} of {name!r} came up {count} times in {n} "
                        f"trials, expected about {n * p:.0f} (each choice equally likely)")


@pytest.mark.points(1)
def test_reproducible_by_seed(student, rng):
    """random_search: the same seed gives the same trials, another seed different ones"""
    space = {"lr": ("log", 1e-4, 1.0), "wd": ("uniform", 0.0, 0.1), "bs": [32, 64, 128]}
    seed = _seed(rng)
    a = _samples(student, space, 8, seed)
    b = _samples(student, space, 8, seed)
    c = _samples(student, space, 8, seed + 1)
    assert_true(a == b, "random_search: two runs with the same seed tried different params "
                        f"(first trial {a[0]!r} vs {b[0]!r}); use only the seed's generator")
    assert_true([t["lr"] for t in a] != [t["lr"] for t in c],
                "random_search: seeds differing by one tried the same params; build the "
                "generator from the seed argument")
