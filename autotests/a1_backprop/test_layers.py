"""Hidden tests for a1_backprop: affine / relu / sigmoid layers, the two-layer net, XOR.

References are float64 torch computations with autograd, computed before the student's code
sees the inputs. Modifying an input in place is charged once, in
test_no_layer_function_modifies_its_inputs; the value tests do not check it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from grader.testing import (
    assert_close,
    assert_inputs_unchanged,
    assert_true,
    to_numpy,
    to_torch,
)

# --- affine ----------------------------------------------------------------------------


def _affine_case(rng: np.random.Generator, n: int, dims: tuple[int, ...], m: int):
    x = rng.standard_normal((n, *dims))
    d = int(np.prod(dims))
    w = rng.standard_normal((d, m))
    b = rng.standard_normal(m)
    dout = rng.standard_normal((n, m))
    return x, w, b, dout


def _affine_reference(x, w, b, dout):
    """out and (dx, dw, db) from F.linear (torch weights are (M, D): pass w.T)."""
    xt, wt, bt = (to_torch(a).requires_grad_(True) for a in (x, w, b))
    out = F.linear(xt.reshape(x.shape[0], -1), wt.T, bt)
    out.backward(to_torch(dout))
    return to_numpy(out.detach()), to_numpy(xt.grad), to_numpy(wt.grad), to_numpy(bt.grad)


def _student_affine(student: Any, x, w, b, dout):
    """Run forward and backward; returns out, dx, dw, db."""
    out, cache = student.affine_forward(x, w, b)
    dx, dw, db = student.affine_backward(dout, cache)
    return out, dx, dw, db


@pytest.mark.points(1)
def test_affine_forward_matches_linear_multidim_input(student, rng):
    """affine_forward: x of shape (N, 2, 3) flattened per sample, out = x2d @ w + b"""
    x, w, b, dout = _affine_case(rng, int(rng.integers(2, 6)), (2, 3), 4)
    expected, *_ = _affine_reference(x, w, b, dout)
    out, _ = student.affine_forward(x, w, b)
    assert_close(out, expected, fn="affine_forward", what="out", inputs={"x": x, "w": w, "b": b})


@pytest.mark.points(1)
def test_affine_backward_dx_has_input_shape(student, rng):
    """affine_backward: dx equals torch's and has x's original shape (N, 2, 3)"""
    x, w, b, dout = _affine_case(rng, int(rng.integers(2, 6)), (2, 3), 4)
    _, edx, _, _ = _affine_reference(x, w, b, dout)
    _, dx, _, _ = _student_affine(student, x, w, b, dout)
    assert_close(dx, edx, fn="affine_backward", what="dx", inputs={"x": x, "w": w, "dout": dout})


@pytest.mark.points(1)
def test_affine_backward_dw_matches_autograd(student, rng):
    """affine_backward: dw equals torch's, shape (D, M)"""
    x, w, b, dout = _affine_case(rng, int(rng.integers(2, 6)), (2, 3), 4)
    _, _, edw, _ = _affine_reference(x, w, b, dout)
    _, _, dw, _ = _student_affine(student, x, w, b, dout)
    assert_close(dw, edw, fn="affine_backward", what="dw", inputs={"x": x, "w": w, "dout": dout})


@pytest.mark.points(1)
def test_affine_backward_db_sums_over_batch(student, rng):
    """affine_backward: db equals torch's, the sum of dout over the batch, shape (M,)"""
    x, w, b, dout = _affine_case(rng, int(rng.integers(2, 6)), (5,), 3)
    _, _, _, edb = _affine_reference(x, w, b, dout)
    _, _, _, db = _student_affine(student, x, w, b, dout)
    assert_close(db, edb, fn="affine_backward", what="db", inputs={"x": x, "w": w, "dout": dout})


@pytest.mark.points(1)
def test_affine_single_sample(student, rng):
    """affine_forward/backward: a batch of one sample (N = 1) keeps every shape"""
    x, w, b, dout = _affine_case(rng, 1, (3, 2), 5)
    expected = _affine_reference(x, w, b, dout)
    out, dx, dw, db = _student_affine(student, x, w, b, dout)
    inputs = {"x": x, "w": w, "b": b, "dout": dout}
    for got, exp, what in zip((out, dx, dw, db), expected, ("out", "dx", "dw", "db"), strict=True):
        fn = "affine_forward" if what == "out" else "affine_backward"
        assert_close(got, exp, fn=fn, what=what, inputs=inputs)


# --- relu --------------------------------------------------------------------------------


@pytest.mark.points(1)
def test_relu_forward_matches_torch(student, rng):
    """relu_forward: out = max(0, x) elementwise, any shape"""
    x = rng.standard_normal((3, 4, 5))
    expected = to_numpy(F.relu(to_torch(x)))
    out, _ = student.relu_forward(x)
    assert_close(out, expected, fn="relu_forward", inputs={"x": x})


def _relu_backward_case(student: Any, x: np.ndarray, dout: np.ndarray) -> None:
    xt = to_torch(x).requires_grad_(True)
    F.relu(xt).backward(to_torch(dout))
    _, cache = student.relu_forward(x)
    dx = student.relu_backward(dout, cache)
    assert_close(
        dx, to_numpy(xt.grad), fn="relu_backward", what="dx", inputs={"x": x, "dout": dout}
    )


@pytest.mark.points(1)
def test_relu_backward_matches_autograd(student, rng):
    """relu_backward: dx = dout where x > 0, 0 where x < 0 (no x is exactly 0 here)"""
    x = rng.standard_normal((6, 7))
    x[x == 0.0] = 0.5
    _relu_backward_case(student, x, rng.standard_normal(x.shape))


@pytest.mark.points(1)
def test_relu_backward_is_zero_at_the_kink(student, rng):
    """relu_backward: the gradient at exactly x == 0 is 0, as torch's"""
    x = rng.standard_normal((6, 7))
    x[rng.random(x.shape) < 0.3] = 0.0
    x.flat[:2] = 0.0  # at least two kinks whatever the draw
    _relu_backward_case(student, x, rng.standard_normal(x.shape))


# --- sigmoid ------------------------------------------------------------------------------


def _sigmoid_reference(x, dout):
    xt = to_torch(x).requires_grad_(True)
    out = torch.sigmoid(xt)
    out.backward(to_torch(dout))
    return to_numpy(out.detach()), to_numpy(xt.grad)


@pytest.mark.points(1)
def test_sigmoid_forward_matches_torch(student, rng):
    """sigmoid_forward: out = 1 / (1 + exp(-x)) for moderate x"""
    x = 4.0 * rng.standard_normal((5, 6))
    expected, _ = _sigmoid_reference(x, np.ones_like(x))
    out, _ = student.sigmoid_forward(x)
    assert_close(out, expected, fn="sigmoid_forward", inputs={"x": x})


@pytest.mark.points(1)
def test_sigmoid_backward_matches_autograd(student, rng):
    """sigmoid_backward: dx = dout * s * (1 - s)"""
    x = 4.0 * rng.standard_normal((5, 6))
    dout = rng.standard_normal(x.shape)
    _, expected = _sigmoid_reference(x, dout)
    _, cache = student.sigmoid_forward(x)
    dx = student.sigmoid_backward(dout, cache)
    assert_close(dx, expected, fn="sigmoid_backward", what="dx", inputs={"x": x, "dout": dout})


@pytest.mark.points(2)
def test_sigmoid_extreme_inputs_stay_finite(student, rng):
    """sigmoid_forward/backward: finite and correct for |x| up to 1e3"""
    big = rng.uniform(30.0, 1000.0, size=10)
    x = np.concatenate([big, -big, [1000.0, -1000.0, 0.0, 745.0, -745.0]])
    rng.shuffle(x)
    dout = rng.standard_normal(x.shape)
    eout, edx = _sigmoid_reference(x, dout)
    out, cache = student.sigmoid_forward(x)
    dx = student.sigmoid_backward(dout, cache)
    # Values like sigmoid(-745) ~ 5e-324 sit far below atol, so only NaN/inf or a plainly
    # wrong value (0.5, 1 instead of 0) fails here.
    assert_close(out, eout, fn="sigmoid_forward", inputs={"x": x})
    assert_close(dx, edx, fn="sigmoid_backward", what="dx", inputs={"x": x, "dout": dout})


# --- two-layer net ----------------------------------------------------------------------


def _net_case(rng: np.random.Generator):
    n, d, h = 6, 3, 5
    X = rng.standard_normal((n, d))
    params = {
        "W1": 0.8 * rng.standard_normal((d, h)),
        "b1": 0.5 * rng.standard_normal(h),
        "W2": 0.8 * rng.standard_normal((h, 1)),
        "b2": 0.5 * rng.standard_normal(1),
    }
    y = (rng.random(n) < 0.5).astype(np.float64)
    y[:2] = [0.0, 1.0]  # both classes present
    return X, params, y


def _net_reference(X, params, y):
    """p, mean BCE and parameter gradients from torch autograd."""
    tp = {k: to_torch(v).requires_grad_(True) for k, v in params.items()}
    hidden = torch.sigmoid(to_torch(X) @ tp["W1"] + tp["b1"])
    p = torch.sigmoid(hidden @ tp["W2"] + tp["b2"])[:, 0]
    loss = F.binary_cross_entropy(p, to_torch(y))
    loss.backward()
    grads = {k: to_numpy(t.grad) for k, t in tp.items()}
    return to_numpy(p.detach()), loss.item(), grads


def _student_net(student: Any, X, params, y=None):
    return student.two_layer_net(X, params) if y is None else student.two_layer_net(X, params, y)


@pytest.mark.points(1)
def test_two_layer_net_predicts_probabilities(student, rng):
    """two_layer_net: without y returns p = sigmoid(sigmoid(X W1 + b1) W2 + b2) of shape (N,)"""
    X, params, y = _net_case(rng)
    ep, _, _ = _net_reference(X, params, y)
    p = _student_net(student, X, params)
    assert_close(p, ep, fn="two_layer_net", what="p", inputs={"X": X, **params})


@pytest.mark.points(1)
def test_two_layer_net_loss_matches_torch_bce(student, rng):
    """two_layer_net: with y the loss is the mean binary cross-entropy"""
    X, params, y = _net_case(rng)
    _, eloss, _ = _net_reference(X, params, y)
    loss, _ = _student_net(student, X, params, y)
    assert_close(loss, eloss, fn="two_layer_net", what="loss", inputs={"X": X, "y": y, **params})


@pytest.mark.points(1)
def test_two_layer_net_output_layer_grads(student, rng):
    """two_layer_net: grads['W2'] (H, 1) and grads['b2'] (1,) equal torch autograd's"""
    X, params, y = _net_case(rng)
    _, _, eg = _net_reference(X, params, y)
    _, grads = _student_net(student, X, params, y)
    assert_true(isinstance(grads, dict), "two_layer_net must return (loss, grads), grads a dict")
    for k in ("W2", "b2"):
        assert_true(k in grads, f"two_layer_net: grads has no key '{k}'")
        assert_close(
            grads[k],
            eg[k],
            fn="two_layer_net",
            what=f"grads['{k}']",
            inputs={"X": X, "y": y, **params},
        )


@pytest.mark.points(1)
def test_two_layer_net_hidden_layer_grads(student, rng):
    """two_layer_net: grads['W1'] (D, H) and grads['b1'] (H,) equal torch autograd's"""
    X, params, y = _net_case(rng)
    _, _, eg = _net_reference(X, params, y)
    _, grads = _student_net(student, X, params, y)
    assert_true(isinstance(grads, dict), "two_layer_net must return (loss, grads), grads a dict")
    for k in ("W1", "b1"):
        assert_true(k in grads, f"two_layer_net: grads has no key '{k}'")
        assert_close(
            grads[k],
            eg[k],
            fn="two_layer_net",
            what=f"grads['{k}']",
            inputs={"X": X, "y": y, **params},
        )


# --- the in-place rule, charged once -------------------------------------------------------


@pytest.mark.points(1)
def test_no_layer_function_modifies_its_inputs(student, rng):
    """affine/relu/sigmoid forward and backward, two_layer_net: no input is modified in place"""
    x, w, b, dout = _affine_case(rng, 4, (2, 3), 5)
    _, cache = student.affine_forward(x, w, b)
    assert_inputs_unchanged(student, fn="affine_forward", inputs={"x": x, "w": w, "b": b})
    student.affine_backward(dout, cache)
    assert_inputs_unchanged(student, fn="affine_backward", inputs={"dout": dout})
    for name in ("relu", "sigmoid"):
        x = rng.standard_normal((4, 5))
        dout = rng.standard_normal(x.shape)
        _, cache = getattr(student, f"{name}_forward")(x)
        assert_inputs_unchanged(student, fn=f"{name}_forward", inputs={"x": x})
        getattr(student, f"{name}_backward")(dout, cache)
        assert_inputs_unchanged(student, fn=f"{name}_backward", inputs={"dout": dout})
    X, params, y = _net_case(rng)
    student.two_layer_net(X, params)
    assert_inputs_unchanged(student, fn="two_layer_net", inputs={"X": X, "params": params})
    student.two_layer_net(X, params, y)
    assert_inputs_unchanged(student, fn="two_layer_net",
                            inputs={"X": X, "params": params, "y": y})


# --- XOR ----------------------------------------------------------------------------------

XOR_X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
XOR_Y = np.array([0.0, 1.0, 1.0, 0.0])


def _check_params_layout(params: Any) -> None:
    kind = type(params).__name__
    assert_true(isinstance(params, dict), f"train_xor must return a dict, got {kind}")
    missing = {"W1", "b1", "W2", "b2"} - set(params)
    assert_true(not missing, f"train_xor: params has no key(s) {sorted(missing)}")
    h = np.shape(params["W1"])[-1]
    expected = {"W1": (2, h), "b1": (h,), "W2": (h, 1), "b2": (1,)}
    for k, shape in expected.items():
        got = np.shape(params[k])
        assert_true(got == shape, f"train_xor: params['{k}'] has shape {got}, expected {shape}")


@pytest.mark.points(2)
def test_train_xor_classifies_all_four_points(student, run_seed):
    """train_xor: the trained network outputs p > 0.5 exactly on the XOR points labelled 1"""
    seed = int(run_seed) % (2**31)
    params = student.train_xor(seed)
    _check_params_layout(params)
    # Evaluate on the trusted side so a wrong two_layer_net cannot hide a bad training.
    tp = {k: to_torch(np.asarray(v, dtype=np.float64)) for k, v in params.items()}
    hidden = torch.sigmoid(to_torch(XOR_X) @ tp["W1"] + tp["b1"])
    p = to_numpy(torch.sigmoid(hidden @ tp["W2"] + tp["b2"])[:, 0])
    wrong = [
        f"x={XOR_X[i].tolist()}: p={p[i]:.3f}, label {int(XOR_Y[i])}"
        for i in range(4)
        if (p[i] > 0.5) != (XOR_Y[i] == 1)
    ]
    assert_true(
        not wrong,
        f"train_xor({seed}) misclassifies "
        + "; ".join(wrong)
        + " (check the gradients, the learning rate and the number of steps)",
    )


@pytest.mark.points(1)
def test_train_xor_replays_with_same_seed(student, rng):
    """train_xor: the same seed gives the same parameters (randomness only from the seed)"""
    seed = int(rng.integers(0, 2**31))
    first = student.train_xor(seed)
    second = student.train_xor(seed)
    _check_params_layout(first)
    for k in ("W1", "b1", "W2", "b2"):
        assert_close(
            second[k],
            first[k],
            fn="train_xor",
            inputs={"seed": seed},
            what=f"params['{k}'] of a second call with seed {seed} (the reference: the first's)",
            rtol=0,
            atol=0,
        )
