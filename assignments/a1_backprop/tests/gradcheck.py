"""Numerical gradient checks for the public tests (shipped as tests/gradcheck.py).

Backprop is checked against centred differences: for a small step h,

    dL/dx_i ~ (L(x + h e_i) - L(x - h e_i)) / (2h),

whose error shrinks like h^2 (a one-sided difference only like h). For a layer f with an
upstream gradient dout, the loss is L(x) = sum(f(x) * dout), so the check compares your
backward pass with the vector-Jacobian product it must compute.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def numerical_gradient(f: Callable[[np.ndarray], object], x: np.ndarray,
                       dout: np.ndarray | None = None, h: float = 1e-6) -> np.ndarray:
    """Centred-difference gradient of L(x) = sum(f(x) * dout) (or of f(x) itself, a scalar,
    when ``dout`` is None) with respect to every element of x.

    Shapes: x any shape -> gradient of the same shape. x is changed in place one element at a
    time and restored, so f may also read x through a closure (f(x) may ignore its argument).
    """
    grad = np.zeros_like(x, dtype=float)
    for idx in np.ndindex(x.shape):
        old = x[idx]
        x[idx] = old + h
        plus = f(x) if dout is None else np.sum(f(x) * dout)
        x[idx] = old - h
        minus = f(x) if dout is None else np.sum(f(x) * dout)
        x[idx] = old
        grad[idx] = (plus - minus) / (2 * h)
    return grad


def rel_error(a: np.ndarray, b: np.ndarray) -> float:
    """Largest elementwise relative error max |a - b| / max(1e-8, |a| + |b|)."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return float(np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b))))
