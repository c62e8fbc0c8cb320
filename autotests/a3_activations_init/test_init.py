"""Hidden tests for a3_activations_init: Xavier/Glorot and He/Kaiming initializations.

The expected std / bound come from torch.nn.init's own logic: fans from
``_calculate_fan_in_and_fan_out`` on a torch-layout (fan_out, fan_in) tensor and gains from
``calculate_gain``, as in xavier_normal_ / xavier_uniform_ / kaiming_normal_ / kaiming_uniform_
(nonlinearity='relu', mode='fan_in').

Draws are random, so the moment checks are hypothesis tests whose tolerances come from the
sampling distribution of each statistic for n = fan_in·fan_out draws (SIGMAS standard
deviations: a correct implementation fails with probability ~1e-9 per check, while every wrong
constant in the lecture's formulas is off by tens of standard deviations).

Each ``rng`` passed to the student is a numpy Generator made here, on the trusted side, and sent
by value. That only ``rng`` is used is checked by what the calls return: two calls with
Generators in equal states must give equal weights, two different states different weights.
numpy's global state is never reseeded: that could only be done through a name the student's
module controls (its ``np``), so its effect could not be trusted.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
import torch

from grader.grading.proxy import is_handle, type_name
from grader.testing import assert_true

SIGMAS = 6.0
INITS = ("xavier_normal", "xavier_uniform", "he_normal", "he_uniform")


# --- references from torch.nn.init -----------------------------------------------------------


def _torch_fans(fan_in: int, fan_out: int) -> tuple[int, int]:
    """torch's (fan_in, fan_out) of a Linear weight, which is laid out (fan_out, fan_in)."""
    return torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(fan_out, fan_in))


def _xavier_std(fan_in: int, fan_out: int, gain: float) -> float:
    """std of torch.nn.init.xavier_normal_: gain·sqrt(2 / (fan_in + fan_out))."""
    t_in, t_out = _torch_fans(fan_in, fan_out)
    return gain * math.sqrt(2.0 / float(t_in + t_out))


def _he_std(fan_in: int, fan_out: int) -> float:
    """std of kaiming_normal_(nonlinearity='relu', mode='fan_in'): gain('relu') / sqrt(fan_in)."""
    t_in, _ = _torch_fans(fan_in, fan_out)
    return torch.nn.init.calculate_gain("relu") / math.sqrt(t_in)


def _uniform_bound(std: float) -> float:
    """torch's xavier_uniform_ / kaiming_uniform_ bound: sqrt(3)·std (U(-a, a) has var a²/3)."""
    return math.sqrt(3.0) * std


# --- calling the student ---------------------------------------------------------------------


def _seed(rng: np.random.Generator) -> int:
    return int(rng.integers(2**63))


def _fans(rng: np.random.Generator) -> tuple[int, int]:
    """Fans 150..550 that differ by at least 100 (either may be the larger): confusing one for
    the other changes the variance by over 18%, far beyond the tolerance."""
    small = int(rng.integers(150, 300))
    large = small + int(rng.integers(100, 250))
    return (small, large) if rng.random() < 0.5 else (large, small)


def _draw(student: Any, name: str, fan_in: int, fan_out: int, rng_handle: Any,
          **kwargs: Any) -> np.ndarray:
    w = getattr(student, name)(fan_in, fan_out, rng_handle, **kwargs)
    call = _call(name, fan_in, fan_out, **kwargs)
    assert_true(isinstance(w, np.ndarray) and not is_handle(w),
                f"{call} should return a numpy array, got {type_name(w)}")
    assert_true(w.dtype.kind == "f", f"{call} should return floats, got dtype {w.dtype}")
    return w


def _call(name: str, fan_in: int, fan_out: int, **kwargs: Any) -> str:
    extra = "".join(f", {k}={v:.4g}" for k, v in kwargs.items())
    return f"{name}(fan_in={fan_in}, fan_out={fan_out}, rng{extra})"


# --- statistics ------------------------------------------------------------------------------


def _check_moments(w: np.ndarray, std: float, kind: str, call: str, formula: str) -> None:
    """Mean 0 and variance std² within SIGMAS sampling standard deviations.

    For n i.i.d. draws of mean 0 and variance v = std²: the sample mean has sd sqrt(v/n); the
    second moment m2 = mean(w²) has sd sqrt((μ4 - v²)/n), with μ4 = 3v² for a normal and
    9v²/5 for a uniform (μ4 = a⁴/5 with v = a²/3).
    """
    v = std**2
    n = w.size
    mu4 = 3.0 * v**2 if kind == "normal" else 1.8 * v**2
    mean, m2 = float(w.mean()), float(np.mean(np.square(w)))
    tol_mean = SIGMAS * math.sqrt(v / n)
    tol_var = SIGMAS * math.sqrt((mu4 - v**2) / n)
    assert_true(abs(mean) <= tol_mean,
                f"{call}: the mean of the {n} weights is {mean:.3g}, expected 0 within "
                f"±{tol_mean:.2g} ({SIGMAS:g} sampling standard deviations)")
    assert_true(abs(m2 - v) <= tol_var,
                f"{call}: the variance of the {n} weights is {m2:.5g} (std {math.sqrt(m2):.5g}) "
                f"but should be {v:.5g} (std {std:.5g} = {formula}); allowed ±{tol_var:.2g} "
                f"({SIGMAS:g} sampling standard deviations)")


def _check_bounds(w: np.ndarray, bound: float, call: str, formula: str) -> None:
    """All |w| <= a, and the draws reach close to ±a: with n uniform draws,
    P(max |w| < a(1 - eps)) = (1 - eps)^n, which is e^-30 for eps = 30/n."""
    top = float(np.max(np.abs(w)))
    assert_true(top <= bound * (1 + 1e-9),
                f"{call}: max |w| = {top:.6g} exceeds the bound a = {bound:.6g} = {formula}")
    eps = 30.0 / w.size
    assert_true(top >= bound * (1 - eps),
                f"{call}: max |w| = {top:.6g} over {w.size} draws, but U(-a, a) with a = "
                f"{bound:.6g} = {formula} reaches within {bound * eps:.2g} of a "
                "(is the bound sqrt(3)·std?)")


def _kurtosis_check(w: np.ndarray, call: str) -> None:
    """Scale-free Gaussianity check: mean(w⁴)/mean(w²)² is 3 for a normal (1.8 for a
    uniform); for a normal its sampling sd is sqrt(24/n) (delta method)."""
    m2, m4 = float(np.mean(w**2)), float(np.mean(w**4))
    kurt = m4 / m2**2
    tol = SIGMAS * math.sqrt(24.0 / w.size)
    assert_true(abs(kurt - 3.0) <= tol,
                f"{call}: the weights do not look normal: mean(w⁴)/mean(w²)² = {kurt:.3f}, a "
                f"normal distribution gives 3 (±{tol:.2g}), a uniform one 1.8; draw with "
                "rng.normal / rng.standard_normal")


# --- tests -----------------------------------------------------------------------------------


@pytest.mark.points(1)
def test_inits_return_fan_in_by_fan_out(student, rng):
    """all four inits: return an array of shape (fan_in, fan_out), not torch's (fan_out, fan_in)"""
    for fan_in, fan_out in ((3, 8), (9, 4)):
        for name in INITS:
            w = _draw(student, name, fan_in, fan_out, np.random.default_rng(_seed(rng)))
            assert_true(w.shape == (fan_in, fan_out),
                        f"{_call(name, fan_in, fan_out)} returned shape {w.shape}, expected "
                        f"(fan_in, fan_out) = {(fan_in, fan_out)}")


@pytest.mark.points(1)
def test_xavier_normal_mean_and_variance(student, rng):
    """xavier_normal: mean 0 and std = sqrt(2/(fan_in + fan_out)) (as torch xavier_normal_)"""
    fan_in, fan_out = _fans(rng)
    w = _draw(student, "xavier_normal", fan_in, fan_out, np.random.default_rng(_seed(rng)))
    _check_moments(w, _xavier_std(fan_in, fan_out, 1.0), "normal",
                   _call("xavier_normal", fan_in, fan_out), "sqrt(2/(fan_in+fan_out))")


@pytest.mark.points(1)
def test_xavier_normal_uses_gain(student, rng):
    """xavier_normal: std = gain·sqrt(2/(fan_in + fan_out)) with gain = calculate_gain('tanh')"""
    fan_in, fan_out = _fans(rng)
    gain = torch.nn.init.calculate_gain("tanh")
    w = _draw(student, "xavier_normal", fan_in, fan_out, np.random.default_rng(_seed(rng)),
              gain=gain)
    _check_moments(w, _xavier_std(fan_in, fan_out, gain), "normal",
                   _call("xavier_normal", fan_in, fan_out, gain=gain),
                   "gain·sqrt(2/(fan_in+fan_out))")


@pytest.mark.points(1)
def test_xavier_uniform_bounds(student, rng):
    """xavier_uniform: draws fill U(-a, a) with a = sqrt(6/(fan_in + fan_out))"""
    fan_in, fan_out = _fans(rng)
    w = _draw(student, "xavier_uniform", fan_in, fan_out, np.random.default_rng(_seed(rng)))
    _check_bounds(w, _uniform_bound(_xavier_std(fan_in, fan_out, 1.0)),
                  _call("xavier_uniform", fan_in, fan_out), "sqrt(6/(fan_in+fan_out))")


@pytest.mark.points(1)
def test_xavier_uniform_variance_with_gain(student, rng):
    """xavier_uniform: with gain = calculate_gain('relu'), mean 0 and variance a²/3"""
    fan_in, fan_out = _fans(rng)
    gain = torch.nn.init.calculate_gain("relu")
    w = _draw(student, "xavier_uniform", fan_in, fan_out, np.random.default_rng(_seed(rng)),
              gain=gain)
    _check_moments(w, _xavier_std(fan_in, fan_out, gain), "uniform",
                   _call("xavier_uniform", fan_in, fan_out, gain=gain),
                   "gain·sqrt(2/(fan_in+fan_out)), i.e. a²/3 with "
                   "a = gain·sqrt(6/(fan_in+fan_out))")


@pytest.mark.points(1)
def test_he_normal_mean_and_variance(student, rng):
    """he_normal: mean 0 and std = sqrt(2/fan_in) (kaiming_normal_, relu, mode fan_in)"""
    fan_in, fan_out = _fans(rng)
    w = _draw(student, "he_normal", fan_in, fan_out, np.random.default_rng(_seed(rng)))
    _check_moments(w, _he_std(fan_in, fan_out), "normal", _call("he_normal", fan_in, fan_out),
                   "sqrt(2/fan_in)")


@pytest.mark.points(1)
def test_he_uniform_bounds_and_variance(student, rng):
    """he_uniform: U(-a, a) with a = sqrt(6/fan_in) (kaiming_uniform_, relu, mode fan_in)"""
    fan_in, fan_out = _fans(rng)
    w = _draw(student, "he_uniform", fan_in, fan_out, np.random.default_rng(_seed(rng)))
    call, std = _call("he_uniform", fan_in, fan_out), _he_std(fan_in, fan_out)
    _check_bounds(w, _uniform_bound(std), call, "sqrt(6/fan_in)")
    _check_moments(w, std, "uniform", call, "sqrt(2/fan_in), i.e. a²/3 with a = sqrt(6/fan_in)")


@pytest.mark.points(1)
def test_normal_inits_are_gaussian(student, rng):
    """xavier_normal and he_normal: the draws are normal (fourth moment 3·std⁴), not uniform"""
    for name in ("xavier_normal", "he_normal"):
        fan_in, fan_out = _fans(rng)
        w = _draw(student, name, fan_in, fan_out, np.random.default_rng(_seed(rng)))
        _kurtosis_check(w, _call(name, fan_in, fan_out))


@pytest.mark.points(1)
def test_inits_replay_with_same_seed(student, rng):
    """all four inits: the same seed gives identical weights (only rng is drawn from)"""
    for name in INITS:
        seed = _seed(rng)
        # Global np.random state moves on between the two calls: code that draws from it
        # gives different weights here.
        draws = [_draw(student, name, 20, 30, np.random.default_rng(seed)) for _ in range(2)]
        assert_true(draws[0].shape == draws[1].shape and np.array_equal(draws[0], draws[1]),
                    f"{name}: two calls with np.random.default_rng({seed}) as rng gave different "
                    "weights. Draw only from the rng argument (rng.normal, rng.uniform), never "
                    "from np.random.randn / np.random.uniform (global state)")


@pytest.mark.points(1)
def test_inits_differ_with_different_seeds(student, rng):
    """all four inits: different seeds give different weights (the rng argument is used)"""
    for name in INITS:
        seeds = (_seed(rng), _seed(rng))
        draws = [_draw(student, name, 20, 30, np.random.default_rng(seed)) for seed in seeds]
        assert_true(not np.array_equal(draws[0], draws[1]),
                    f"{name}: generators seeded {seeds[0]} and {seeds[1]} gave identical "
                    "weights: the rng argument is ignored (a generator or np.random.seed with "
                    "a fixed seed?)")
