"""Softmax and losses, homework 2."""
import numpy as np


def softmax(x):
    """row-wise softmax"""
    z = np.exp(x - np.amax(x, axis=-1)[:, None])
    s = np.sum(z, axis=-1)[:, None]
    return z / s


def log_softmax(x):
    c = np.amax(x, axis=-1)[:, None]
    return (x - c) - np.log(np.sum(np.exp(x - c), axis=-1))[:, None]


def cross_entropy_loss(scores, y):
    N, C = scores.shape
    probs = softmax(scores)
    onehot = np.zeros((N, C))
    onehot[range(N), y] = 1
    correct = log_softmax(scores)[range(N), y]
    loss = -np.sum(correct) / N
    dscores = (probs - onehot) / N
    return float(loss), dscores


def bce_with_logits_loss(z, y):
    N = len(z)
    sp = np.logaddexp(0, z)          # softplus
    loss = np.sum(sp - y * z) / N
    sigma = np.exp(-np.logaddexp(0, -z))
    return float(loss), (sigma - y) / N


def mse_loss(pred, target):
    n = np.prod(pred.shape)
    r = pred - target
    loss = (r * r).sum() / n
    return float(loss), r * (2 / n)


def entropy(p):
    logs = np.log(np.where(p > 0, p, 1.0))
    return float(-np.dot(p, logs))


def kl_divergence(p, q):
    mask = p > 0
    return float(np.sum(p[mask] * (np.log(p[mask]) - np.log(q[mask]))))
