"""Hidden tests for a3_activations_init: layer_stats, the lecture's 7-layer experiment.

Reference: the same bias-free network in float64 torch, h_{l+1} = f(h_l @ W_l), recording
(h.mean(), h.std(correction=0)) after every layer.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pytest
import torch

from grader.testing import assert_close, assert_inputs_unchanged, assert_true, to_torch

# Widths of the 8 activations (input + 7 layers): non-square layers, small enough that the
# ddof=0 vs ddof=1 difference (relative 1/(2·N·D) ≈ 1e-3 here) is far above the tolerance.
WIDTHS = (20, 30, 24, 30, 18, 25, 30, 22)
N = 16
TORCH_ACT = {"tanh": torch.tanh, "relu": torch.relu, "sigmoid": torch.sigmoid}


def _network(rng: np.random.Generator, scale: float) -> tuple[np.ndarray, list[np.ndarray]]:
    """x (N, D_0) unit Gaussian and 7 weight matrices (D_l, D_{l+1}) with std scale/sqrt(D_l):
    activations stay of order 1 so that every layer's statistics matter."""
    x = rng.standard_normal((N, WIDTHS[0]))
    weights = [scale / np.sqrt(d_in) * rng.standard_normal((d_in, d_out))
               for d_in, d_out in itertools.pairwise(WIDTHS)]
    return x, weights


def _reference(x: np.ndarray, weights: list[np.ndarray], activation: str) -> np.ndarray:
    """(L, 2) array of (mean, population std) per layer, computed in torch."""
    h, rows = to_torch(x), []
    for w in weights:
        h = TORCH_ACT[activation](h @ to_torch(w))
        rows.append((h.mean().item(), h.std(correction=0).item()))
    return np.array(rows)


def _student_stats(student: Any, x: np.ndarray, weights: list[np.ndarray],
                   activation: str) -> np.ndarray:
    """The student's result as an (L, 2) array, after checking it is one pair per layer."""
    got = student.layer_stats(x.copy(), [w.copy() for w in weights], activation)
    call = f"layer_stats(x, weights (a list of {len(weights)}), {activation!r})"
    assert_true(isinstance(got, (list, tuple)) and len(got) == len(weights),
                f"{call} should return a list of {len(weights)} (mean, std) pairs, one per weight "
                f"matrix (the input x is not a layer); got "
                f"{len(got) if isinstance(got, (list, tuple)) else type(got).__name__}"
                f"{' items' if isinstance(got, (list, tuple)) else ''}")
    pairs = [np.asarray(p, dtype=np.float64) if not isinstance(p, (str, dict)) else None
             for p in got]
    assert_true(all(p is not None and p.shape == (2,) for p in pairs),
                f"{call}: every item should be a (mean, std) pair of numbers")
    return np.array(pairs)


def _check(student: Any, rng: np.random.Generator, activation: str, scale: float) -> None:
    x, weights = _network(rng, scale)
    expected = _reference(x, weights, activation)
    got = _student_stats(student, x, weights, activation)
    inputs = {"x": x, "weights": weights}
    assert_close(got[:, 0], expected[:, 0], fn=f"layer_stats(..., {activation!r})",
                 what="means per layer", inputs=inputs)
    assert_close(got[:, 1], expected[:, 1], fn=f"layer_stats(..., {activation!r})",
                 what="population stds (ddof=0) per layer", inputs=inputs)


@pytest.mark.points(1)
def test_layer_stats_tanh_matches_torch(student, rng):
    """layer_stats 'tanh': per-layer mean and population std of tanh(h @ W) equal torch's"""
    _check(student, rng, "tanh", scale=1.0)


@pytest.mark.points(1)
def test_layer_stats_relu_matches_torch(student, rng):
    """layer_stats 'relu': per-layer mean and population std of relu(h @ W) equal torch's"""
    _check(student, rng, "relu", scale=np.sqrt(2.0))


@pytest.mark.points(1)
def test_layer_stats_sigmoid_matches_torch(student, rng):
    """layer_stats 'sigmoid': per-layer mean and population std of σ(h @ W) equal torch's"""
    _check(student, rng, "sigmoid", scale=2.0)


@pytest.mark.points(1)
def test_layer_stats_one_pair_per_layer(student, rng):
    """layer_stats: returns one (mean, std) pair per weight matrix, for 1 and for 3 layers"""
    for depth in (1, 3):
        x, weights = _network(rng, 1.0)
        got = _student_stats(student, x, weights[:depth], "tanh")
        assert_close(got, _reference(x, weights[:depth], "tanh"), fn="layer_stats(..., 'tanh')",
                     what=f"(mean, std) pairs of a {depth}-layer network", inputs={"x": x})


@pytest.mark.points(1)
def test_layer_stats_leaves_inputs_unchanged(student, rng):
    """layer_stats: x and the weight matrices are not modified"""
    x, weights = _network(rng, 1.0)
    student.layer_stats(x, weights, "relu")
    assert_inputs_unchanged(student, fn="layer_stats", inputs={"x": x, "weights": weights})
