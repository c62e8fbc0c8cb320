# a5 - optimization
import numpy as np


def sgd(w, dw, config=None):
    config = config or {}
    lr = config.get("learning_rate", 1e-2)
    config["learning_rate"] = lr
    return w - lr * dw, config


def sgd_momentum(w, dw, config=None):
    config = config or {}
    lr = config.setdefault("learning_rate", 1e-2)
    mom = config.setdefault("momentum", 0.9)
    if "velocity" in config:
        vel = mom * config["velocity"] + dw
    else:
        vel = dw.copy()  # first step: buffer = gradient
    config["velocity"] = vel
    next_w = w - lr * vel
    return next_w, config


def nesterov_momentum(w, dw, config=None):
    config = config or {}
    lr = config.setdefault("learning_rate", 1e-2)
    mom = config.setdefault("momentum", 0.9)
    prev = config.get("velocity")
    vel = dw.copy() if prev is None else mom * prev + dw
    config["velocity"] = vel
    next_w = w - lr * dw - lr * mom * vel
    return next_w, config


def adagrad(w, dw, config=None):
    config = config or {}
    lr = config.setdefault("learning_rate", 1e-2)
    eps = config.setdefault("epsilon", 1e-10)
    G = config.get("cache")
    G = dw * dw if G is None else G + dw * dw
    config["cache"] = G
    next_w = w - lr * dw / (G ** 0.5 + eps)
    return next_w, config


def rmsprop(w, dw, config=None):
    config = config or {}
    lr = config.setdefault("learning_rate", 1e-2)
    alpha = config.setdefault("decay_rate", 0.99)
    eps = config.setdefault("epsilon", 1e-8)
    sq = config.get("cache")
    if sq is None:
        sq = np.zeros_like(w)
    sq = alpha * sq + (1 - alpha) * dw * dw
    config["cache"] = sq
    next_w = w - lr * dw / (sq ** 0.5 + eps)
    return next_w, config


def adam(w, dw, config=None):
    config = config or {}
    lr = config.setdefault("learning_rate", 1e-3)
    beta1 = config.setdefault("beta1", 0.9)
    beta2 = config.setdefault("beta2", 0.999)
    eps = config.setdefault("epsilon", 1e-8)
    m = config.get("m", np.zeros_like(w))
    v = config.get("v", np.zeros_like(w))
    t = config.get("t", 0) + 1

    m = beta1 * m + (1 - beta1) * dw
    v = beta2 * v + (1 - beta2) * (dw ** 2)
    mt = m / (1 - beta1 ** t)
    vt = v / (1 - beta2 ** t)
    next_w = w - lr * mt / (vt ** 0.5 + eps)

    config.update(m=m, v=v, t=t)
    return next_w, config


# ----- learning rate schedules -----

def step_decay(lr0, t, step_size, gamma=0.1):
    lr = lr0
    for _ in range(t // step_size):
        lr *= gamma
    return lr


def linear_decay(lr0, t, total_steps, end_factor=0.0):
    t = min(t, total_steps)
    return lr0 + (lr0 * end_factor - lr0) * t / total_steps


def inverse_sqrt(lr0, t):
    return lr0 * (t + 1) ** -0.5


def linear_warmup(lr0, t, warmup_steps):
    scale = min(1.0, (t + 1) / warmup_steps)
    return lr0 * scale


# ----- hyperparameter search -----

def random_search(objective, space, n_trials, seed):
    rng = np.random.default_rng(seed)
    best = (None, float("inf"))
    for trial in range(n_trials):
        cand = {}
        for key in space:
            s = space[key]
            if isinstance(s, tuple) and s[0] == "log":
                lo, hi = np.log(s[1]), np.log(s[2])
                cand[key] = float(np.exp(lo + (hi - lo) * rng.random()))
            elif isinstance(s, tuple) and s[0] == "uniform":
                cand[key] = float(s[1] + (s[2] - s[1]) * rng.random())
            else:
                cand[key] = s[rng.integers(len(s))]
        score = objective(cand)
        if best[0] is None or score < best[1]:
            best = (cand, score)
    return best
