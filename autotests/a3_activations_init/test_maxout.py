"""Hidden tests for a3_activations_init: the maxout layer.

Reference: the K affine pieces computed in float64 torch, stacked to (K, N, M) and reduced with
torch.max(dim=0), which sends the whole gradient of a tie to the first maximal piece; gradients
by autograd.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch

from grader.testing import assert_close, assert_inputs_unchanged, to_numpy, to_torch


def _case(rng: np.random.Generator, n: int, d: int, k: int, m: int):
    """Gaussian x (N, D), w (K, D, M), b (K, M), dout (N, M)."""
    return (rng.standard_normal((n, d)), rng.standard_normal((k, d, m)),
            rng.standard_normal((k, m)), rng.standard_normal((n, m)))


def _tied_case(rng: np.random.Generator, n: int = 8, d: int = 5, k: int = 4, m: int = 6):
    """Small-integer inputs, so every product and sum is exact in float64 and ties are exact;
    pieces 0 and 1 are identical (tied everywhere), and pieces 2, 3 tie with them often."""
    x = rng.integers(-2, 3, (n, d)).astype(np.float64)
    w = rng.integers(-1, 2, (k, d, m)).astype(np.float64)
    b = rng.integers(-1, 2, (k, m)).astype(np.float64)
    w[1], b[1] = w[0], b[0]
    dout = rng.standard_normal((n, m))
    return x, w, b, dout


def _reference(x, w, b, dout):
    """(out, dx, dw, db): torch.stack of x @ w[k] + b[k], max over k, autograd."""
    xt, wt, bt = (to_torch(a, requires_grad=True) for a in (x, w, b))
    z = torch.stack([xt @ wt[k] + bt[k] for k in range(w.shape[0])])
    out = z.max(dim=0).values
    out.backward(to_torch(dout))
    return tuple(to_numpy(t) for t in (out.detach(), xt.grad, wt.grad, bt.grad))


def _student(student: Any, x, w, b, dout, *, check_unchanged: bool = False):
    """The student's (out, dx, dw, db), from copies unless the inputs are being checked."""
    if not check_unchanged:
        x, w, b, dout = x.copy(), w.copy(), b.copy(), dout.copy()
    out, cache = student.maxout_forward(x, w, b)
    if check_unchanged:
        assert_inputs_unchanged(student, fn="maxout_forward", inputs={"x": x, "w": w, "b": b})
    dx, dw, db = student.maxout_backward(dout, cache)
    if check_unchanged:
        assert_inputs_unchanged(student, fn="maxout_backward", inputs={"dout": dout})
    return out, dx, dw, db


def _compare(got, expected, which: tuple[str, ...], x, w, b, dout) -> None:
    names = ("out", "dx", "dw", "db")
    for name in which:
        i = names.index(name)
        fn = "maxout_forward" if name == "out" else "maxout_backward"
        inputs = {"x": x, "w": w, "b": b} if name == "out" else {"dout": dout, "x": x, "w": w}
        assert_close(got[i], expected[i], fn=fn, what=name, inputs=inputs)


@pytest.mark.points(1)
def test_maxout_forward_matches_torch(student, rng):
    """maxout_forward: out[n, m] = max_k (x @ w[k] + b[k])[n, m], shape (N, M)"""
    case = _case(rng, 5, 4, 3, 7)
    _compare(_student(student, *case), _reference(*case), ("out",), *case)


@pytest.mark.points(1)
def test_maxout_backward_dx_matches_autograd(student, rng):
    """maxout_backward: dx = Σ_k dz_k @ w[k]ᵀ equals torch autograd, shape (N, D)"""
    case = _case(rng, 5, 4, 3, 7)
    _compare(_student(student, *case), _reference(*case), ("dx",), *case)


@pytest.mark.points(1)
def test_maxout_backward_dw_matches_autograd(student, rng):
    """maxout_backward: dw[k] = xᵀ @ dz_k equals torch autograd, shape (K, D, M)"""
    case = _case(rng, 5, 4, 3, 7)
    _compare(_student(student, *case), _reference(*case), ("dw",), *case)


@pytest.mark.points(1)
def test_maxout_backward_db_matches_autograd(student, rng):
    """maxout_backward: db[k] = Σ_n dz_k[n] equals torch autograd, shape (K, M)"""
    case = _case(rng, 5, 4, 3, 7)
    _compare(_student(student, *case), _reference(*case), ("db",), *case)


@pytest.mark.points(2)
def test_maxout_ties_send_gradient_to_first_piece(student, rng):
    """maxout: on a tie the whole gradient goes to the first maximal piece (as torch.max)"""
    case = _tied_case(rng)
    _compare(_student(student, *case), _reference(*case), ("out", "dx", "dw", "db"), *case)


@pytest.mark.points(1)
def test_maxout_batch_of_one_single_output(student, rng):
    """maxout: N = 1, M = 1 and K = 2 (shapes (1, D), (2, D, 1), (2, 1)) work"""
    case = _case(rng, 1, 6, 2, 1)
    _compare(_student(student, *case), _reference(*case), ("out", "dx", "dw", "db"), *case)


@pytest.mark.points(1)
def test_maxout_leaves_inputs_unchanged(student, rng):
    """maxout: forward leaves x, w, b and backward leaves dout unmodified"""
    _student(student, *_case(rng, 4, 3, 3, 5), check_unchanged=True)
