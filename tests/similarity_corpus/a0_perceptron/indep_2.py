import numpy as np

GATES = {
    'AND': ([2., 2.], -3.),
    'OR': ([2., 2.], -1.),
    'NAND': ([-2., -2.], 3.),
}


def step(z):
    return (np.asarray(z) > 0).astype(np.float64)


def gate_weights(name):
    try:
        w, b = GATES[name]
    except KeyError:
        raise ValueError(f'no such gate {name!r}') from None
    return np.array(w, dtype=float), float(b)


def gate_output(x, w, b):
    return step(np.dot(x, w) + b)


def perceptron_train(X, y, *, lr, epochs, seed):
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    rng = np.random.default_rng(seed)
    w, b = np.zeros(X.shape[1]), 0.0
    history = []
    for _ in range(epochs):
        errs = 0
        for n in rng.permutation(len(X)):
            d = y[n] - step(X[n] @ w + b)
            if d:
                w = w + lr * d * X[n]
                b += lr * d
                errs += 1
        history.append(errs)
        if not errs:
            return w, float(b), True, history
    return w, float(b), False, history


def xor_two_layer():
    return dict(W1=np.array([[20., -20.], [20., -20.]]), b1=np.array([-10., 30.]),
                w2=np.array([20., 20.]), b2=-30.)


def xor_forward(X, params):
    hidden = step(X @ params['W1'] + params['b1'])
    return step(hidden @ params['w2'] + params['b2'])
