"""Activation functions, maxout and weight initialization (assignment 3)."""
import math

import numpy as np


# ------------------------------------------------------------------ sigmoid / tanh

def sigmoid_forward(x):
    """sigma(x) = 1 / (1 + exp(-x)), split by sign so exp never sees a large positive number."""
    out = np.zeros_like(x, dtype=np.float64)
    p = x >= 0
    out[p] = 1.0 / (1.0 + np.exp(-x[p]))
    ex = np.exp(x[~p])
    out[~p] = ex / (1.0 + ex)
    cache = out
    return out, cache


def sigmoid_backward(dout, cache):
    """d sigma / dx = sigma (1 - sigma)"""
    sig = cache
    dx = dout * sig * (1.0 - sig)
    return dx


def tanh_forward(x):
    # tanh(x) = 2 sigma(2x) - 1 keeps everything finite
    s, _ = sigmoid_forward(2.0 * x)
    out = 2.0 * s - 1.0
    return out, out


def tanh_backward(dout, cache):
    """d tanh / dx = 1 - tanh^2"""
    return dout * (1.0 - np.square(cache))


# ------------------------------------------------------------------ ReLU family

def relu_forward(x):
    mask = (x > 0).astype(x.dtype)
    return x * mask, mask


def relu_backward(dout, cache):
    return dout * cache


def leaky_relu_forward(x, negative_slope=0.01):
    """f(x) = x for x > 0, negative_slope * x otherwise"""
    slope = np.ones_like(x)
    slope[x <= 0] = negative_slope
    return x * slope, slope


def leaky_relu_backward(dout, cache):
    # the cache already is the local derivative
    return dout * cache


def elu_forward(x, alpha=1.0):
    """f(x) = x for x > 0, alpha (e^x - 1) otherwise"""
    out = x.astype(np.float64)
    neg = x <= 0
    out[neg] = alpha * (np.exp(x[neg]) - 1.0)
    return out, (neg, out, alpha)


def elu_backward(dout, cache):
    neg, out, alpha = cache
    # for x <= 0: f'(x) = alpha e^x = f(x) + alpha
    local = np.ones_like(out)
    local[neg] = out[neg] + alpha
    return dout * local


# ------------------------------------------------------------------ maxout

def maxout_forward(x, w, b):
    """x (N, D), w (K, D, M), b (K, M) -> out (N, M) = max over the K affine pieces"""
    K = w.shape[0]
    pieces = np.array([x @ w[k] + b[k] for k in range(K)])  # (K, N, M)
    winner = pieces.argmax(axis=0)                           # first maximum on ties
    out = np.take_along_axis(pieces, winner[None], axis=0)[0]
    return out, (x, w, winner)


def maxout_backward(dout, cache):
    x, w, winner = cache
    dx = np.zeros_like(x, dtype=np.float64)
    dw = np.zeros_like(w, dtype=np.float64)
    db = np.zeros((w.shape[0], w.shape[2]))
    for k in range(w.shape[0]):
        g = np.where(winner == k, dout, 0.0)  # gradient flowing into piece k
        dx += g @ w[k].T
        dw[k] = x.T @ g
        db[k] = g.sum(axis=0)
    return dx, dw, db


# ------------------------------------------------------------------ initialization

def xavier_normal(fan_in, fan_out, rng, gain=1.0):
    std = gain * math.sqrt(2 / (fan_in + fan_out))
    return std * rng.standard_normal((fan_in, fan_out))


def xavier_uniform(fan_in, fan_out, rng, gain=1.0):
    bound = gain * math.sqrt(6 / (fan_in + fan_out))
    return bound * (2 * rng.random((fan_in, fan_out)) - 1)


def he_normal(fan_in, fan_out, rng):
    return math.sqrt(2 / fan_in) * rng.standard_normal((fan_in, fan_out))


def he_uniform(fan_in, fan_out, rng):
    bound = math.sqrt(6 / fan_in)
    return bound * (2 * rng.random((fan_in, fan_out)) - 1)


def layer_stats(x, weights, activation):
    """Mean and (population) std of the activations after every layer."""
    if activation == "tanh":
        forward = tanh_forward
    elif activation == "relu":
        forward = relu_forward
    elif activation == "sigmoid":
        forward = sigmoid_forward
    else:
        raise ValueError(f"unknown activation {activation!r}")
    result = []
    a = x
    for W in weights:
        a, _ = forward(np.dot(a, W))
        result.append((float(np.mean(a)), float(np.std(a))))
    return result
