"""Assignment 1: backpropagation on computational graphs.

Part 1 builds a tiny scalar autodiff engine (`Value`): every arithmetic operation records
the node it creates together with a closure that applies the local chain rule, and
`backward()` visits the graph in reverse topological order.

Part 2 writes the same idea for whole arrays: each layer is a pair
`X_forward(...) -> (out, cache)` / `X_backward(dout, cache) -> grads`, and a two-layer
sigmoid network trained on XOR is assembled from those layers.

Only numpy and the standard library are used. Arrays are float64, batch dimension first.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

# ---------------------------------------------------------------------------------------
# Part 1: scalar reverse-mode autodiff
# ---------------------------------------------------------------------------------------


class Value:
    """A scalar node of a computational graph that knows how to backpropagate.

    Attributes:
        data: the float computed in the forward pass.
        grad: d(output)/d(this node), filled in by `output.backward()`; 0.0 before.
        _prev: the nodes this one was computed from (its children in the graph).
        _op: a short label of the operation that produced this node (for printing).
        _backward: a closure that, given `self.grad` (the upstream gradient), ADDS this
            node's contribution to the `.grad` of each node in `_prev` (local chain rule:
            d(out)/d(child) = d(out)/d(self) * d(self)/d(child)).

    Gradients are accumulated with `+=` because a node used twice receives the sum of the
    gradients flowing back along both uses (multivariate chain rule).
    """

    def __init__(self, data: float, _children: tuple[Value, ...] = (), _op: str = "") -> None:
        self.data = float(data)
        self.grad = 0.0
        self._prev = tuple(_children)
        self._op = _op
        self._backward: Callable[[], None] = lambda: None

    def __repr__(self) -> str:
        return f"Value(data={self.data:.6g}, grad={self.grad:.6g})"

    @staticmethod
    def _wrap(other: Value | float) -> Value:
        """Turn a Python number into a constant leaf so every operand is a `Value`."""
        return other if isinstance(other, Value) else Value(other)

    # --- binary operations -------------------------------------------------------------

    def __add__(self, other: Value | float) -> Value:
        """out = self + other;  d out/d self = 1,  d out/d other = 1 (add distributes)."""
        other = Value._wrap(other)
        # TODO: create the output node and a _backward closure that adds out.grad to both
        # operands' grads.
        raise NotImplementedError  # then: return out

    def __mul__(self, other: Value | float) -> Value:
        """out = self * other;  d out/d self = other,  d out/d other = self (mul swaps)."""
        other = Value._wrap(other)
        # TODO: each operand's gradient is the upstream gradient times the OTHER operand.
        raise NotImplementedError  # then: return out

    def __pow__(self, k: float) -> Value:
        """out = self ** k for a constant int/float k;  d out/d self = k * self ** (k - 1)."""
        assert isinstance(k, (int, float)), "only constant int/float exponents are supported"
        # TODO: power rule; k is a constant, so only self receives a gradient.
        raise NotImplementedError  # then: return out

    def __neg__(self) -> Value:
        """out = -self, written as self * (-1) so it reuses the multiplication rule."""
        # TODO: reuse an operation you already wrote.
        raise NotImplementedError

    def __sub__(self, other: Value | float) -> Value:
        """out = self - other = self + (-other)."""
        # TODO: reuse __add__ and __neg__.
        raise NotImplementedError

    def __truediv__(self, other: Value | float) -> Value:
        """out = self / other = self * other ** -1;  d out/d other = -self / other**2."""
        # TODO: reuse __mul__ and __pow__.
        raise NotImplementedError

    # --- reflected operations: `2 + v`, `2 * v`, `2 - v`, `2 / v` --------------------------

    def __radd__(self, other: float) -> Value:
        """out = other + self (addition commutes)."""
        # TODO
        raise NotImplementedError

    def __rmul__(self, other: float) -> Value:
        """out = other * self (multiplication commutes)."""
        # TODO
        raise NotImplementedError

    def __rsub__(self, other: float) -> Value:
        """out = other - self (NOT self - other: subtraction does not commute)."""
        # TODO
        raise NotImplementedError

    def __rtruediv__(self, other: float) -> Value:
        """out = other / self (NOT self / other)."""
        # TODO
        raise NotImplementedError

    # --- unary functions ---------------------------------------------------------------

    def exp(self) -> Value:
        """out = e**self;  d out/d self = e**self = out."""
        # TODO
        raise NotImplementedError  # then: return out

    def log(self) -> Value:
        """out = ln(self) for self > 0;  d out/d self = 1 / self."""
        # TODO
        raise NotImplementedError  # then: return out

    def sigmoid(self) -> Value:
        """out = 1 / (1 + e**-self);  d out/d self = out * (1 - out).

        Evaluated without overflow: for x < 0 use e**x / (1 + e**x), which is the same
        number but only exponentiates a non-positive argument.
        """
        # TODO
        raise NotImplementedError  # then: return out

    def tanh(self) -> Value:
        """out = tanh(self);  d out/d self = 1 - out**2."""
        # TODO
        raise NotImplementedError  # then: return out

    def relu(self) -> Value:
        """out = max(0, self);  d out/d self = 1 if self > 0 else 0 (0 at the kink, as torch)."""
        # TODO: max routes the gradient to the input only when it was the winner.
        raise NotImplementedError  # then: return out

    # --- the backward pass -------------------------------------------------------------

    def backward(self) -> None:
        """Fill `.grad` of every node reachable from this one with d(self)/d(node).

        1. Order the nodes topologically (every node after all nodes it was computed from)
           with a depth-first search that visits each node once, however many times it
           is used.
        2. Seed d(self)/d(self) = 1.
        3. Walk the order backwards calling each node's `_backward`: by the time a node is
           visited, every node that uses it has already added its share to its `.grad`.
        """
        # TODO: build the topological order, seed self.grad, call _backward in reverse.
        raise NotImplementedError


# ---------------------------------------------------------------------------------------
# Part 2: layers on arrays
# ---------------------------------------------------------------------------------------


def affine_forward(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, tuple]:
    """Fully connected (affine) layer.

    Shapes: x (N, d1, ..., dk) with D = d1 * ... * dk, w (D, M), b (M,) -> out (N, M).
    Formula: out = x2d @ w + b, where x2d = x reshaped to (N, D).
    """
    # TODO: flatten every sample to a row, apply the affine map, keep what backward needs.
    raise NotImplementedError  # then: return out, cache


def affine_backward(dout: np.ndarray, cache: tuple) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Backward pass of `affine_forward`.

    Shapes: dout (N, M) -> dx (N, d1, ..., dk) (x's original shape), dw (D, M), db (M,).
    Formulas: dx = dout @ w.T (then reshaped), dw = x2d.T @ dout, db = sum_n dout[n].
    The bias is broadcast to every sample in the forward pass, so its gradient sums over N.
    """
    # TODO
    raise NotImplementedError  # then: return dx, dw, db


def relu_forward(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """ReLU, elementwise.

    Shapes: x (any) -> out (same shape as x).
    Formula: out = max(0, x).
    """
    # TODO
    raise NotImplementedError  # then: return out, cache


def relu_backward(dout: np.ndarray, cache: np.ndarray) -> np.ndarray:
    """Backward pass of `relu_forward`.

    Shapes: dout (same as x) -> dx (same as x).
    Formula: dx = dout * [x > 0]  (the gradient is 0 at x == 0, as in torch).
    """
    # TODO: do not modify dout in place.
    raise NotImplementedError  # then: return dx


def sigmoid_forward(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Logistic sigmoid, elementwise, without overflow for any finite x.

    Shapes: x (any) -> out (same shape as x).
    Formula: out = 1 / (1 + exp(-x)). With e = exp(-|x|) in (0, 1]:
        x >= 0: out = 1 / (1 + e),     x < 0: out = e / (1 + e),
    so exp never sees a positive argument (exp(1000) would overflow to inf).
    """
    # TODO: compute a numerically stable sigmoid.
    raise NotImplementedError  # then: return out, cache


def sigmoid_backward(dout: np.ndarray, cache: np.ndarray) -> np.ndarray:
    """Backward pass of `sigmoid_forward`.

    Shapes: dout (same as x) -> dx (same as x).
    Formula: d sigmoid(x)/dx = s * (1 - s) with s = sigmoid(x), so dx = dout * s * (1 - s).
    """
    # TODO
    raise NotImplementedError  # then: return dx


def two_layer_net(
    X: np.ndarray, params: dict[str, np.ndarray], y: np.ndarray | None = None
) -> np.ndarray | tuple[float, dict[str, np.ndarray]]:
    """A two-layer sigmoid network for binary classification.

    Shapes: X (N, D); params W1 (D, H), b1 (H,), W2 (H, 1), b2 (1,); y (N,) in {0, 1}.
    Forward:
        h = sigmoid(X @ W1 + b1)             (N, H)
        s = h @ W2 + b2                      (N, 1), the logit
        p = sigmoid(s)[:, 0]                 (N,)
    Loss (mean binary cross-entropy):
        L = -(1/N) * sum_n [ y_n log p_n + (1 - y_n) log(1 - p_n) ]
    Returns p when y is None, else (L as a float, grads) with grads[k] of params[k]'s shape.

    Useful fact: dL/ds_n = (p_n - y_n) / N (the sigmoid's derivative cancels against the
    log's), and log p = -softplus(-s), log(1 - p) = -softplus(s), which stay finite.
    """
    # TODO: forward with the layer functions above; return p if y is None. Otherwise
    # compute the loss and backpropagate through the layers to every parameter.
    raise NotImplementedError  # then: return loss, grads


XOR_X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
XOR_Y = np.array([0.0, 1.0, 1.0, 0.0])


def train_xor(
    seed: int, hidden: int = 8, learning_rate: float = 2.0, steps: int = 3000
) -> dict[str, np.ndarray]:
    """Train `two_layer_net` on XOR with full-batch gradient descent.

    Data: XOR_X (4, 2), XOR_Y (4,) = x0 XOR x1, which no linear classifier separates.
    Init: W1, W2 ~ N(0, 1) drawn from np.random.default_rng(seed), biases 0.
    Update: theta <- theta - learning_rate * dL/dtheta for every parameter.
    Returns params that classify all four points (p > 0.5 iff the label is 1).
    """
    # TODO: initialize from the seed and run gradient descent.
    raise NotImplementedError  # then: return params
