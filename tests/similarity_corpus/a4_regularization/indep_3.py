# hw4 -- regularization
import numpy as np


def dropout_forward(x, dropout_param):
    if dropout_param["mode"] == "test":
        return x.copy(), {"mode": "test"}
    keep_prob = 1 - dropout_param["p"]
    seed = dropout_param["seed"] if "seed" in dropout_param else None
    u = np.random.default_rng(seed).uniform(size=x.shape)
    mask = np.where(u < keep_prob, 1.0 / keep_prob, 0.0)
    return mask * x, {"mode": "train", "mask": mask}


def dropout_backward(dout, cache):
    if cache["mode"] == "test":
        return dout.copy()
    return cache["mask"] * dout


def l2_penalty(weights, reg):
    loss = reg * sum((w ** 2).sum() for w in weights)
    return float(loss), [2 * reg * w for w in weights]


def l1_penalty(weights, reg):
    loss = reg * sum(np.abs(w).sum() for w in weights)
    grads = []
    for w in weights:
        g = np.zeros_like(w)
        g[w > 0] = reg
        g[w < 0] = -reg
        grads.append(g)
    return float(loss), grads


def elastic_net_penalty(weights, reg, l1_ratio):
    loss = 0.0
    grads = []
    for w in weights:
        loss += l1_ratio * np.abs(w).sum() + (1 - l1_ratio) * (w * w).sum()
        grads.append(reg * (l1_ratio * np.sign(w) + 2 * (1 - l1_ratio) * w))
    return float(reg * loss), grads


def batchnorm_forward(x, gamma, beta, bn_param):
    eps = bn_param.get("eps", 1e-5)
    mom = bn_param.get("momentum", 0.9)
    D = x.shape[1]
    bn_param.setdefault("running_mean", np.zeros(D))
    bn_param.setdefault("running_var", np.ones(D))

    if bn_param["mode"] == "test":
        denom = np.sqrt(bn_param["running_var"] + eps)
        xn = (x - bn_param["running_mean"]) / denom
        return gamma * xn + beta, ("test", xn, denom, gamma)

    n = x.shape[0]
    mu = np.sum(x, axis=0, keepdims=True) / n
    d = x - mu
    s2 = np.sum(d * d, axis=0, keepdims=True) / n
    denom = np.sqrt(s2 + eps)
    xn = d / denom
    bn_param["running_mean"] = mom * bn_param["running_mean"] + (1 - mom) * mu[0]
    bn_param["running_var"] = mom * bn_param["running_var"] + (1 - mom) * s2[0] * n / (n - 1)
    return gamma * xn + beta, ("train", xn, denom, gamma)


def batchnorm_backward(dout, cache):
    mode, xn, denom, gamma = cache
    dgamma = np.einsum("nd,nd->d", dout, xn)
    dbeta = dout.sum(axis=0)
    dxn = dout * gamma
    if mode == "test":
        return dxn / denom, dgamma, dbeta
    m1 = dxn.mean(axis=0, keepdims=True)
    m2 = (dxn * xn).mean(axis=0, keepdims=True)
    dx = (dxn - m1 - xn * m2) / denom
    return dx, dgamma, dbeta


class EarlyStopping:
    def __init__(self, patience, min_delta=0.0):
        self.patience = patience
        self.min_delta = min_delta
        self.best = np.inf
        self.best_step = 0
        self.t = -1
        self.wait = 0

    def step(self, val_loss):
        self.t += 1
        improved = self.t == 0 or val_loss < self.best - self.min_delta
        if improved:
            self.best, self.best_step, self.wait = val_loss, self.t, 0
            return False
        self.wait += 1
        return self.wait >= self.patience


class Layer:
    """Holds the intermediate values of one hidden block for the backward pass."""

    def __init__(self):
        self.x = None
        self.bn = None
        self.pre_relu = None
        self.drop = None


class FullyConnectedNet:
    def __init__(self, hidden_dims, input_dim, num_classes, dropout=0.0, normalization=None,
                 reg=0.0, weight_scale=1e-2, seed=None):
        self.reg = reg
        self.p_drop = dropout
        self.norm = normalization
        self.seed = seed
        dims = [input_dim, *hidden_dims, num_classes]
        self.L = len(dims) - 1
        rng = np.random.default_rng(seed)
        self.params = {}
        for i, (din, dout) in enumerate(zip(dims[:-1], dims[1:]), start=1):
            self.params["W" + str(i)] = rng.normal(scale=weight_scale, size=(din, dout))
            self.params["b" + str(i)] = np.zeros(dout)
            if normalization == "batchnorm" and i < self.L:
                self.params["gamma" + str(i)] = np.ones(dout)
                self.params["beta" + str(i)] = np.zeros(dout)
        self.bn_params = [{} for _ in range(self.L - 1)]

    def _hidden(self, h, i, mode):
        layer = Layer()
        layer.x = h
        z = h @ self.params["W" + str(i)] + self.params["b" + str(i)]
        if self.norm == "batchnorm":
            bp = self.bn_params[i - 1]
            bp["mode"] = mode
            z, layer.bn = batchnorm_forward(z, self.params["gamma" + str(i)],
                                            self.params["beta" + str(i)], bp)
        layer.pre_relu = z
        h = np.where(z > 0, z, 0.0)
        if self.p_drop > 0:
            dp = {"p": self.p_drop, "mode": mode}
            if self.seed is not None:
                dp["seed"] = self.seed
            h, layer.drop = dropout_forward(h, dp)
        return h, layer

    def _hidden_back(self, dh, i, layer, grads):
        if self.p_drop > 0:
            dh = dropout_backward(dh, layer.drop)
        dz = np.where(layer.pre_relu > 0, dh, 0.0)
        if self.norm == "batchnorm":
            dz, grads["gamma" + str(i)], grads["beta" + str(i)] = batchnorm_backward(dz, layer.bn)
        grads["W" + str(i)] = layer.x.T @ dz + self.reg * self.params["W" + str(i)]
        grads["b" + str(i)] = dz.sum(axis=0)
        return dz @ self.params["W" + str(i)].T

    def loss(self, X, y=None):
        mode = "test" if y is None else "train"
        h = X
        layers = []
        for i in range(1, self.L):
            h, layer = self._hidden(h, i, mode)
            layers.append(layer)
        WL, bL = self.params["W" + str(self.L)], self.params["b" + str(self.L)]
        scores = h @ WL + bL
        if y is None:
            return scores

        # softmax cross-entropy
        shifted = scores - scores.max(axis=1)[:, None]
        log_probs = shifted - np.log(np.exp(shifted).sum(axis=1))[:, None]
        N = X.shape[0]
        loss = -log_probs[np.arange(N), y].sum() / N
        for i in range(1, self.L + 1):
            W = self.params["W" + str(i)]
            loss += 0.5 * self.reg * np.sum(W * W)
        dscores = np.exp(log_probs)
        dscores[np.arange(N), y] -= 1
        dscores /= N

        grads = {"W" + str(self.L): h.T @ dscores + self.reg * WL,
                 "b" + str(self.L): dscores.sum(axis=0)}
        dh = dscores @ WL.T
        for i in range(self.L - 1, 0, -1):
            dh = self._hidden_back(dh, i, layers[i - 1], grads)
        return float(loss), grads
