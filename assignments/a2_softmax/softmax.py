"""Assignment 2: softmax, entropy and cross-entropy.

Every function here must stay finite for extreme inputs (logits of size 1e4, probabilities
that are exactly 0): the trick each time is to rewrite the formula so that `exp` only sees
non-positive numbers and `log` never sees 0.

Only numpy is used. Arrays are float64, batch dimension first; losses are averaged over the
batch and return `(loss, gradient)` with `loss` a Python float.
"""

from __future__ import annotations

import numpy as np


def softmax(x: np.ndarray) -> np.ndarray:
    """Row-wise softmax over the last axis.

    Shapes: x (N, C) -> p (N, C), every row of p sums to 1.
    Formula: p[n, c] = exp(x[n, c]) / sum_k exp(x[n, k]).
    Stability: softmax(x) = softmax(x - m) for any per-row constant m; with m = max_k x[n, k]
    every exponent is <= 0, so nothing overflows and the largest term is exactly 1.
    """
    # TODO: subtract the row maximum, exponentiate, normalize. Do not modify x in place.
    raise NotImplementedError  # then: return p


def log_softmax(x: np.ndarray) -> np.ndarray:
    """Row-wise log-softmax over the last axis.

    Shapes: x (N, C) -> (N, C).
    Formula: log_softmax(x)[n, c] = x[n, c] - logsumexp(x[n]), with the stable
        logsumexp(x[n]) = m + log sum_k exp(x[n, k] - m),   m = max_k x[n, k].
    log(softmax(x)) is NOT stable: softmax underflows to 0 for very negative logits and
    log(0) = -inf, while x - logsumexp(x) is just a large negative number.
    """
    # TODO
    raise NotImplementedError  # then: return out


def cross_entropy_loss(scores: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """Softmax cross-entropy, averaged over the batch.

    Shapes: scores (N, C) raw logits, y (N,) integer labels in [0, C) -> (loss, dscores (N, C)).
    Formula: L = -(1/N) * sum_n log softmax(scores)[n, y_n].
    Gradient: dL/dscores[n, c] = (softmax(scores)[n, c] - [c == y_n]) / N.
    """
    # TODO: use log_softmax for the loss (stable) and softmax for the gradient.
    raise NotImplementedError  # then: return loss, dscores


def bce_with_logits_loss(z: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """Binary cross-entropy on logits, averaged over the batch.

    Shapes: z (N,) logits, y (N,) targets in [0, 1] (soft labels allowed) -> (loss, dz (N,)).
    Formula: with p = sigmoid(z),
        L = -(1/N) * sum_n [ y_n log p_n + (1 - y_n) log(1 - p_n) ]
          =  (1/N) * sum_n [ max(z_n, 0) - y_n z_n + log(1 + exp(-|z_n|)) ],
    the second form never exponentiates a positive number or takes log(0).
    Gradient: dL/dz_n = (sigmoid(z_n) - y_n) / N.
    """
    # TODO
    raise NotImplementedError  # then: return loss, dz


def mse_loss(pred: np.ndarray, target: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean squared error over ALL elements.

    Shapes: pred, target (any, same shape) -> (loss, dpred (same shape)).
    Formula: L = (1/S) * sum_i (pred_i - target_i)^2 with S = pred.size;
    dL/dpred_i = 2 (pred_i - target_i) / S.
    """
    # TODO
    raise NotImplementedError  # then: return loss, dpred


def entropy(p: np.ndarray) -> float:
    """Shannon entropy in nats of a probability vector.

    Shapes: p (C,), p >= 0, sum p = 1 -> float.
    Formula: H(p) = -sum_c p_c log p_c, with 0 log 0 = 0 (the limit of t log t as t -> 0).
    """
    # TODO: skip the zero entries instead of computing log(0).
    raise NotImplementedError  # then: return h


def kl_divergence(p: np.ndarray, q: np.ndarray) -> float:
    """Kullback-Leibler divergence KL(p || q) in nats.

    Shapes: p, q (C,) probability vectors -> float.
    Formula: KL(p || q) = sum_c p_c log(p_c / q_c) = H(p, q) - H(p) >= 0, with 0 log(0/q) = 0.
    Not symmetric: KL(p || q) != KL(q || p) in general.
    """
    # TODO
    raise NotImplementedError  # then: return kl
