"""Assignment 0 -- perceptrons.

Student: (redacted)
"""

import numpy as np


def step(z):
    """Heaviside step, 0 at z == 0."""
    out = np.zeros(np.shape(z))
    out[np.asarray(z) > 0] = 1
    return out


def _unit(inputs, weights, bias):
    """One threshold unit applied to every row of inputs."""
    pre_activation = inputs @ weights + bias
    return step(pre_activation)


def gate_weights(name):
    """Return (w, b) for AND / OR / NAND.

    AND:  x1 + x2 - 1.5 > 0 only at (1, 1)
    OR:   x1 + x2 - 0.5 > 0 unless both are 0
    NAND: the negation of AND
    """
    name = str(name).upper() if isinstance(name, str) else name
    table = {"AND": (1.0, -1.5), "OR": (1.0, -0.5), "NAND": (-1.0, 1.5)}
    if name not in table:
        raise ValueError(f"gate_weights: unsupported gate {name}")
    scale, bias = table[name]
    return np.full(2, scale), bias


def gate_output(x, w, b):
    return _unit(x, w, b)


def _one_epoch(X, y, w, b, lr, order):
    """Visit samples in `order`, updating w, b online. Returns w, b, #mistakes."""
    n_wrong = 0
    for idx in order:
        prediction = 1.0 if X[idx] @ w + b > 0 else 0.0
        delta = y[idx] - prediction
        if delta != 0:
            n_wrong += 1
            w = w + (lr * delta) * X[idx]
            b = b + lr * delta
    return w, b, n_wrong


def perceptron_train(X, y, *, lr, epochs, seed):
    n_samples, n_features = X.shape
    rng = np.random.default_rng(seed)
    weights = np.zeros(n_features, dtype=np.float64)
    bias = 0.0
    history = []
    done = False
    epoch = 0
    while epoch < epochs and not done:
        perm = rng.permutation(n_samples)
        weights, bias, wrong = _one_epoch(X, y, weights, bias, lr, perm)
        history.append(wrong)
        done = wrong == 0
        epoch += 1
    return weights, float(bias), bool(done), history


def xor_two_layer():
    """XOR = AND(OR, NAND), three hidden units (the third one is unused)."""
    or_w, or_b = gate_weights("OR")
    nand_w, nand_b = gate_weights("NAND")
    W1 = np.stack([or_w, nand_w, np.zeros(2)], axis=1)
    b1 = np.array([or_b, nand_b, 0.0])
    w2 = np.array([1.0, 1.0, 0.0])
    b2 = -1.5
    return {"W1": W1, "b1": b1, "w2": w2, "b2": b2}


def xor_forward(X, params):
    hidden = _unit(X, params["W1"], params["b1"])
    return _unit(hidden, params["w2"], params["b2"])
