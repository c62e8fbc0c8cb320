import numpy as np


def softmax(x):
    shifted = x - x.max(axis=1, keepdims=True)
    ex = np.exp(shifted)
    return ex / ex.sum(axis=1, keepdims=True)


def log_softmax(x):
    m = x.max(axis=1, keepdims=True)
    lse = m + np.log(np.exp(x - m).sum(axis=1, keepdims=True))
    return x - lse


def cross_entropy_loss(scores, y):
    n = scores.shape[0]
    logp = log_softmax(scores)
    loss = -logp[np.arange(n), y].mean()
    grad = np.exp(logp)
    grad[np.arange(n), y] -= 1.0
    grad /= n
    return float(loss), grad


def bce_with_logits_loss(z, y):
    # log(1 + exp(-|z|)) + max(z, 0) - z*y
    losses = np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))
    sig = np.where(z >= 0, 1 / (1 + np.exp(-np.abs(z))), np.exp(-np.abs(z)) / (1 + np.exp(-np.abs(z))))
    dz = (sig - y) / z.shape[0]
    return float(losses.mean()), dz


def mse_loss(pred, target):
    diff = pred - target
    return float(np.mean(diff ** 2)), 2.0 * diff / diff.size


def entropy(p):
    nz = p[p > 0]
    return float(-(nz * np.log(nz)).sum())


def kl_divergence(p, q):
    total = 0.0
    for pi, qi in zip(p, q):
        if pi > 0:
            total += pi * np.log(pi / qi)
    return float(total)
