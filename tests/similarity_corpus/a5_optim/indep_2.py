"""Optimizers, learning-rate schedules and random hyperparameter search."""
import math

import numpy as np

DEFAULTS = {
    "sgd": {"learning_rate": 1e-2},
    "sgd_momentum": {"learning_rate": 1e-2, "momentum": 0.9},
    "nesterov_momentum": {"learning_rate": 1e-2, "momentum": 0.9},
    "adagrad": {"learning_rate": 1e-2, "epsilon": 1e-10},
    "rmsprop": {"learning_rate": 1e-2, "decay_rate": 0.99, "epsilon": 1e-8},
    "adam": {"learning_rate": 1e-3, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8},
}


def _fill(config, rule):
    """Return config (a new dict if None) with this rule's missing hyperparameters added."""
    config = {} if config is None else config
    for key, value in DEFAULTS[rule].items():
        if key not in config:
            config[key] = value
    return config


def _state(config, key, like):
    """Optimizer state array; zeros of w's shape the first time."""
    if key not in config:
        config[key] = np.zeros(like.shape)
    return config[key]


def sgd(w, dw, config=None):
    """Vanilla SGD: w <- w - lr * dw"""
    config = _fill(config, "sgd")
    next_w = w - config["learning_rate"] * dw
    return next_w, config


def sgd_momentum(w, dw, config=None):
    """v <- mu * v + dw ; w <- w - lr * v   (torch's momentum buffer)"""
    config = _fill(config, "sgd_momentum")
    velocity = config["momentum"] * _state(config, "velocity", w) + dw
    next_w = w - config["learning_rate"] * velocity
    config["velocity"] = velocity
    return next_w, config


def nesterov_momentum(w, dw, config=None):
    """v <- mu * v + dw ; w <- w - lr * (dw + mu * v)"""
    config = _fill(config, "nesterov_momentum")
    velocity = config["momentum"] * _state(config, "velocity", w) + dw
    lookahead = dw + config["momentum"] * velocity
    next_w = w - config["learning_rate"] * lookahead
    config["velocity"] = velocity
    return next_w, config


def adagrad(w, dw, config=None):
    """cache <- cache + dw^2 ; w <- w - lr * dw / (sqrt(cache) + eps)"""
    config = _fill(config, "adagrad")
    cache = _state(config, "cache", w) + np.square(dw)
    next_w = w - config["learning_rate"] * dw / (np.sqrt(cache) + config["epsilon"])
    config["cache"] = cache
    return next_w, config


def rmsprop(w, dw, config=None):
    """cache <- rho * cache + (1 - rho) dw^2 ; w <- w - lr * dw / (sqrt(cache) + eps)"""
    config = _fill(config, "rmsprop")
    rho = config["decay_rate"]
    cache = rho * _state(config, "cache", w) + (1.0 - rho) * np.square(dw)
    next_w = w - config["learning_rate"] * dw / (np.sqrt(cache) + config["epsilon"])
    config["cache"] = cache
    return next_w, config


def adam(w, dw, config=None):
    """Adam with bias correction (t counted before it is used, like torch)."""
    config = _fill(config, "adam")
    beta1, beta2 = config["beta1"], config["beta2"]
    t = config.get("t", 0) + 1
    m = beta1 * _state(config, "m", w) + (1.0 - beta1) * dw
    v = beta2 * _state(config, "v", w) + (1.0 - beta2) * np.square(dw)
    step = config["learning_rate"] / (1.0 - beta1 ** t)
    denom = np.sqrt(v) / math.sqrt(1.0 - beta2 ** t) + config["epsilon"]
    next_w = w - step * m / denom
    config["m"], config["v"], config["t"] = m, v, t
    return next_w, config


def step_decay(lr0, t, step_size, gamma=0.1):
    """lr0 * gamma^(number of completed steps of size step_size)"""
    return lr0 * gamma ** math.floor(t / step_size)


def linear_decay(lr0, t, total_steps, end_factor=0.0):
    """factor goes linearly from 1 to end_factor over total_steps, then stays"""
    if t >= total_steps:
        return lr0 * end_factor
    return lr0 * (1.0 - (1.0 - end_factor) * t / total_steps)


def inverse_sqrt(lr0, t):
    return lr0 / math.sqrt(t + 1)


def linear_warmup(lr0, t, warmup_steps):
    return lr0 * (t + 1) / warmup_steps if t < warmup_steps else lr0


def _sample(spec, rng):
    if isinstance(spec, list):
        return spec[int(rng.integers(0, len(spec)))]
    kind, low, high = spec
    if kind == "log":
        return float(10 ** rng.uniform(math.log10(low), math.log10(high)))
    if kind == "uniform":
        return float(rng.uniform(low, high))
    raise ValueError(f"unknown spec {spec!r}")


def random_search(objective, space, n_trials, seed):
    """Evaluate n_trials random configurations, return the best one and its value."""
    rng = np.random.default_rng(seed)
    trials = []
    for _ in range(n_trials):
        params = {name: _sample(spec, rng) for name, spec in space.items()}
        trials.append((objective(params), params))
    best_value, best_params = min(trials, key=lambda pair: pair[0])
    return best_params, best_value
