"""Assignment 0: the perceptron.

Rosenblatt's threshold unit, logic gates built from it, the perceptron learning rule, and a
two-layer network of threshold units that computes XOR. Only numpy is available.

Conventions (as in every numpy assignment of this course):
- arrays are float64, batch dimension first: X (N, D) holds N samples of D features;
- randomness comes only from the ``seed`` you are given;
- functions never modify their inputs in place.
"""

from __future__ import annotations

import numpy as np


def step(z: np.ndarray) -> np.ndarray:
    """Heaviside step function, the perceptron's activation.

    Shapes: z (any) -> out (same shape as z).
    Formula: out = 1 where z > 0, else 0. In particular step(0) = 0: the lecture's unit fires
    only when w·x + b is strictly positive ("0 if w·x + b <= 0").
    """
    # TODO: compute out elementwise, 1.0 where z > 0 and 0.0 elsewhere (also at z == 0).
    out = None
    raise NotImplementedError  # then: return out


def gate_weights(name: str) -> tuple[np.ndarray, float]:
    """Weights of a single perceptron that computes a logic gate on two binary inputs.

    name: 'AND', 'OR' or 'NAND'.
    Returns: w (2,) float array and b (float) such that step(x @ w + b) is the gate's truth
    table on the four points x in {0, 1}^2.
    Example: AND fires only for x = (1, 1), so w·x + b must be > 0 there and <= 0 elsewhere.
    """
    # TODO: choose w and b for each gate (draw the four points and the separating line), and
    # raise ValueError for any other name.
    w, b = None, None
    raise NotImplementedError  # then: return w, b


def gate_output(x: np.ndarray, w: np.ndarray, b: float) -> np.ndarray:
    """Output of one perceptron for a batch of inputs.

    Shapes: x (N, D), w (D,), b scalar -> out (N,) of 0/1 values.
    Formula: out = step(x @ w + b).
    """
    # TODO: compute the pre-activation x @ w + b and apply step.
    out = None
    raise NotImplementedError  # then: return out


def perceptron_train(X: np.ndarray, y: np.ndarray, *, lr: float, epochs: int,
                     seed: int) -> tuple[np.ndarray, float, bool, list[int]]:
    """Rosenblatt's perceptron learning rule (online: one sample at a time).

    Shapes: X (N, D), y (N,) with labels in {0, 1} -> w (D,), b float, converged bool,
        history list of ints.
    Start from w = zeros(D), b = 0.0. Make rng = np.random.default_rng(seed) once; each epoch
    visits the samples in the order rng.permutation(N). For each visited sample x with label y:
        y_hat = step(x·w + b)            (with the current w and b)
        w <- w + lr·(y - y_hat)·x
        b <- b + lr·(y - y_hat)          (nothing changes when y_hat == y)
    history[e] is the number of mistakes (y_hat != y) during epoch e. Stop after the first
    epoch without a mistake (converged = True, also when that is the last allowed epoch) or
    after `epochs` epochs (converged = False). len(history) is the number of epochs run.
    """
    # TODO: run the loop above. Draw exactly one permutation per epoch and nothing else from
    # rng, so that the order is the same as the reference's.
    w, b, converged, history = None, 0.0, False, []
    raise NotImplementedError  # then: return w, b, converged, history


def xor_two_layer() -> dict[str, np.ndarray | float]:
    """Weights of a two-layer network of threshold units that computes XOR.

    Returns: params with W1 (2, H), b1 (H,), w2 (H,) and b2 (float), any H >= 2, such that
    xor_forward(X, params) is [0, 1, 1, 0] on X = [[0, 0], [0, 1], [1, 0], [1, 1]].
    Hint: XOR(x1, x2) = AND(OR(x1, x2), NAND(x1, x2)); each gate is one threshold unit.
    """
    # TODO: choose the hidden units (columns of W1 and entries of b1) and the output unit.
    params = None
    raise NotImplementedError  # then: return params


def xor_forward(X: np.ndarray, params: dict[str, np.ndarray | float]) -> np.ndarray:
    """Forward pass of the two-layer threshold network.

    Shapes: X (N, 2), W1 (2, H), b1 (H,), w2 (H,), b2 scalar -> out (N,) of 0/1 values.
    Formulas: h = step(X @ W1 + b1)   (N, H);   out = step(h @ w2 + b2)   (N,).
    Works for any params of this form, not only yours.
    """
    # TODO: compute the hidden layer h, then the output unit.
    out = None
    raise NotImplementedError  # then: return out
