"""Assignment 1: a scalar autograd engine and array layers for a small XOR network."""
import math

import numpy as np


def as_value(x):
    if isinstance(x, Value):
        return x
    return Value(x)


class Value:
    """Scalar node. Each node remembers its parents together with the local derivative
    d(node)/d(parent), so backward only has to multiply and add."""

    def __init__(self, data, parents=(), local_grads=()):
        self.data = float(data)
        self.grad = 0.0
        self.parents = parents
        self.local_grads = local_grads

    def __add__(self, other):
        other = as_value(other)
        return Value(self.data + other.data, (self, other), (1.0, 1.0))

    __radd__ = __add__

    def __mul__(self, other):
        other = as_value(other)
        return Value(self.data * other.data, (self, other), (other.data, self.data))

    __rmul__ = __mul__

    def __pow__(self, k):
        return Value(self.data ** k, (self,), (k * self.data ** (k - 1),))

    def __neg__(self):
        return Value(-self.data, (self,), (-1.0,))

    def __sub__(self, other):
        other = as_value(other)
        return Value(self.data - other.data, (self, other), (1.0, -1.0))

    def __rsub__(self, other):
        return as_value(other) - self

    def __truediv__(self, other):
        other = as_value(other)
        q = self.data / other.data
        return Value(q, (self, other), (1.0 / other.data, -q / other.data))

    def __rtruediv__(self, other):
        return as_value(other) / self

    def exp(self):
        e = math.exp(self.data)
        return Value(e, (self,), (e,))

    def log(self):
        return Value(math.log(self.data), (self,), (1.0 / self.data,))

    def sigmoid(self):
        # only ever exponentiate -|x| so large inputs cannot overflow
        e = math.exp(-abs(self.data))
        s = 1.0 / (1.0 + e) if self.data >= 0 else e / (1.0 + e)
        return Value(s, (self,), (s * (1.0 - s),))

    def tanh(self):
        t = math.tanh(self.data)
        return Value(t, (self,), (1.0 - t ** 2,))

    def relu(self):
        if self.data > 0:
            return Value(self.data, (self,), (1.0,))
        return Value(0.0, (self,), (0.0,))

    def backward(self):
        # iterative post-order DFS (recursion depth would be a problem for long chains)
        order, seen = [], set()
        stack = [(self, False)]
        while stack:
            node, expanded = stack.pop()
            if expanded:
                order.append(node)
                continue
            if id(node) in seen:
                continue
            seen.add(id(node))
            stack.append((node, True))
            for p in node.parents:
                if id(p) not in seen:
                    stack.append((p, False))
        self.grad = 1.0
        for node in reversed(order):
            for p, local in zip(node.parents, node.local_grads):
                p.grad += local * node.grad


def affine_forward(x, w, b):
    """x: (N, d1, ..., dk), w: (D, M), b: (M,)  ->  out: (N, M)"""
    N = x.shape[0]
    flat = np.reshape(x, (N, w.shape[0]))
    out = np.dot(flat, w) + b
    cache = {"x_shape": x.shape, "flat": flat, "w": w}
    return out, cache


def affine_backward(dout, cache):
    dw = np.dot(cache["flat"].T, dout)
    db = np.sum(dout, axis=0)
    dx = np.dot(dout, cache["w"].T).reshape(cache["x_shape"])
    return dx, dw, db


def relu_forward(x):
    mask = x > 0
    return x * mask, mask


def relu_backward(dout, cache):
    return np.where(cache, dout, 0.0)


def sigmoid_forward(x):
    out = np.empty(x.shape)
    pos = x >= 0
    neg = ~pos
    out[pos] = 1.0 / (1.0 + np.exp(-x[pos]))
    ex = np.exp(x[neg])
    out[neg] = ex / (1.0 + ex)
    return out, out


def sigmoid_backward(dout, cache):
    s = cache
    return dout * s * (1.0 - s)


def softplus(a):
    return np.maximum(a, 0) + np.log1p(np.exp(-np.abs(a)))


def two_layer_net(X, params, y=None):
    W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
    a1, cache_a1 = affine_forward(X, W1, b1)
    hidden, cache_h = sigmoid_forward(a1)
    logits, cache_a2 = affine_forward(hidden, W2, b2)
    logits = logits.ravel()
    probs, _ = sigmoid_forward(logits)
    if y is None:
        return probs

    n = len(y)
    loss = np.sum(y * softplus(-logits) + (1 - y) * softplus(logits)) / n
    dlogits = (probs - y).reshape(-1, 1) / n
    dhidden, dW2, db2 = affine_backward(dlogits, cache_a2)
    da1 = sigmoid_backward(dhidden, cache_h)
    _, dW1, db1 = affine_backward(da1, cache_a1)
    grads = {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}
    return float(loss), grads


XOR_X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
XOR_Y = np.array([0.0, 1.0, 1.0, 0.0])


def train_xor(seed, hidden=10, learning_rate=1.5, steps=5000):
    """Full-batch gradient descent on the 4 XOR points."""
    gen = np.random.default_rng(seed)
    params = {"W1": gen.normal(0.0, 1.0, size=(2, hidden)), "b1": np.zeros(hidden)}
    params["W2"] = gen.normal(0.0, 1.0, size=(hidden, 1))
    params["b2"] = np.zeros(1)
    for _ in range(steps):
        _, grads = two_layer_net(XOR_X, params, XOR_Y)
        for name, g in grads.items():
            params[name] = params[name] - learning_rate * g
    return params
