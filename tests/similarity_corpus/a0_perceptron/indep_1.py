"""A0 perceptron - my solution."""
import numpy as np


def step(z):
    # heaviside with step(0) = 0
    z = np.asarray(z)
    return np.where(z > 0, 1.0, 0.0)


def gate_weights(name):
    # picked by drawing the four corners of the unit square
    if name == "AND":
        w = np.array([1.0, 1.0])
        b = -1.5
    elif name == "OR":
        w = np.array([1.0, 1.0])
        b = -0.5
    elif name == "NAND":
        w = np.array([-1.0, -1.0])
        b = 1.5
    else:
        raise ValueError("unknown gate: " + str(name))
    return w, b


def gate_output(x, w, b):
    z = x @ w + b
    return step(z)


def perceptron_train(X, y, *, lr, epochs, seed):
    N, D = X.shape
    w = np.zeros(D)
    b = 0.0
    rng = np.random.default_rng(seed)
    history = []
    converged = False
    for epoch in range(epochs):
        order = rng.permutation(N)
        mistakes = 0
        for i in order:
            xi = X[i]
            y_hat = step(np.dot(xi, w) + b)
            err = y[i] - y_hat
            if err != 0:
                mistakes += 1
                w = w + lr * err * xi
                b = b + lr * err
        history.append(int(mistakes))
        if mistakes == 0:
            converged = True
            break
    return w, float(b), converged, history


def xor_two_layer():
    # hidden unit 0 = OR, hidden unit 1 = NAND, output = AND of the two
    W1 = np.array([[1.0, -1.0],
                   [1.0, -1.0]])
    b1 = np.array([-0.5, 1.5])
    w2 = np.array([1.0, 1.0])
    b2 = -1.5
    return {"W1": W1, "b1": b1, "w2": w2, "b2": b2}


def xor_forward(X, params):
    h = step(X @ params["W1"] + params["b1"])
    out = step(h @ params["w2"] + params["b2"])
    return out
