"""Public tests for a1_backprop: run them with `pytest` (or `grader check a1_backprop`).

They compare your analytic gradients with centered finite differences,
    df/dx ~ (f(x + h) - f(x - h)) / (2h),
and check a few values worked out in the lecture. Passing them is a good sign, not a
guarantee: the hidden tests use other (random) inputs and compare with PyTorch.
"""

from __future__ import annotations

import math
import warnings

import backprop
import numpy as np
import pytest
from gradcheck import numerical_gradient, rel_error

# --- Value --------------------------------------------------------------------------------


def test_value_lecture_sigmoid_neuron():
    """The lecture's neuron f = 1 / (1 + exp(-(w0 x0 + w1 x1 + w2))) at w=(2,-3,-3), x=(-1,-2)."""
    w0, x0, w1, x1, w2 = (backprop.Value(v) for v in (2.0, -1.0, -3.0, -2.0, -3.0))
    f = 1 / (1 + (-(w0 * x0 + w1 * x1 + w2)).exp())
    f.backward()
    assert f.data == pytest.approx(0.7310585786, abs=1e-9)
    # df/dz = f (1 - f) = 0.19661193; each input gets it times the value it multiplied.
    assert w0.grad == pytest.approx(-0.19661193, abs=1e-8)
    assert x0.grad == pytest.approx(0.39322387, abs=1e-8)
    assert w1.grad == pytest.approx(-0.39322387, abs=1e-8)
    assert x1.grad == pytest.approx(-0.58983580, abs=1e-8)
    assert w2.grad == pytest.approx(0.19661193, abs=1e-8)


def test_value_sigmoid_method_matches_composed_ops():
    """Value.sigmoid() gives the same value and gradient as 1 / (1 + exp(-x))."""
    for x in (-2.5, 0.3, 4.0):
        a = backprop.Value(x)
        s = a.sigmoid()
        s.backward()
        b = backprop.Value(x)
        t = 1 / (1 + (-b).exp())
        t.backward()
        assert s.data == pytest.approx(t.data, rel=1e-12)
        assert a.grad == pytest.approx(b.grad, rel=1e-9)


@pytest.mark.parametrize(
    "name, f",
    [
        ("add/sub/neg", lambda a, b: (a + b) - (2.0 - a) + (-b) + (b - 3.0) + (1.5 + a)),
        ("mul/div", lambda a, b: a * b / (a + 3.0) + 2.0 * a - 1.0 / b + b / 4.0),
        ("pow", lambda a, b: a**2 + b**3 + (a * a + 1.0) ** 0.5 + (b * b + 1.0) ** -1.5),
        ("exp/log", lambda a, b: (a * b).exp() + (a * a + 1.0).log()),
        ("tanh/sigmoid", lambda a, b: (a * b).tanh() + (a - b).sigmoid()),
        ("relu", lambda a, b: (a * b).relu() + (-a).relu() * b),
        ("shared node", lambda a, b: (lambda t: t * t + t.exp() - t / (t * t + 1.0))(a * b + a)),
    ],
)
def test_value_grads_match_numerical(name, f):
    """Every Value operation: .data and .grad agree with plain floats and finite differences."""
    rng = np.random.default_rng(0)
    for _ in range(3):
        xs = rng.uniform(-1.5, 1.5, size=2)
        a, b = backprop.Value(xs[0]), backprop.Value(xs[1])
        out = f(a, b)
        out.backward()

        def fx(v: np.ndarray) -> float:
            return f(backprop.Value(v[0]), backprop.Value(v[1])).data

        num = numerical_gradient(fx, xs.copy())
        assert rel_error([a.grad, b.grad], num) < 1e-6, f"{name}: grads {a.grad, b.grad} vs {num}"
        assert out.grad == 1.0


def test_value_relu_gradient_is_zero_at_zero():
    a = backprop.Value(0.0)
    out = a.relu()
    out.backward()
    assert out.data == 0.0 and a.grad == 0.0


# --- layers -------------------------------------------------------------------------------


def test_affine_forward_known_values():
    x = np.arange(12, dtype=float).reshape(2, 3, 2)  # two samples of 6 features each
    w = np.linspace(-1.0, 1.0, 6 * 2).reshape(6, 2)
    b = np.array([0.5, -0.5])
    out, _ = backprop.affine_forward(x, w, b)
    assert out.shape == (2, 2)
    np.testing.assert_allclose(out, x.reshape(2, 6) @ w + b)


def test_affine_backward_numerical():
    rng = np.random.default_rng(1)
    x, w, b = rng.standard_normal((3, 2, 2)), rng.standard_normal((4, 5)), rng.standard_normal(5)
    dout = rng.standard_normal((3, 5))
    _, cache = backprop.affine_forward(x, w, b)
    dx, dw, db = backprop.affine_backward(dout, cache)
    assert dx.shape == x.shape and dw.shape == w.shape and db.shape == b.shape

    def loss(x_, w_, b_):
        return float(np.sum(backprop.affine_forward(x_, w_, b_)[0] * dout))

    assert rel_error(dx, numerical_gradient(lambda v: loss(v, w, b), x.copy())) < 1e-7
    assert rel_error(dw, numerical_gradient(lambda v: loss(x, v, b), w.copy())) < 1e-7
    assert rel_error(db, numerical_gradient(lambda v: loss(x, w, v), b.copy())) < 1e-7


def test_relu_forward_backward():
    x = np.array([[-2.0, 0.0, 3.0], [1.5, -0.1, 0.0]])
    out, cache = backprop.relu_forward(x)
    np.testing.assert_array_equal(out, [[0.0, 0.0, 3.0], [1.5, 0.0, 0.0]])
    dout = np.arange(6, dtype=float).reshape(2, 3) + 1.0
    dx = backprop.relu_backward(dout, cache)
    np.testing.assert_array_equal(dx, [[0.0, 0.0, 3.0], [4.0, 0.0, 0.0]])
    assert dout[0, 0] == 1.0, "relu_backward must not modify dout in place"


def test_sigmoid_backward_numerical():
    rng = np.random.default_rng(2)
    x, dout = 3 * rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    out, cache = backprop.sigmoid_forward(x)
    np.testing.assert_allclose(out, 1 / (1 + np.exp(-x)), rtol=1e-12)
    dx = backprop.sigmoid_backward(dout, cache)
    num = numerical_gradient(lambda v: backprop.sigmoid_forward(v)[0], x.copy(), dout)
    assert rel_error(dx, num) < 1e-7


def test_sigmoid_is_stable_for_large_inputs():
    x = np.array([-1000.0, -745.0, -30.0, 0.0, 30.0, 745.0, 1000.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an overflow warning fails the test
        out, cache = backprop.sigmoid_forward(x)
        dx = backprop.sigmoid_backward(np.ones_like(x), cache)
    assert np.all(np.isfinite(out)) and np.all(np.isfinite(dx))
    assert out[0] == 0.0 and out[3] == 0.5 and out[-1] == 1.0
    assert out[2] == pytest.approx(math.exp(-30) / (1 + math.exp(-30)), rel=1e-12)


# --- network and XOR -----------------------------------------------------------------------


def _params(rng: np.random.Generator, d: int = 3, h: int = 4) -> dict[str, np.ndarray]:
    return {
        "W1": rng.standard_normal((d, h)),
        "b1": rng.standard_normal(h),
        "W2": rng.standard_normal((h, 1)),
        "b2": rng.standard_normal(1),
    }


def test_two_layer_net_shapes_and_loss():
    rng = np.random.default_rng(3)
    X, params = rng.standard_normal((5, 3)), _params(rng)
    y = np.array([0.0, 1.0, 1.0, 0.0, 1.0])
    p = backprop.two_layer_net(X, params)
    assert p.shape == (5,) and np.all((p > 0) & (p < 1))
    loss, grads = backprop.two_layer_net(X, params, y)
    expected = -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))
    assert loss == pytest.approx(expected, rel=1e-10)
    assert set(grads) == set(params)
    for k in params:
        assert grads[k].shape == params[k].shape, k


def test_two_layer_net_grads_numerical():
    rng = np.random.default_rng(4)
    X, params = rng.standard_normal((5, 3)), _params(rng)
    y = np.array([1.0, 0.0, 0.0, 1.0, 1.0])
    _, grads = backprop.two_layer_net(X, params, y)
    for k in params:

        def f(v: np.ndarray, k: str = k) -> float:
            return backprop.two_layer_net(X, {**params, k: v}, y)[0]

        assert rel_error(grads[k], numerical_gradient(f, params[k].copy())) < 1e-6, k


def test_train_xor_solves_xor():
    X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    for seed in (0, 1, 2):
        params = backprop.train_xor(seed)
        p = backprop.two_layer_net(X, params)
        np.testing.assert_array_equal(p > 0.5, [False, True, True, False])
