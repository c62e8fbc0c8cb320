# HW1 backprop
import math

import numpy as np


class Value:
    """A number that remembers how it was computed.

    op is the name of the operation and args the Values it was applied to; the
    derivative rules all live in _local_grads so backward is a single loop.
    """

    def __init__(self, data, args=(), op=None, const=None):
        self.data = float(data)
        self.grad = 0.0
        self.args = args
        self.op = op
        self.const = const  # exponent for "pow"

    @staticmethod
    def lift(x):
        return x if isinstance(x, Value) else Value(x)

    # arithmetic
    def __add__(self, other):
        other = Value.lift(other)
        return Value(self.data + other.data, (self, other), "add")

    def __mul__(self, other):
        other = Value.lift(other)
        return Value(self.data * other.data, (self, other), "mul")

    def __pow__(self, k):
        return Value(self.data ** k, (self,), "pow", const=k)

    def __neg__(self):
        return self * (-1.0)

    def __sub__(self, other):
        return self + (-Value.lift(other))

    def __truediv__(self, other):
        return self * Value.lift(other) ** (-1)

    def __radd__(self, other):
        return Value.lift(other) + self

    def __rmul__(self, other):
        return Value.lift(other) * self

    def __rsub__(self, other):
        return Value.lift(other) - self

    def __rtruediv__(self, other):
        return Value.lift(other) / self

    # functions
    def exp(self):
        return Value(math.exp(self.data), (self,), "exp")

    def log(self):
        return Value(math.log(self.data), (self,), "log")

    def sigmoid(self):
        x = self.data
        if x < 0:
            z = math.exp(x)
            val = z / (1.0 + z)
        else:
            val = 1.0 / (1.0 + math.exp(-x))
        return Value(val, (self,), "sigmoid")

    def tanh(self):
        return Value(math.tanh(self.data), (self,), "tanh")

    def relu(self):
        return Value(max(self.data, 0.0), (self,), "relu")

    def _local_grads(self):
        """d(self)/d(arg) for each arg, in order."""
        if self.op == "add":
            return [1.0, 1.0]
        if self.op == "mul":
            a, b = self.args
            return [b.data, a.data]
        (a,) = self.args
        if self.op == "pow":
            return [self.const * a.data ** (self.const - 1)]
        if self.op == "exp":
            return [self.data]
        if self.op == "log":
            return [1.0 / a.data]
        if self.op == "sigmoid":
            return [self.data * (1.0 - self.data)]
        if self.op == "tanh":
            return [1.0 - self.data ** 2]
        if self.op == "relu":
            return [1.0 if a.data > 0 else 0.0]
        raise ValueError(self.op)

    def backward(self):
        # Kahn's algorithm: a node is processed once every node using it has been
        users = {}
        todo = [self]
        nodes = {id(self): self}
        while todo:
            v = todo.pop()
            for a in v.args:
                users[id(a)] = users.get(id(a), 0) + 1
                if id(a) not in nodes:
                    nodes[id(a)] = a
                    todo.append(a)
        self.grad = 1.0
        ready = [self]
        while ready:
            v = ready.pop()
            if not v.args:
                continue
            for a, g in zip(v.args, v._local_grads()):
                a.grad += g * v.grad
                users[id(a)] -= 1
                if users[id(a)] == 0:
                    ready.append(a)


# ---- array layers ----

def affine_forward(x, w, b):
    x2 = x.reshape(len(x), -1)
    out = np.einsum("nd,dm->nm", x2, w) + b
    return out, (x, w)


def affine_backward(dout, cache):
    x, w = cache
    x2 = x.reshape(len(x), -1)
    dw = np.einsum("nd,nm->dm", x2, dout)
    dx = np.einsum("nm,dm->nd", dout, w).reshape(x.shape)
    db = dout.sum(0)
    return dx, dw, db


def relu_forward(x):
    out = x.copy()
    out[out < 0] = 0.0
    return out, x


def relu_backward(dout, cache):
    dx = dout.copy()
    dx[cache <= 0] = 0.0
    return dx


def sigmoid_forward(x):
    # 1/(1+e^-x) for x >= 0, e^x/(1+e^x) for x < 0
    t = np.exp(-np.abs(x))
    out = np.where(x >= 0, 1.0, t) / (1.0 + t)
    return out, out


def sigmoid_backward(dout, cache):
    return dout * (cache - cache ** 2)


def two_layer_net(X, params, y=None):
    h, hc = sigmoid_forward(X @ params["W1"] + params["b1"])
    s = (h @ params["W2"] + params["b2"])[:, 0]
    p, _ = sigmoid_forward(s)
    if y is None:
        return p
    N = X.shape[0]
    # -[y log p + (1-y) log(1-p)], with log p = -log(1+e^-s) computed by logaddexp
    loss = (y * np.logaddexp(0.0, -s) + (1.0 - y) * np.logaddexp(0.0, s)).sum() / N
    ds = (p - y)[:, np.newaxis] / N
    grads = {}
    grads["W2"] = h.T @ ds
    grads["b2"] = ds.sum(axis=0)
    dh = sigmoid_backward(ds @ params["W2"].T, hc)
    grads["W1"] = X.T @ dh
    grads["b1"] = dh.sum(axis=0)
    return float(loss), grads


XOR_X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
XOR_Y = np.array([0.0, 1.0, 1.0, 0.0])


def train_xor(seed, hidden=6, learning_rate=3.0, steps=4000):
    r = np.random.default_rng(seed)
    W1 = r.standard_normal((2, hidden))
    W2 = r.standard_normal((hidden, 1))
    params = dict(W1=W1, b1=np.zeros(hidden), W2=W2, b2=np.zeros(1))
    step = 0
    while step < steps:
        _, g = two_layer_net(XOR_X, params, XOR_Y)
        params = {k: params[k] - learning_rate * g[k] for k in params}
        step += 1
    return params
