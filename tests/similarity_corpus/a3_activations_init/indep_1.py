import numpy as np


def sigmoid_forward(x):
    out = np.exp(-np.logaddexp(0, -x))
    return out, out


def sigmoid_backward(dout, cache):
    return dout * cache * (1 - cache)


def tanh_forward(x):
    out = np.tanh(x)
    return out, out


def tanh_backward(dout, cache):
    return dout * (1 - cache ** 2)


def relu_forward(x):
    return np.maximum(x, 0), x


def relu_backward(dout, cache):
    return dout * (cache > 0)


def leaky_relu_forward(x, negative_slope=0.01):
    out = np.where(x > 0, x, negative_slope * x)
    return out, (x, negative_slope)


def leaky_relu_backward(dout, cache):
    x, slope = cache
    return dout * np.where(x > 0, 1.0, slope)


def elu_forward(x, alpha=1.0):
    neg = alpha * np.expm1(np.minimum(x, 0))
    out = np.where(x > 0, x, neg)
    return out, (x, alpha)


def elu_backward(dout, cache):
    x, alpha = cache
    return dout * np.where(x > 0, 1.0, alpha * np.exp(np.minimum(x, 0)))


def maxout_forward(x, w, b):
    z = np.einsum("nd,kdm->knm", x, w) + b[:, None, :]
    idx = np.argmax(z, axis=0)
    out = np.max(z, axis=0)
    return out, (x, w, idx)


def maxout_backward(dout, cache):
    x, w, idx = cache
    K = w.shape[0]
    dz = np.stack([dout * (idx == k) for k in range(K)])
    dx = np.einsum("knm,kdm->nd", dz, w)
    dw = np.einsum("nd,knm->kdm", x, dz)
    db = dz.sum(axis=1)
    return dx, dw, db


def xavier_normal(fan_in, fan_out, rng, gain=1.0):
    std = gain * np.sqrt(2.0 / (fan_in + fan_out))
    return rng.normal(0.0, std, size=(fan_in, fan_out))


def xavier_uniform(fan_in, fan_out, rng, gain=1.0):
    a = gain * np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-a, a, size=(fan_in, fan_out))


def he_normal(fan_in, fan_out, rng):
    return rng.normal(0.0, np.sqrt(2.0 / fan_in), size=(fan_in, fan_out))


def he_uniform(fan_in, fan_out, rng):
    a = np.sqrt(6.0 / fan_in)
    return rng.uniform(-a, a, size=(fan_in, fan_out))


def layer_stats(x, weights, activation):
    acts = {"tanh": np.tanh, "relu": lambda v: np.maximum(v, 0),
            "sigmoid": lambda v: sigmoid_forward(v)[0]}
    f = acts[activation]
    stats = []
    h = x
    for W in weights:
        h = f(h @ W)
        stats.append((float(h.mean()), float(h.std())))
    return stats
