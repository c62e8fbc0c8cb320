"""Hidden tests for a3_activations_init: sigmoid, tanh, relu, leaky_relu and elu layers.

Every reference is a float64 torch computation with autograd: the forward output of
torch.sigmoid / torch.tanh / F.relu / F.leaky_relu / F.elu and x.grad after
out.backward(dout), computed from the test's arrays before the student gets copies. Inputs
come from the ``rng`` fixture (new every grading run). Each convention is charged once: the
gradient at exactly 0 in the three *_kink tests, finite and correct values for |x| up to 1e3
in the *_stable tests (values, not numpy's warnings: those are printed in the student's own
process, and no verdict rests on what that process says about itself), in-place changes in
test_all_layers_leave_inputs_unchanged; every other test uses inputs with no exact zeros.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from grader.testing import assert_close, assert_inputs_unchanged, to_numpy, to_torch

SHAPE = (6, 11)  # non-square on purpose: a transposed result cannot pass


# --- helpers ---------------------------------------------------------------------------------


def _reference(fn: Callable, x: np.ndarray, dout: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(out, dx) of torch function ``fn`` at x, with dx = d(Σ dout·out)/dx by autograd."""
    xt = to_torch(x, requires_grad=True)
    out = fn(xt)
    out.backward(to_torch(dout))
    return to_numpy(out.detach()), to_numpy(xt.grad)


def _run(student: Any, name: str, x: np.ndarray, dout: np.ndarray, *,
         check_unchanged: bool = False, **kwargs: Any) -> tuple[Any, Any]:
    """The student's (out, dx) for layer ``name``; optionally checks that x and dout are left
    unchanged (only the dedicated test does, so that one slip costs one test)."""
    out, cache = getattr(student, f"{name}_forward")(x, **kwargs)
    if check_unchanged:
        assert_inputs_unchanged(student, fn=f"{name}_forward", inputs={"x": x})
    dx = getattr(student, f"{name}_backward")(dout, cache)
    if check_unchanged:
        assert_inputs_unchanged(student, fn=f"{name}_backward", inputs={"dout": dout})
    return out, dx


def _with_kinks(rng: np.random.Generator, shape: tuple[int, ...] = SHAPE) -> np.ndarray:
    """Gaussian entries (scale 2) with about a third of them exactly +0.0 or -0.0."""
    x = 2.0 * rng.standard_normal(shape)
    zero = rng.random(shape) < 1 / 3
    zero.flat[:2] = True  # at least two kinks whatever the draw
    sign = np.where(rng.random(shape) < 0.5, -1.0, 1.0)
    return np.where(zero, sign * 0.0, x)


def _no_kinks(rng: np.random.Generator, shape: tuple[int, ...] = SHAPE) -> np.ndarray:
    """Gaussian entries (scale 2) kept at least 0.05 away from 0, where the gradients are
    unambiguous."""
    x = 2.0 * rng.standard_normal(shape)
    return np.where(np.abs(x) < 0.05, np.copysign(0.05, x), x)


def _large(rng: np.random.Generator) -> np.ndarray:
    """|x| up to 1e3, including the overflow thresholds of exp (±709.8) and ±1000 exactly."""
    x = rng.uniform(-1000.0, 1000.0, SHAPE)
    x.flat[:10] = [-1000.0, -750.0, -710.0, -40.0, -1e-3, 1e-3, 40.0, 710.0, 750.0, 1000.0]
    return x


def _check(student: Any, name: str, ref: Callable, x: np.ndarray, dout: np.ndarray, *,
           forward: bool = True, backward: bool = True, **kwargs: Any) -> None:
    e_out, e_dx = _reference(ref, x, dout)  # before the call: x may be modified in place
    out, dx = _run(student, name, x.copy(), dout.copy(), **kwargs)
    if forward:
        assert_close(out, e_out, fn=f"{name}_forward", what="out", inputs={"x": x, **kwargs})
    if backward:
        assert_close(dx, e_dx, fn=f"{name}_backward", what="dx",
                     inputs={"dout": dout, "x": x, **kwargs})


def _dout(rng: np.random.Generator, x: np.ndarray) -> np.ndarray:
    return rng.standard_normal(x.shape)


# --- sigmoid ---------------------------------------------------------------------------------


@pytest.mark.points(1)
def test_sigmoid_forward_matches_torch(student, rng):
    """sigmoid_forward: out = 1 / (1 + exp(-x)) equals torch.sigmoid"""
    x = 3.0 * rng.standard_normal(SHAPE)
    _check(student, "sigmoid", torch.sigmoid, x, _dout(rng, x), backward=False)


@pytest.mark.points(1)
def test_sigmoid_backward_matches_autograd(student, rng):
    """sigmoid_backward: dx = dout · σ(x)(1 − σ(x)) equals torch autograd"""
    x = 3.0 * rng.standard_normal(SHAPE)
    _check(student, "sigmoid", torch.sigmoid, x, _dout(rng, x), forward=False)


@pytest.mark.points(1)
def test_sigmoid_stable_for_large_inputs(student, rng):
    """sigmoid: finite, correct values for |x| up to 1e3, forward and backward"""
    x = _large(rng)
    _check(student, "sigmoid", torch.sigmoid, x, _dout(rng, x))


# --- tanh ------------------------------------------------------------------------------------


@pytest.mark.points(1)
def test_tanh_forward_matches_torch(student, rng):
    """tanh_forward: equals torch.tanh"""
    x = 2.0 * rng.standard_normal(SHAPE)
    _check(student, "tanh", torch.tanh, x, _dout(rng, x), backward=False)


@pytest.mark.points(1)
def test_tanh_backward_matches_autograd(student, rng):
    """tanh_backward: dx = dout · (1 − tanh²(x)) equals torch autograd"""
    x = 2.0 * rng.standard_normal(SHAPE)
    _check(student, "tanh", torch.tanh, x, _dout(rng, x), forward=False)


@pytest.mark.points(1)
def test_tanh_stable_for_large_inputs(student, rng):
    """tanh: finite, correct values for |x| up to 1e3, forward and backward"""
    x = _large(rng)
    _check(student, "tanh", torch.tanh, x, _dout(rng, x))


# --- relu ------------------------------------------------------------------------------------


@pytest.mark.points(1)
def test_relu_forward_matches_torch(student, rng):
    """relu_forward: out = max(0, x) equals F.relu, zeros included"""
    x = _with_kinks(rng)
    _check(student, "relu", F.relu, x, _dout(rng, x), backward=False)


@pytest.mark.points(1)
def test_relu_backward_matches_autograd_including_kink(student, rng):
    """relu_backward: gradient equals torch's, 0 at x == 0"""
    x = _with_kinks(rng)
    _check(student, "relu", F.relu, x, _dout(rng, x), forward=False)


# --- leaky relu ------------------------------------------------------------------------------


@pytest.mark.points(1)
def test_leaky_relu_forward_default_slope(student, rng):
    """leaky_relu_forward: default negative_slope=0.01, equals F.leaky_relu"""
    x = _with_kinks(rng)
    _check(student, "leaky_relu", F.leaky_relu, x, _dout(rng, x), backward=False)


@pytest.mark.points(1)
def test_leaky_relu_backward_default_slope_including_kink(student, rng):
    """leaky_relu_backward: gradient equals torch's, negative_slope at x == 0"""
    x = _with_kinks(rng)
    _check(student, "leaky_relu", F.leaky_relu, x, _dout(rng, x), forward=False)


@pytest.mark.points(1)
def test_leaky_relu_custom_slope(student, rng):
    """leaky_relu: a non-default negative_slope is used forward and backward"""
    slope = float(rng.uniform(0.1, 0.4))
    x = _no_kinks(rng)
    _check(student, "leaky_relu", lambda t: F.leaky_relu(t, slope), x, _dout(rng, x),
           negative_slope=slope)


# --- elu -------------------------------------------------------------------------------------


@pytest.mark.points(1)
def test_elu_forward_default_alpha(student, rng):
    """elu_forward: default alpha=1.0, equals F.elu"""
    x = _with_kinks(rng)
    _check(student, "elu", F.elu, x, _dout(rng, x), backward=False)


@pytest.mark.points(1)
def test_elu_backward_default_alpha(student, rng):
    """elu_backward: gradient equals torch's (1 for x > 0, alpha·exp(x) for x < 0)"""
    x = _no_kinks(rng)
    _check(student, "elu", F.elu, x, _dout(rng, x), forward=False)


@pytest.mark.points(1)
def test_elu_custom_alpha_including_kink(student, rng):
    """elu: a non-default alpha is used forward and backward; the gradient at x == 0 is alpha"""
    alpha = float(rng.uniform(0.3, 2.5))
    x = _with_kinks(rng)
    _check(student, "elu", lambda t: F.elu(t, alpha), x, _dout(rng, x), alpha=alpha)


@pytest.mark.points(1)
def test_elu_stable_for_large_inputs(student, rng):
    """elu: finite, correct values for |x| up to 1e3, forward and backward"""
    x = _large(rng)
    _check(student, "elu", F.elu, x, _dout(rng, x))


# --- all layers ------------------------------------------------------------------------------

ALL = {
    "sigmoid": (torch.sigmoid, {}),
    "tanh": (torch.tanh, {}),
    "relu": (F.relu, {}),
    "leaky_relu": (lambda t: F.leaky_relu(t, 0.2), {"negative_slope": 0.2}),
    "elu": (lambda t: F.elu(t, 0.7), {"alpha": 0.7}),
}


@pytest.mark.points(1)
def test_all_layers_batch_of_one_and_3d_input(student, rng):
    """all five layers: a batch of one (1, D) and a 3-D input (2, 3, 4) work elementwise"""
    for shape in ((1, 7), (2, 3, 4)):
        for name, (ref, kwargs) in ALL.items():
            x = _no_kinks(rng, shape)
            _check(student, name, ref, x, _dout(rng, x), **kwargs)


@pytest.mark.points(1)
def test_all_layers_leave_inputs_unchanged(student, rng):
    """all five layers: forward leaves x and backward leaves dout unmodified"""
    for name, (_, kwargs) in ALL.items():
        x = _no_kinks(rng)
        _run(student, name, x, _dout(rng, x), check_unchanged=True, **kwargs)
