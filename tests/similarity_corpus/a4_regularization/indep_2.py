"""Regularization: dropout, weight penalties, batch norm, early stopping, and an MLP."""
import numpy as np


# ======================================================================= dropout

def dropout_forward(x, dropout_param):
    """Inverted dropout; p is the probability of dropping a unit."""
    p = dropout_param["p"]
    if dropout_param["mode"] != "train":
        return x, None
    gen = np.random.default_rng(dropout_param.get("seed", None))
    keep = gen.binomial(1, 1.0 - p, size=x.shape)
    scale = 1.0 / (1.0 - p)
    out = x * keep * scale
    return out, keep * scale


def dropout_backward(dout, cache):
    if cache is None:  # test mode: identity
        return dout
    return dout * cache


# ======================================================================= penalties

def _penalty(weights, loss_fn, grad_fn):
    total = sum(float(np.sum(loss_fn(W))) for W in weights)
    return total, [grad_fn(W) for W in weights]


def l2_penalty(weights, reg):
    """reg * sum ||W||^2, gradient 2 reg W"""
    return _penalty(weights, lambda W: reg * W ** 2, lambda W: 2.0 * reg * W)


def l1_penalty(weights, reg):
    """reg * sum |W|, subgradient reg sign(W) (0 at 0)"""
    return _penalty(weights, lambda W: reg * np.abs(W), lambda W: reg * np.sign(W))


def elastic_net_penalty(weights, reg, l1_ratio):
    a, b = reg * l1_ratio, reg * (1.0 - l1_ratio)
    return _penalty(weights,
                    lambda W: a * np.abs(W) + b * W ** 2,
                    lambda W: a * np.sign(W) + 2.0 * b * W)


# ======================================================================= batch norm

class BatchNormCache:
    """What the backward pass needs from the forward pass."""

    def __init__(self, x_hat, inv_std, gamma, train):
        self.x_hat = x_hat
        self.inv_std = inv_std
        self.gamma = gamma
        self.train = train


def batchnorm_forward(x, gamma, beta, bn_param):
    mode = bn_param["mode"]
    eps = bn_param.get("eps", 1e-5)
    momentum = bn_param.get("momentum", 0.9)
    n_features = x.shape[1]
    if "running_mean" not in bn_param:
        bn_param["running_mean"] = np.zeros(n_features)
    if "running_var" not in bn_param:
        bn_param["running_var"] = np.ones(n_features)

    if mode == "train":
        mean = np.mean(x, axis=0)
        var = np.var(x, axis=0)
        unbiased = np.var(x, axis=0, ddof=1)
        bn_param["running_mean"] = momentum * bn_param["running_mean"] + (1 - momentum) * mean
        bn_param["running_var"] = momentum * bn_param["running_var"] + (1 - momentum) * unbiased
    else:
        mean = bn_param["running_mean"]
        var = bn_param["running_var"]

    inv_std = 1.0 / np.sqrt(var + eps)
    x_hat = (x - mean) * inv_std
    out = gamma * x_hat + beta
    return out, BatchNormCache(x_hat, inv_std, gamma, mode == "train")


def batchnorm_backward(dout, cache):
    dbeta = np.sum(dout, axis=0)
    dgamma = np.sum(dout * cache.x_hat, axis=0)
    g = dout * cache.gamma
    if not cache.train:
        return g * cache.inv_std, dgamma, dbeta
    N = dout.shape[0]
    # compact form: dx = inv_std / N * (N g - sum g - x_hat * sum(g x_hat))
    dx = cache.inv_std / N * (N * g - g.sum(axis=0) - cache.x_hat * (g * cache.x_hat).sum(axis=0))
    return dx, dgamma, dbeta


# ======================================================================= early stopping

class EarlyStopping:
    """Signals a stop after `patience` calls in a row without improvement."""

    def __init__(self, patience, min_delta=0.0):
        self.patience = patience
        self.min_delta = min_delta
        self.best = float("inf")
        self.best_step = -1
        self.history = []

    def step(self, val_loss):
        idx = len(self.history)
        self.history.append(val_loss)
        if idx == 0 or val_loss < self.best - self.min_delta:
            self.best = val_loss
            self.best_step = idx
        since_best = idx - self.best_step
        return since_best >= self.patience


# ======================================================================= network

def _softmax_xent(scores, y):
    z = scores - np.max(scores, axis=1, keepdims=True)
    p = np.exp(z)
    p /= np.sum(p, axis=1, keepdims=True)
    N = len(y)
    loss = -np.mean(np.log(p[np.arange(N), y]))
    d = p.copy()
    d[np.arange(N), y] -= 1
    return loss, d / N


class FullyConnectedNet:
    """affine - [batchnorm] - relu - [dropout], repeated, then affine + softmax."""

    def __init__(self, hidden_dims, input_dim, num_classes, dropout=0.0, normalization=None,
                 reg=0.0, weight_scale=1e-2, seed=None):
        self.reg = reg
        self.dropout = dropout
        self.seed = seed
        self.batchnorm = normalization == "batchnorm"
        sizes = [input_dim] + list(hidden_dims) + [num_classes]
        self.n_layers = len(sizes) - 1
        gen = np.random.default_rng(seed)
        self.params = {}
        for l in range(1, self.n_layers + 1):
            fan_in, fan_out = sizes[l - 1], sizes[l]
            self.params["W%d" % l] = gen.normal(0.0, weight_scale, (fan_in, fan_out))
            self.params["b%d" % l] = np.zeros(fan_out)
        self.bn = {}
        if self.batchnorm:
            for l in range(1, self.n_layers):
                self.params["gamma%d" % l] = np.ones(sizes[l])
                self.params["beta%d" % l] = np.zeros(sizes[l])
                self.bn[l] = {"mode": "train"}

    def loss(self, X, y=None):
        train = y is not None
        mode = "train" if train else "test"
        P = self.params
        a = X.reshape(X.shape[0], -1)
        saved = {}
        for l in range(1, self.n_layers):
            inp = a
            z = inp @ P["W%d" % l] + P["b%d" % l]
            bn_cache = None
            if self.batchnorm:
                self.bn[l]["mode"] = mode
                z, bn_cache = batchnorm_forward(z, P["gamma%d" % l], P["beta%d" % l], self.bn[l])
            a = np.maximum(z, 0)
            drop_cache = None
            if self.dropout > 0:
                dp = {"p": self.dropout, "mode": mode}
                if self.seed is not None:
                    dp["seed"] = self.seed
                a, drop_cache = dropout_forward(a, dp)
            saved[l] = (inp, bn_cache, z, drop_cache)
        last = self.n_layers
        scores = a @ P["W%d" % last] + P["b%d" % last]
        if not train:
            return scores

        data_loss, dscores = _softmax_xent(scores, y)
        weight_sq = sum(np.sum(P["W%d" % l] ** 2) for l in range(1, last + 1))
        loss = data_loss + 0.5 * self.reg * weight_sq

        grads = {}
        grads["W%d" % last] = a.T @ dscores + self.reg * P["W%d" % last]
        grads["b%d" % last] = dscores.sum(axis=0)
        da = dscores @ P["W%d" % last].T
        for l in range(last - 1, 0, -1):
            inp, bn_cache, z, drop_cache = saved[l]
            if self.dropout > 0:
                da = dropout_backward(da, drop_cache)
            dz = da * (z > 0)
            if self.batchnorm:
                dz, grads["gamma%d" % l], grads["beta%d" % l] = batchnorm_backward(dz, bn_cache)
            grads["W%d" % l] = inp.T @ dz + self.reg * P["W%d" % l]
            grads["b%d" % l] = dz.sum(axis=0)
            da = dz @ P["W%d" % l].T
        return float(loss), grads
