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
        # BEGIN SOLUTION
        out = Value(self.data + other.data, (self, other), "+")

        def _backward() -> None:
            self.grad += out.grad
            other.grad += out.grad

        out._backward = _backward
        # END SOLUTION
        return out

    def __mul__(self, other: Value | float) -> Value:
        """out = self * other;  d out/d self = other,  d out/d other = self (mul swaps)."""
        other = Value._wrap(other)
        # TODO: each operand's gradient is the upstream gradient times the OTHER operand.
        # BEGIN SOLUTION
        out = Value(self.data * other.data, (self, other), "*")

        def _backward() -> None:
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad

        out._backward = _backward
        # END SOLUTION
        return out

    def __pow__(self, k: float) -> Value:
        """out = self ** k for a constant int/float k;  d out/d self = k * self ** (k - 1)."""
        assert isinstance(k, (int, float)), "only constant int/float exponents are supported"
        # TODO: power rule; k is a constant, so only self receives a gradient.
        # BEGIN SOLUTION
        out = Value(self.data**k, (self,), f"**{k}")

        def _backward() -> None:
            self.grad += k * self.data ** (k - 1) * out.grad

        out._backward = _backward
        # END SOLUTION
        return out

    def __neg__(self) -> Value:
        """out = -self, written as self * (-1) so it reuses the multiplication rule."""
        # TODO: reuse an operation you already wrote.
        # BEGIN SOLUTION
        return self * -1.0
        # END SOLUTION

    def __sub__(self, other: Value | float) -> Value:
        """out = self - other = self + (-other)."""
        # TODO: reuse __add__ and __neg__.
        # BEGIN SOLUTION
        return self + (-Value._wrap(other))
        # END SOLUTION

    def __truediv__(self, other: Value | float) -> Value:
        """out = self / other = self * other ** -1;  d out/d other = -self / other**2."""
        # TODO: reuse __mul__ and __pow__.
        # BEGIN SOLUTION
        return self * Value._wrap(other) ** -1
        # END SOLUTION

    # --- reflected operations: `2 + v`, `2 * v`, `2 - v`, `2 / v` --------------------------

    def __radd__(self, other: float) -> Value:
        """out = other + self (addition commutes)."""
        # TODO
        # BEGIN SOLUTION
        return self + other
        # END SOLUTION

    def __rmul__(self, other: float) -> Value:
        """out = other * self (multiplication commutes)."""
        # TODO
        # BEGIN SOLUTION
        return self * other
        # END SOLUTION

    def __rsub__(self, other: float) -> Value:
        """out = other - self (NOT self - other: subtraction does not commute)."""
        # TODO
        # BEGIN SOLUTION
        return Value._wrap(other) + (-self)
        # END SOLUTION

    def __rtruediv__(self, other: float) -> Value:
        """out = other / self (NOT self / other)."""
        # TODO
        # BEGIN SOLUTION
        return Value._wrap(other) * self**-1
        # END SOLUTION

    # --- unary functions ---------------------------------------------------------------

    def exp(self) -> Value:
        """out = e**self;  d out/d self = e**self = out."""
        # TODO
        # BEGIN SOLUTION
        out = Value(math.exp(self.data), (self,), "exp")

        def _backward() -> None:
            self.grad += out.data * out.grad

        out._backward = _backward
        # END SOLUTION
        return out

    def log(self) -> Value:
        """out = ln(self) for self > 0;  d out/d self = 1 / self."""
        # TODO
        # BEGIN SOLUTION
        out = Value(math.log(self.data), (self,), "log")

        def _backward() -> None:
            self.grad += out.grad / self.data

        out._backward = _backward
        # END SOLUTION
        return out

    def sigmoid(self) -> Value:
        """out = 1 / (1 + e**-self);  d out/d self = out * (1 - out).

        Evaluated without overflow: for x < 0 use e**x / (1 + e**x), which is the same
        number but only exponentiates a non-positive argument.
        """
        # TODO
        # BEGIN SOLUTION
        x = self.data
        if x >= 0:
            s = 1.0 / (1.0 + math.exp(-x))
        else:
            e = math.exp(x)
            s = e / (1.0 + e)
        out = Value(s, (self,), "sigmoid")

        def _backward() -> None:
            self.grad += out.data * (1.0 - out.data) * out.grad

        out._backward = _backward
        # END SOLUTION
        return out

    def tanh(self) -> Value:
        """out = tanh(self);  d out/d self = 1 - out**2."""
        # TODO
        # BEGIN SOLUTION
        out = Value(math.tanh(self.data), (self,), "tanh")

        def _backward() -> None:
            self.grad += (1.0 - out.data**2) * out.grad

        out._backward = _backward
        # END SOLUTION
        return out

    def relu(self) -> Value:
        """out = max(0, self);  d out/d self = 1 if self > 0 else 0 (0 at the kink, as torch)."""
        # TODO: max routes the gradient to the input only when it was the winner.
        # BEGIN SOLUTION
        out = Value(self.data if self.data > 0 else 0.0, (self,), "relu")

        def _backward() -> None:
            self.grad += (1.0 if self.data > 0 else 0.0) * out.grad

        out._backward = _backward
        # END SOLUTION
        return out

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
        # BEGIN SOLUTION
        topo: list[Value] = []
        visited: set[int] = set()
        # Iterative post-order DFS: deep graphs would overflow Python's recursion limit.
        stack: list[tuple[Value, bool]] = [(self, False)]
        while stack:
            node, children_done = stack.pop()
            if children_done:
                topo.append(node)
                continue
            if id(node) in visited:
                continue
            visited.add(id(node))
            stack.append((node, True))
            for child in node._prev:
                if id(child) not in visited:
                    stack.append((child, False))

        self.grad = 1.0
        for node in reversed(topo):
            node._backward()
        # END SOLUTION


# ---------------------------------------------------------------------------------------
# Part 2: layers on arrays
# ---------------------------------------------------------------------------------------


def affine_forward(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, tuple]:
    """Fully connected (affine) layer.

    Shapes: x (N, d1, ..., dk) with D = d1 * ... * dk, w (D, M), b (M,) -> out (N, M).
    Formula: out = x2d @ w + b, where x2d = x reshaped to (N, D).
    """
    # TODO: flatten every sample to a row, apply the affine map, keep what backward needs.
    # BEGIN SOLUTION
    x2d = x.reshape(x.shape[0], -1)
    out = x2d @ w + b
    cache = (x, w)
    # END SOLUTION
    return out, cache


def affine_backward(dout: np.ndarray, cache: tuple) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Backward pass of `affine_forward`.

    Shapes: dout (N, M) -> dx (N, d1, ..., dk) (x's original shape), dw (D, M), db (M,).
    Formulas: dx = dout @ w.T (then reshaped), dw = x2d.T @ dout, db = sum_n dout[n].
    The bias is broadcast to every sample in the forward pass, so its gradient sums over N.
    """
    # TODO
    # BEGIN SOLUTION
    x, w = cache
    x2d = x.reshape(x.shape[0], -1)
    dx = (dout @ w.T).reshape(x.shape)
    dw = x2d.T @ dout
    db = dout.sum(axis=0)
    # END SOLUTION
    return dx, dw, db


def relu_forward(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """ReLU, elementwise.

    Shapes: x (any) -> out (same shape as x).
    Formula: out = max(0, x).
    """
    # TODO
    # BEGIN SOLUTION
    out = np.maximum(x, 0.0)
    cache = x
    # END SOLUTION
    return out, cache


def relu_backward(dout: np.ndarray, cache: np.ndarray) -> np.ndarray:
    """Backward pass of `relu_forward`.

    Shapes: dout (same as x) -> dx (same as x).
    Formula: dx = dout * [x > 0]  (the gradient is 0 at x == 0, as in torch).
    """
    # TODO: do not modify dout in place.
    # BEGIN SOLUTION
    x = cache
    dx = dout * (x > 0)
    # END SOLUTION
    return dx


def sigmoid_forward(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Logistic sigmoid, elementwise, without overflow for any finite x.

    Shapes: x (any) -> out (same shape as x).
    Formula: out = 1 / (1 + exp(-x)). With e = exp(-|x|) in (0, 1]:
        x >= 0: out = 1 / (1 + e),     x < 0: out = e / (1 + e),
    so exp never sees a positive argument (exp(1000) would overflow to inf).
    """
    # TODO: compute a numerically stable sigmoid.
    # BEGIN SOLUTION
    e = np.exp(-np.abs(x))
    out = np.where(x >= 0, 1.0, e) / (1.0 + e)
    cache = out
    # END SOLUTION
    return out, cache


def sigmoid_backward(dout: np.ndarray, cache: np.ndarray) -> np.ndarray:
    """Backward pass of `sigmoid_forward`.

    Shapes: dout (same as x) -> dx (same as x).
    Formula: d sigmoid(x)/dx = s * (1 - s) with s = sigmoid(x), so dx = dout * s * (1 - s).
    """
    # TODO
    # BEGIN SOLUTION
    s = cache
    dx = dout * s * (1.0 - s)
    # END SOLUTION
    return dx


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
    # BEGIN SOLUTION
    a1, cache_a1 = affine_forward(X, params["W1"], params["b1"])
    h, cache_h = sigmoid_forward(a1)
    s, cache_s = affine_forward(h, params["W2"], params["b2"])
    p = sigmoid_forward(s)[0][:, 0]
    if y is None:
        return p
    n = X.shape[0]
    s1 = s[:, 0]
    # softplus(t) = max(t, 0) + log1p(exp(-|t|)); loss_n = softplus(s) - y * s.
    loss = float(np.mean(np.maximum(s1, 0.0) + np.log1p(np.exp(-np.abs(s1))) - y * s1))
    ds = ((p - y) / n)[:, None]
    dh, dW2, db2 = affine_backward(ds, cache_s)
    da1 = sigmoid_backward(dh, cache_h)
    _, dW1, db1 = affine_backward(da1, cache_a1)
    grads = {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}
    # END SOLUTION
    return loss, grads


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
    # BEGIN SOLUTION
    rng = np.random.default_rng(seed)
    params = {
        "W1": rng.standard_normal((2, hidden)),
        "b1": np.zeros(hidden),
        "W2": rng.standard_normal((hidden, 1)),
        "b2": np.zeros(1),
    }
    for _ in range(steps):
        _, grads = two_layer_net(XOR_X, params, XOR_Y)
        params = {k: v - learning_rate * grads[k] for k, v in params.items()}
    # END SOLUTION
    return params
