"""Assignment 4: regularization.

Dropout, weight penalties (L2, L1, elastic net), batch normalization, early stopping and a
fully connected network that puts them together. Only numpy is available.

Conventions (as in every numpy assignment of this course):
- arrays are float64, batch dimension first;
- a layer is a pair ``X_forward(...) -> (out, cache)`` / ``X_backward(dout, cache) -> grads``;
- weight matrices are laid out (D_in, D_out);
- functions never modify their inputs in place (except ``bn_param``, which batch norm updates).
"""

from __future__ import annotations

from typing import Any

import numpy as np

# ---------------------------------------------------------------------------------------------
# Given helpers (you wrote these in earlier assignments; they are provided so that the network
# at the end only needs the new layers).
# ---------------------------------------------------------------------------------------------


def affine_forward(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, tuple]:
    """Affine layer forward pass (given).

    Shapes: x (N, d1, ..., dk) is flattened to (N, D); w (D, M); b (M,) -> out (N, M).
    Formula: out = x2d @ w + b.
    """
    out = x.reshape(x.shape[0], -1) @ w + b
    return out, (x, w)


def affine_backward(dout: np.ndarray, cache: tuple) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Affine layer backward pass (given).

    Shapes: dout (N, M) -> dx (same shape as x), dw (D, M), db (M,).
    Formulas: dx = dout @ w^T, dw = x2d^T @ dout, db = sum_n dout[n].
    """
    x, w = cache
    x2d = x.reshape(x.shape[0], -1)
    dx = (dout @ w.T).reshape(x.shape)
    dw = x2d.T @ dout
    db = dout.sum(axis=0)
    return dx, dw, db


def relu_forward(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """ReLU forward pass (given). out = max(0, x) elementwise; cache is x."""
    return np.maximum(x, 0.0), x


def relu_backward(dout: np.ndarray, cache: np.ndarray) -> np.ndarray:
    """ReLU backward pass (given). dx = dout * [x > 0] (gradient 0 at x == 0)."""
    return dout * (cache > 0)


def softmax_loss(scores: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """Softmax cross-entropy averaged over the batch (given).

    Shapes: scores (N, C), y (N,) integer labels in [0, C) -> loss (float), dscores (N, C).
    Formulas: p = softmax(scores) row-wise, loss = -1/N sum_n log p[n, y_n],
    dscores = (p - onehot(y)) / N.
    """
    shifted = scores - scores.max(axis=1, keepdims=True)  # shift: exp cannot overflow
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    n = scores.shape[0]
    loss = -log_p[np.arange(n), y].mean()
    dscores = np.exp(log_p)
    dscores[np.arange(n), y] -= 1.0
    return float(loss), dscores / n


# ---------------------------------------------------------------------------------------------
# Dropout
# ---------------------------------------------------------------------------------------------


def dropout_forward(x: np.ndarray, dropout_param: dict[str, Any]) -> tuple[np.ndarray, Any]:
    """Inverted dropout forward pass.

    Shapes: x (any) -> out (same shape as x).
    dropout_param:
        p: probability of ZEROING a unit (as torch.nn.Dropout), 0 <= p < 1.
        mode: 'train' or 'test'.
        seed (optional): seed for the mask; without it the mask comes from fresh randomness.
    Train: mask[i] ~ Bernoulli(1 - p) independently, out = x * mask / (1 - p), so that
        E[out] = x and nothing has to change at test time.
    Test: out = x (the whole ensemble of thinned networks, averaged by the 1/(1-p) scaling).
    """
    # TODO: draw the keep-mask from np.random.default_rng(seed) in train mode, scale the kept
    # units by 1/(1-p), and keep in cache what the backward pass needs. Do not modify x.
    raise NotImplementedError  # then: return out, cache


def dropout_backward(dout: np.ndarray, cache: Any) -> np.ndarray:
    """Inverted dropout backward pass.

    Shapes: dout (same as x) -> dx (same as x).
    Train: dx = dout * mask / (1 - p) with the mask drawn in the forward pass.
    Test: dx = dout.
    """
    # TODO: use the same mask (and scaling) as the forward pass.
    raise NotImplementedError  # then: return dx


# ---------------------------------------------------------------------------------------------
# Weight penalties
# ---------------------------------------------------------------------------------------------


def l2_penalty(weights: list[np.ndarray], reg: float) -> tuple[float, list[np.ndarray]]:
    """L2 penalty (weight decay) over a list of weight arrays.

    Formula: loss = reg * sum_W sum_ij W_ij^2 (no factor 1/2), grad_W = 2 * reg * W.
    Returns (loss as a float, list of gradients aligned with weights).
    """
    # TODO: sum the squared entries of every array and return one gradient per array.
    raise NotImplementedError  # then: return float(loss), grads


def l1_penalty(weights: list[np.ndarray], reg: float) -> tuple[float, list[np.ndarray]]:
    """L1 penalty (lasso) over a list of weight arrays.

    Formula: loss = reg * sum_W sum_ij |W_ij|, grad_W = reg * sign(W)
    (the subgradient 0 is used at W_ij == 0, as torch does).
    """
    # TODO: the gradient of |w| is sign(w); at w == 0 use 0.
    raise NotImplementedError  # then: return float(loss), grads


def elastic_net_penalty(
    weights: list[np.ndarray], reg: float, l1_ratio: float
) -> tuple[float, list[np.ndarray]]:
    """Elastic-net penalty: a convex mix of L1 and L2.

    Formula: loss = reg * (l1_ratio * sum|W| + (1 - l1_ratio) * sum W^2),
    grad_W = reg * (l1_ratio * sign(W) + 2 * (1 - l1_ratio) * W).
    """
    # TODO: combine the two penalties above with weights l1_ratio and 1 - l1_ratio.
    raise NotImplementedError  # then: return float(loss), grads


# ---------------------------------------------------------------------------------------------
# Batch normalization
# ---------------------------------------------------------------------------------------------


def batchnorm_forward(
    x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, bn_param: dict[str, Any]
) -> tuple[np.ndarray, Any]:
    """Batch normalization forward pass.

    Shapes: x (N, D), gamma (D,), beta (D,) -> out (N, D).
    bn_param keys: mode ('train' | 'test'), eps (default 1e-5), momentum (default 0.9),
    running_mean / running_var ((D,); created as zeros / ones when absent).

    Train:
        mu = 1/N sum_n x_n,  var = 1/N sum_n (x_n - mu)^2          (biased, for normalizing)
        x_hat = (x - mu) / sqrt(var + eps),  out = gamma * x_hat + beta
        running_mean <- momentum * running_mean + (1 - momentum) * mu
        running_var  <- momentum * running_var  + (1 - momentum) * var * N / (N - 1)  (unbiased)
    Test:
        out = gamma * (x - running_mean) / sqrt(running_var + eps) + beta
    The updated running statistics are stored back into bn_param.
    """
    # TODO: implement both modes; store running_mean / running_var back into bn_param.
    raise NotImplementedError  # then: return out, cache


def batchnorm_backward(
    dout: np.ndarray, cache: Any
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Batch normalization backward pass.

    Shapes: dout (N, D) -> dx (N, D), dgamma (D,), dbeta (D,).
    Formulas (train mode; mean_n is the mean over the batch):
        dbeta = sum_n dout,  dgamma = sum_n dout * x_hat,  dx_hat = dout * gamma
        dx = (dx_hat - mean_n(dx_hat) - x_hat * mean_n(dx_hat * x_hat)) / sqrt(var + eps)
    The two subtracted terms come from mu and var depending on every x_n.
    In test mode the statistics are constants: dx = dout * gamma / sqrt(running_var + eps).
    """
    # TODO: derive dx on paper from the computational graph first; then simplify.
    raise NotImplementedError  # then: return dx, dgamma, dbeta


# ---------------------------------------------------------------------------------------------
# Early stopping
# ---------------------------------------------------------------------------------------------


class EarlyStopping:
    """Stop training when the validation loss has stopped improving.

    A call ``step(val_loss)`` improves when val_loss < best - min_delta (the first call always
    improves). Only improving calls update ``best`` (that loss) and ``best_step`` (the 0-based
    index of that call). ``step`` returns True once ``patience`` consecutive calls have not
    improved.
    """

    def __init__(self, patience: int, min_delta: float = 0.0) -> None:
        # TODO: store the settings and initialize best, best_step and a counter.
        raise NotImplementedError

    def step(self, val_loss: float) -> bool:
        """Record one validation loss; return True when training should stop."""
        # TODO: decide whether this call improves, update the state, compare with patience.
        raise NotImplementedError


# ---------------------------------------------------------------------------------------------
# Fully connected network
# ---------------------------------------------------------------------------------------------


class FullyConnectedNet:
    """A fully connected network with optional batch norm and dropout.

    Architecture (L = len(hidden_dims) + 1 affine layers):
        {affine - [batchnorm] - relu - [dropout]} x (L - 1) - affine - softmax cross-entropy

    params: W1 (input_dim, H1), b1 (H1,), ..., WL (H_{L-1}, num_classes), bL (num_classes,),
    and gamma{i}, beta{i} (H_i,) for i = 1..L-1 when normalization == 'batchnorm'.
    Weights are drawn from N(0, weight_scale^2) with np.random.default_rng(seed); biases and
    beta start at 0, gamma at 1.
    """

    def __init__(
        self,
        hidden_dims: list[int],
        input_dim: int,
        num_classes: int,
        dropout: float = 0.0,
        normalization: str | None = None,
        reg: float = 0.0,
        weight_scale: float = 1e-2,
        seed: int | None = None,
    ) -> None:
        # TODO: create self.params as described above, one bn_param dict per normalized
        # layer, and what dropout needs (its p and a source of seeds).
        raise NotImplementedError

    def loss(
        self, X: np.ndarray, y: np.ndarray | None = None
    ) -> np.ndarray | tuple[float, dict[str, np.ndarray]]:
        """Scores, or loss and gradients.

        Shapes: X (N, input_dim), y (N,) integer labels.
        Without y: test mode (dropout off, batch norm with running statistics); returns
        scores (N, num_classes).
        With y: train mode (dropout on, batch statistics); returns (loss, grads) with
            loss = softmax cross-entropy averaged over N + 0.5 * reg * sum_i sum(W_i^2)
        (weight matrices only, not biases, gamma or beta), and grads[k] = dloss/dparams[k].
        """
        # TODO: forward through the blocks keeping every cache, return the scores in test
        # mode, else backpropagate in reverse order and add the regularization gradient.
        raise NotImplementedError  # then: return float(loss), grads
