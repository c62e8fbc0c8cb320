import numpy as np


def sgd(w, dw, config=None):
    if config is None:
        config = {}
    config.setdefault("learning_rate", 1e-2)
    return w - config["learning_rate"] * dw, config


def sgd_momentum(w, dw, config=None):
    if config is None:
        config = {}
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("momentum", 0.9)
    v = config.get("velocity", np.zeros_like(w))
    v = config["momentum"] * v + dw
    config["velocity"] = v
    return w - config["learning_rate"] * v, config


def nesterov_momentum(w, dw, config=None):
    if config is None:
        config = {}
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("momentum", 0.9)
    mu = config["momentum"]
    v = mu * config.get("velocity", np.zeros_like(w)) + dw
    config["velocity"] = v
    return w - config["learning_rate"] * (dw + mu * v), config


def adagrad(w, dw, config=None):
    if config is None:
        config = {}
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("epsilon", 1e-10)
    cache = config.get("cache", np.zeros_like(w)) + dw ** 2
    config["cache"] = cache
    next_w = w - config["learning_rate"] * dw / (np.sqrt(cache) + config["epsilon"])
    return next_w, config


def rmsprop(w, dw, config=None):
    if config is None:
        config = {}
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("decay_rate", 0.99)
    config.setdefault("epsilon", 1e-8)
    rho = config["decay_rate"]
    cache = rho * config.get("cache", np.zeros_like(w)) + (1 - rho) * dw ** 2
    config["cache"] = cache
    next_w = w - config["learning_rate"] * dw / (np.sqrt(cache) + config["epsilon"])
    return next_w, config


def adam(w, dw, config=None):
    if config is None:
        config = {}
    config.setdefault("learning_rate", 1e-3)
    config.setdefault("beta1", 0.9)
    config.setdefault("beta2", 0.999)
    config.setdefault("epsilon", 1e-8)
    config.setdefault("m", np.zeros_like(w))
    config.setdefault("v", np.zeros_like(w))
    config.setdefault("t", 0)
    b1, b2 = config["beta1"], config["beta2"]
    config["t"] += 1
    t = config["t"]
    config["m"] = b1 * config["m"] + (1 - b1) * dw
    config["v"] = b2 * config["v"] + (1 - b2) * dw * dw
    m_hat = config["m"] / (1 - b1 ** t)
    v_hat = config["v"] / (1 - b2 ** t)
    next_w = w - config["learning_rate"] * m_hat / (np.sqrt(v_hat) + config["epsilon"])
    return next_w, config


def step_decay(lr0, t, step_size, gamma=0.1):
    return lr0 * gamma ** (t // step_size)


def linear_decay(lr0, t, total_steps, end_factor=0.0):
    frac = min(t, total_steps) / total_steps
    return lr0 * (1.0 + (end_factor - 1.0) * frac)


def inverse_sqrt(lr0, t):
    return lr0 / np.sqrt(t + 1)


def linear_warmup(lr0, t, warmup_steps):
    if t < warmup_steps:
        return lr0 * (t + 1) / warmup_steps
    return lr0


def random_search(objective, space, n_trials, seed):
    rng = np.random.default_rng(seed)
    best_params, best_value = None, np.inf
    for _ in range(n_trials):
        params = {}
        for name, spec in space.items():
            if isinstance(spec, tuple) and spec[0] == "log":
                params[name] = float(np.exp(rng.uniform(np.log(spec[1]), np.log(spec[2]))))
            elif isinstance(spec, tuple) and spec[0] == "uniform":
                params[name] = float(rng.uniform(spec[1], spec[2]))
            else:
                params[name] = spec[rng.integers(len(spec))]
        value = objective(params)
        if value < best_value:
            best_params, best_value = params, value
    return best_params, best_value
