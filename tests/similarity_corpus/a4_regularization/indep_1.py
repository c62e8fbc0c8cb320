"""Assignment 4: regularization."""

import numpy as np

# ---------------------------------------------------------------------------------------------
# Given helpers (you wrote these in earlier assignments; they are provided so that the network
# at the end only needs the new layers).
# ---------------------------------------------------------------------------------------------


def affine_forward(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, tuple]:
    """Affine layer forward pass (given).

    Shapes: x (N, d1, ..., dk) is flattened to (N, D); w (D, M); b (M,) -> out (N, M).
    Formula: out = x2d @ w + b.
    """
    out = x.reshape(x.shape[0], -1) @ w + b
    return out, (x, w)


def affine_backward(dout: np.ndarray, cache: tuple) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Affine layer backward pass (given).

    Shapes: dout (N, M) -> dx (same shape as x), dw (D, M), db (M,).
    Formulas: dx = dout @ w^T, dw = x2d^T @ dout, db = sum_n dout[n].
    """
    x, w = cache
    x2d = x.reshape(x.shape[0], -1)
    dx = (dout @ w.T).reshape(x.shape)
    dw = x2d.T @ dout
    db = dout.sum(axis=0)
    return dx, dw, db


def relu_forward(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """ReLU forward pass (given). out = max(0, x) elementwise; cache is x."""
    return np.maximum(x, 0.0), x


def relu_backward(dout: np.ndarray, cache: np.ndarray) -> np.ndarray:
    """ReLU backward pass (given). dx = dout * [x > 0] (gradient 0 at x == 0)."""
    return dout * (cache > 0)


def softmax_loss(scores: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """Softmax cross-entropy averaged over the batch (given).

    Shapes: scores (N, C), y (N,) integer labels in [0, C) -> loss (float), dscores (N, C).
    Formulas: p = softmax(scores) row-wise, loss = -1/N sum_n log p[n, y_n],
    dscores = (p - onehot(y)) / N.
    """
    shifted = scores - scores.max(axis=1, keepdims=True)  # shift: exp cannot overflow
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    n = scores.shape[0]
    loss = -log_p[np.arange(n), y].mean()
    dscores = np.exp(log_p)
    dscores[np.arange(n), y] -= 1.0
    return float(loss), dscores / n


# ---------------------------------------------------------------------------------------------
# Dropout
# ---------------------------------------------------------------------------------------------


def dropout_forward(x, dropout_param):
    p, mode = dropout_param["p"], dropout_param["mode"]
    if mode == "test":
        return x.copy(), (None, mode)
    rng = np.random.default_rng(dropout_param.get("seed"))
    mask = (rng.random(x.shape) < 1 - p) / (1 - p)
    out = x * mask
    return out, (mask, mode)


def dropout_backward(dout, cache):
    mask, mode = cache
    if mode == "test":
        return dout.copy()
    return dout * mask


# ---------------------------------------------------------------------------------------------
# Weight penalties
# ---------------------------------------------------------------------------------------------


def l2_penalty(weights, reg):
    loss = 0.0
    grads = []
    for W in weights:
        loss += reg * np.sum(W * W)
        grads.append(2 * reg * W)
    return float(loss), grads


def l1_penalty(weights, reg):
    loss = 0.0
    grads = []
    for W in weights:
        loss += reg * np.sum(np.abs(W))
        grads.append(reg * np.sign(W))
    return float(loss), grads


def elastic_net_penalty(weights, reg, l1_ratio):
    l1, g1 = l1_penalty(weights, reg * l1_ratio)
    l2, g2 = l2_penalty(weights, reg * (1 - l1_ratio))
    return float(l1 + l2), [a + b for a, b in zip(g1, g2)]


# ---------------------------------------------------------------------------------------------
# Batch normalization
# ---------------------------------------------------------------------------------------------


def batchnorm_forward(x, gamma, beta, bn_param):
    mode = bn_param["mode"]
    eps = bn_param.get("eps", 1e-5)
    momentum = bn_param.get("momentum", 0.9)
    N, D = x.shape
    running_mean = bn_param.get("running_mean", np.zeros(D))
    running_var = bn_param.get("running_var", np.ones(D))

    if mode == "train":
        mu = x.mean(axis=0)
        xc = x - mu
        var = (xc ** 2).mean(axis=0)
        std = np.sqrt(var + eps)
        xhat = xc / std
        out = gamma * xhat + beta
        running_mean = momentum * running_mean + (1 - momentum) * mu
        running_var = momentum * running_var + (1 - momentum) * var * N / (N - 1)
        cache = ("train", xc, std, xhat, gamma)
    elif mode == "test":
        std = np.sqrt(running_var + eps)
        xhat = (x - running_mean) / std
        out = gamma * xhat + beta
        cache = ("test", None, std, xhat, gamma)
    else:
        raise ValueError('Invalid forward batchnorm mode "%s"' % mode)

    bn_param["running_mean"] = running_mean
    bn_param["running_var"] = running_var
    return out, cache


def batchnorm_backward(dout, cache):
    mode, xc, std, xhat, gamma = cache
    dbeta = dout.sum(axis=0)
    dgamma = (dout * xhat).sum(axis=0)
    dxhat = dout * gamma
    if mode == "test":
        return dxhat / std, dgamma, dbeta
    # walk back through the graph: xhat = xc * istd, istd = 1/std, std = sqrt(var+eps),
    # var = mean(xc^2), xc = x - mu
    N = dout.shape[0]
    istd = 1.0 / std
    dxc = dxhat * istd
    distd = np.sum(dxhat * xc, axis=0)
    dstd = -distd / std ** 2
    dvar = 0.5 * dstd / std
    dxc += 2.0 * xc * dvar / N
    dmu = -np.sum(dxc, axis=0)
    dx = dxc + dmu / N
    return dx, dgamma, dbeta


# ---------------------------------------------------------------------------------------------
# Early stopping
# ---------------------------------------------------------------------------------------------


class EarlyStopping:
    def __init__(self, patience, min_delta=0.0):
        self.patience = patience
        self.min_delta = min_delta
        self.best = None
        self.best_step = None
        self.bad_steps = 0
        self.calls = 0

    def step(self, val_loss):
        if self.best is None or val_loss < self.best - self.min_delta:
            self.best = val_loss
            self.best_step = self.calls
            self.bad_steps = 0
        else:
            self.bad_steps += 1
        self.calls += 1
        return self.bad_steps >= self.patience


# ---------------------------------------------------------------------------------------------
# Fully connected network
# ---------------------------------------------------------------------------------------------


class FullyConnectedNet:
    def __init__(self, hidden_dims, input_dim, num_classes, dropout=0.0, normalization=None,
                 reg=0.0, weight_scale=1e-2, seed=None):
        self.normalization = normalization
        self.use_dropout = dropout > 0
        self.reg = reg
        self.num_layers = 1 + len(hidden_dims)
        self.params = {}

        rng = np.random.default_rng(seed)
        dims = [input_dim, *hidden_dims, num_classes]
        for i in range(self.num_layers):
            self.params[f"W{i + 1}"] = weight_scale * rng.standard_normal((dims[i], dims[i + 1]))
            self.params[f"b{i + 1}"] = np.zeros(dims[i + 1])
            if normalization == "batchnorm" and i < self.num_layers - 1:
                self.params[f"gamma{i + 1}"] = np.ones(dims[i + 1])
                self.params[f"beta{i + 1}"] = np.zeros(dims[i + 1])

        self.dropout_param = {}
        if self.use_dropout:
            self.dropout_param = {"mode": "train", "p": dropout}
            if seed is not None:
                self.dropout_param["seed"] = seed

        self.bn_params = []
        if normalization == "batchnorm":
            self.bn_params = [{"mode": "train"} for _ in range(self.num_layers - 1)]

    def loss(self, X, y=None):
        mode = "test" if y is None else "train"
        if self.use_dropout:
            self.dropout_param["mode"] = mode
        for bn_param in self.bn_params:
            bn_param["mode"] = mode

        caches = []
        h = X
        for i in range(1, self.num_layers):
            h, fc_cache = affine_forward(h, self.params[f"W{i}"], self.params[f"b{i}"])
            bn_cache = drop_cache = None
            if self.normalization == "batchnorm":
                h, bn_cache = batchnorm_forward(h, self.params[f"gamma{i}"],
                                                self.params[f"beta{i}"], self.bn_params[i - 1])
            h, relu_cache = relu_forward(h)
            if self.use_dropout:
                h, drop_cache = dropout_forward(h, self.dropout_param)
            caches.append((fc_cache, bn_cache, relu_cache, drop_cache))
        L = self.num_layers
        scores, last_cache = affine_forward(h, self.params[f"W{L}"], self.params[f"b{L}"])

        if mode == "test":
            return scores

        grads = {}
        loss, dscores = softmax_loss(scores, y)
        for i in range(1, L + 1):
            loss += 0.5 * self.reg * np.sum(self.params[f"W{i}"] ** 2)

        dh, grads[f"W{L}"], grads[f"b{L}"] = affine_backward(dscores, last_cache)
        grads[f"W{L}"] += self.reg * self.params[f"W{L}"]
        for i in range(L - 1, 0, -1):
            fc_cache, bn_cache, relu_cache, drop_cache = caches[i - 1]
            if self.use_dropout:
                dh = dropout_backward(dh, drop_cache)
            dh = relu_backward(dh, relu_cache)
            if self.normalization == "batchnorm":
                dh, grads[f"gamma{i}"], grads[f"beta{i}"] = batchnorm_backward(dh, bn_cache)
            dh, grads[f"W{i}"], grads[f"b{i}"] = affine_backward(dh, fc_cache)
            grads[f"W{i}"] += self.reg * self.params[f"W{i}"]

        return float(loss), grads
