# Assignment 3 -- activations & init
import numpy as np


def _stable_sigmoid(x):
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


def sigmoid_forward(x):
    y = _stable_sigmoid(x)
    return y, y


def sigmoid_backward(dout, cache):
    return dout * (cache - cache * cache)


def tanh_forward(x):
    t = np.tanh(x)
    return t, t


def tanh_backward(dout, cache):
    return dout - dout * cache * cache


def relu_forward(x):
    out = np.clip(x, 0, None)
    return out, x


def relu_backward(dout, cache):
    dx = np.zeros_like(dout)
    pos = cache > 0
    dx[pos] = dout[pos]
    return dx


def leaky_relu_forward(x, negative_slope=0.01):
    out = np.maximum(x, 0) + negative_slope * np.minimum(x, 0)
    return out, (x, negative_slope)


def leaky_relu_backward(dout, cache):
    x, a = cache
    grad = dout.copy()
    grad[x <= 0] *= a
    return grad


def elu_forward(x, alpha=1.0):
    xn = np.minimum(x, 0.0)
    out = np.maximum(x, 0.0) + alpha * (np.exp(xn) - 1)
    return out, (x, alpha)


def elu_backward(dout, cache):
    x, alpha = cache
    d = np.where(x > 0, 1.0, alpha * np.exp(np.minimum(x, 0.0)))
    return d * dout


def maxout_forward(x, w, b):
    N = x.shape[0]
    K, D, M = w.shape
    # (N, D) @ (D, K*M) in one product, then split the pieces
    wide = w.transpose(1, 0, 2).reshape(D, K * M)
    z = (x @ wide).reshape(N, K, M) + b
    best = np.argmax(z, axis=1)  # (N, M)
    out = np.max(z, axis=1)
    cache = (x, w, best)
    return out, cache


def maxout_backward(dout, cache):
    x, w, best = cache
    N = x.shape[0]
    K, D, M = w.shape
    dz = np.zeros((N, K, M))
    n_idx, m_idx = np.indices((N, M))
    dz[n_idx, best, m_idx] = dout
    db = dz.sum(axis=0)
    dx = dz.reshape(N, K * M) @ w.transpose(1, 0, 2).reshape(D, K * M).T
    dw = np.einsum("nd,nkm->kdm", x, dz)
    return dx, dw, db


def xavier_normal(fan_in, fan_out, rng, gain=1.0):
    sigma = gain * (2.0 / (fan_in + fan_out)) ** 0.5
    return rng.normal(scale=sigma, size=(fan_in, fan_out))


def xavier_uniform(fan_in, fan_out, rng, gain=1.0):
    limit = gain * (6.0 / (fan_in + fan_out)) ** 0.5
    return rng.uniform(low=-limit, high=limit, size=(fan_in, fan_out))


def he_normal(fan_in, fan_out, rng):
    sigma = (2.0 / fan_in) ** 0.5
    return rng.normal(scale=sigma, size=(fan_in, fan_out))


def he_uniform(fan_in, fan_out, rng):
    limit = (6.0 / fan_in) ** 0.5
    return rng.uniform(low=-limit, high=limit, size=(fan_in, fan_out))


ACTIVATIONS = {
    "tanh": np.tanh,
    "relu": lambda z: np.maximum(z, 0),
    "sigmoid": _stable_sigmoid,
}


def layer_stats(x, weights, activation):
    act = ACTIVATIONS[activation]
    out = []
    for i in range(len(weights)):
        x = act(x.dot(weights[i]))
        out.append((x.mean(), x.std(ddof=0)))
    return out
