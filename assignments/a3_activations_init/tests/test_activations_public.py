"""Public tests for activations.py: numerical gradient checks, shapes, stability.

Run them with `pytest tests/` (or `grader check a3_activations_init`). They need only numpy.
The graded (hidden) tests compare with PyTorch and check more cases than these.
"""

from __future__ import annotations

import activations as A
import numpy as np
import pytest
from gradcheck import numerical_gradient, rel_error


def away_from_zero(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Standard normal values with |x| >= 0.1, so finite differences never straddle a kink."""
    x = rng.standard_normal(shape)
    return np.where(np.abs(x) < 0.1, 0.1 + np.abs(x), x) * 2


LAYERS = {
    "sigmoid": ({}, lambda x: 1 / (1 + np.exp(-x))),
    "tanh": ({}, np.tanh),
    "relu": ({}, lambda x: np.maximum(x, 0)),
    "leaky_relu": ({"negative_slope": 0.1}, lambda x: np.where(x > 0, x, 0.1 * x)),
    "elu": ({"alpha": 1.5}, lambda x: np.where(x > 0, x, 1.5 * (np.exp(np.minimum(x, 0)) - 1))),
}


@pytest.mark.parametrize("name", list(LAYERS))
def test_forward_known_formula(name):
    kwargs, formula = LAYERS[name]
    x = away_from_zero(np.random.default_rng(0), (4, 5))
    out, _ = getattr(A, f"{name}_forward")(x, **kwargs)
    assert out.shape == x.shape
    np.testing.assert_allclose(out, formula(x), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", list(LAYERS))
def test_backward_numerical_gradient(name):
    kwargs, _ = LAYERS[name]
    rng = np.random.default_rng(1)
    x = away_from_zero(rng, (3, 4))
    dout = rng.standard_normal(x.shape)
    forward = getattr(A, f"{name}_forward")
    _, cache = forward(x, **kwargs)
    dx = getattr(A, f"{name}_backward")(dout, cache)
    assert dx.shape == x.shape
    dx_num = numerical_gradient(lambda v: forward(v, **kwargs)[0], x, dout)
    assert rel_error(dx, dx_num) < 1e-6


def test_kinks_follow_pytorch():
    x = np.zeros((1, 3))
    dout = np.ones_like(x)
    assert np.all(A.relu_backward(dout, A.relu_forward(x)[1]) == 0.0)
    assert np.all(A.leaky_relu_backward(dout, A.leaky_relu_forward(x, 0.2)[1]) == 0.2)
    assert np.all(A.elu_backward(dout, A.elu_forward(x, 0.5)[1]) == 0.5)


@pytest.mark.parametrize("name", ["sigmoid", "tanh", "elu"])
def test_stable_for_large_inputs(name):
    x = np.array([[-1000.0, -710.0, -50.0, 0.0, 50.0, 710.0, 1000.0]])
    forward = getattr(A, f"{name}_forward")
    # Overflow or NaN anywhere raises FloatingPointError; underflow to 0 (exp(-1000)) is fine.
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        out, cache = forward(x)
        dx = getattr(A, f"{name}_backward")(np.ones_like(x), cache)
    assert np.all(np.isfinite(out)) and np.all(np.isfinite(dx))


def test_inputs_not_modified():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((3, 4))
    dout = rng.standard_normal((3, 4))
    x0, dout0 = x.copy(), dout.copy()
    for name, (kwargs, _) in LAYERS.items():
        _, cache = getattr(A, f"{name}_forward")(x, **kwargs)
        getattr(A, f"{name}_backward")(dout, cache)
        assert np.array_equal(x, x0), f"{name}_forward modified x"
        assert np.array_equal(dout, dout0), f"{name}_backward modified dout"


def test_maxout_forward_by_hand():
    x = np.array([[1.0, 2.0]])
    w = np.array([[[1.0], [0.0]], [[0.0], [1.0]]])  # piece 0 picks x_0, piece 1 picks x_1
    b = np.array([[0.0], [-0.5]])
    out, _ = A.maxout_forward(x, w, b)
    np.testing.assert_allclose(out, [[1.5]])


def test_maxout_numerical_gradients():
    rng = np.random.default_rng(3)
    n, d, k, m = 4, 3, 3, 5
    x = rng.standard_normal((n, d))
    w, b = rng.standard_normal((k, d, m)), rng.standard_normal((k, m))
    out, cache = A.maxout_forward(x, w, b)
    assert out.shape == (n, m)
    dout = rng.standard_normal(out.shape)
    dx, dw, db = A.maxout_backward(dout, cache)
    assert dx.shape == x.shape and dw.shape == w.shape and db.shape == b.shape
    # Random pieces are almost surely separated by more than h, so the max is differentiable.
    assert rel_error(dx, numerical_gradient(lambda v: A.maxout_forward(v, w, b)[0], x, dout)) < 1e-6
    assert rel_error(dw, numerical_gradient(lambda v: A.maxout_forward(x, v, b)[0], w, dout)) < 1e-6
    assert rel_error(db, numerical_gradient(lambda v: A.maxout_forward(x, w, v)[0], b, dout)) < 1e-6


def test_maxout_tie_goes_to_first_piece():
    x = np.array([[1.0, -1.0]])
    w = np.ones((2, 2, 1))  # two identical pieces: every output is a tie
    b = np.zeros((2, 1))
    _, cache = A.maxout_forward(x, w, b)
    _, dw, db = A.maxout_backward(np.ones((1, 1)), cache)
    np.testing.assert_array_equal(db, [[1.0], [0.0]])
    np.testing.assert_array_equal(dw[1], np.zeros((2, 1)))


INITS = {
    # name: (kwargs, variance, uniform bound or None) for fan_in = 200, fan_out = 300
    "xavier_normal": ({}, 2 / 500, None),
    "xavier_uniform": ({}, 2 / 500, np.sqrt(6 / 500)),
    "he_normal": ({}, 2 / 200, None),
    "he_uniform": ({}, 2 / 200, np.sqrt(6 / 200)),
}


@pytest.mark.parametrize("name", list(INITS))
def test_init_shape_and_moments(name):
    kwargs, var, bound = INITS[name]
    w = getattr(A, name)(200, 300, np.random.default_rng(4), **kwargs)
    assert w.shape == (200, 300)
    n = w.size
    # Sampling distributions: mean ~ N(0, var/n); mean(w²) has sd var·sqrt(2/n) (normal) or
    # var·sqrt(0.8/n) (uniform). 6 standard deviations: a correct init essentially never fails.
    assert abs(w.mean()) < 6 * np.sqrt(var / n)
    assert abs(np.mean(w**2) - var) < 6 * var * np.sqrt(2 / n)
    if bound is not None:
        assert np.abs(w).max() <= bound
        assert np.abs(w).max() > 0.999 * bound


def test_xavier_gain_scales_std():
    w = A.xavier_normal(200, 300, np.random.default_rng(5), gain=3.0)
    assert abs(np.mean(w**2) / (9 * 2 / 500) - 1) < 6 * np.sqrt(2 / w.size)


@pytest.mark.parametrize("name", list(INITS))
def test_init_uses_the_given_rng(name):
    a = getattr(A, name)(20, 30, np.random.default_rng(7))
    b = getattr(A, name)(20, 30, np.random.default_rng(7))
    c = getattr(A, name)(20, 30, np.random.default_rng(8))
    assert np.array_equal(a, b), "same seed must give the same weights"
    assert not np.array_equal(a, c), "different seeds must give different weights"


def test_layer_stats_by_hand():
    x = np.array([[1.0, -2.0], [0.5, 3.0]])
    weights = [np.eye(2), 2 * np.eye(2)]
    stats = A.layer_stats(x, weights, "relu")
    assert len(stats) == 2
    h1 = np.maximum(x, 0)
    h2 = np.maximum(2 * h1, 0)
    np.testing.assert_allclose(stats, [(h1.mean(), h1.std()), (h2.mean(), h2.std())])


def test_layer_stats_tanh_xavier_keeps_spread():
    rng = np.random.default_rng(9)
    x = rng.standard_normal((200, 100))
    weights = [A.xavier_normal(100, 100, rng) for _ in range(7)]
    stats = A.layer_stats(x, weights, "tanh")
    assert len(stats) == 7
    assert all(0.1 < std < 1 for _, std in stats)
