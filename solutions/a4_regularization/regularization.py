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
    # BEGIN SOLUTION
    p = float(dropout_param["p"])
    mode = dropout_param.get("mode", "train")
    if mode == "train":
        rng = np.random.default_rng(dropout_param.get("seed"))
        keep = rng.random(x.shape) >= p
        # fold the 1/(1-p) scaling into the mask: the backward pass reuses it as is
        mask = keep / (1.0 - p)
        out = x * mask
    elif mode == "test":
        mask = None
        out = x.copy()
    else:
        raise ValueError(f"dropout mode must be 'train' or 'test', got {mode!r}")
    cache = (mode, mask)
    # END SOLUTION
    return out, cache


def dropout_backward(dout: np.ndarray, cache: Any) -> np.ndarray:
    """Inverted dropout backward pass.

    Shapes: dout (same as x) -> dx (same as x).
    Train: dx = dout * mask / (1 - p) with the mask drawn in the forward pass.
    Test: dx = dout.
    """
    # TODO: use the same mask (and scaling) as the forward pass.
    # BEGIN SOLUTION
    mode, mask = cache
    dx = dout * mask if mode == "train" else dout.copy()
    # END SOLUTION
    return dx


# ---------------------------------------------------------------------------------------------
# Weight penalties
# ---------------------------------------------------------------------------------------------


def l2_penalty(weights: list[np.ndarray], reg: float) -> tuple[float, list[np.ndarray]]:
    """L2 penalty (weight decay) over a list of weight arrays.

    Formula: loss = reg * sum_W sum_ij W_ij^2 (no factor 1/2), grad_W = 2 * reg * W.
    Returns (loss as a float, list of gradients aligned with weights).
    """
    # TODO: sum the squared entries of every array and return one gradient per array.
    # BEGIN SOLUTION
    loss = reg * sum(float(np.sum(w * w)) for w in weights)
    grads = [2.0 * reg * w for w in weights]
    # END SOLUTION
    return float(loss), grads


def l1_penalty(weights: list[np.ndarray], reg: float) -> tuple[float, list[np.ndarray]]:
    """L1 penalty (lasso) over a list of weight arrays.

    Formula: loss = reg * sum_W sum_ij |W_ij|, grad_W = reg * sign(W)
    (the subgradient 0 is used at W_ij == 0, as torch does).
    """
    # TODO: the gradient of |w| is sign(w); at w == 0 use 0.
    # BEGIN SOLUTION
    loss = reg * sum(float(np.sum(np.abs(w))) for w in weights)
    grads = [reg * np.sign(w) for w in weights]
    # END SOLUTION
    return float(loss), grads


def elastic_net_penalty(
    weights: list[np.ndarray], reg: float, l1_ratio: float
) -> tuple[float, list[np.ndarray]]:
    """Elastic-net penalty: a convex mix of L1 and L2.

    Formula: loss = reg * (l1_ratio * sum|W| + (1 - l1_ratio) * sum W^2),
    grad_W = reg * (l1_ratio * sign(W) + 2 * (1 - l1_ratio) * W).
    """
    # TODO: combine the two penalties above with weights l1_ratio and 1 - l1_ratio.
    # BEGIN SOLUTION
    loss = reg * sum(
        l1_ratio * float(np.sum(np.abs(w))) + (1.0 - l1_ratio) * float(np.sum(w * w))
        for w in weights
    )
    grads = [reg * (l1_ratio * np.sign(w) + 2.0 * (1.0 - l1_ratio) * w) for w in weights]
    # END SOLUTION
    return float(loss), grads


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
    # BEGIN SOLUTION
    mode = bn_param["mode"]
    eps = bn_param.get("eps", 1e-5)
    momentum = bn_param.get("momentum", 0.9)
    n, d = x.shape
    running_mean = bn_param.get("running_mean", np.zeros(d, dtype=x.dtype))
    running_var = bn_param.get("running_var", np.ones(d, dtype=x.dtype))

    if mode == "train":
        mu = x.mean(axis=0)
        xc = x - mu
        var = (xc * xc).mean(axis=0)
        std = np.sqrt(var + eps)
        x_hat = xc / std
        out = gamma * x_hat + beta
        # the population estimate uses Bessel's correction (torch does the same)
        unbiased_var = var * n / (n - 1) if n > 1 else var
        running_mean = momentum * running_mean + (1.0 - momentum) * mu
        running_var = momentum * running_var + (1.0 - momentum) * unbiased_var
    elif mode == "test":
        std = np.sqrt(running_var + eps)
        x_hat = (x - running_mean) / std
        out = gamma * x_hat + beta
    else:
        raise ValueError(f"batchnorm mode must be 'train' or 'test', got {mode!r}")

    bn_param["running_mean"] = running_mean
    bn_param["running_var"] = running_var
    cache = (mode, x_hat, gamma, std)
    # END SOLUTION
    return out, cache


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
    # BEGIN SOLUTION
    mode, x_hat, gamma, std = cache
    dbeta = dout.sum(axis=0)
    dgamma = (dout * x_hat).sum(axis=0)
    dx_hat = dout * gamma
    if mode == "train":
        dx = (
            dx_hat - dx_hat.mean(axis=0) - x_hat * (dx_hat * x_hat).mean(axis=0)
        ) / std
    else:
        dx = dx_hat / std
    # END SOLUTION
    return dx, dgamma, dbeta


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
        # BEGIN SOLUTION
        self.patience = patience
        self.min_delta = min_delta
        self.best = float("inf")
        self.best_step = -1
        self.num_steps = 0
        self.num_bad = 0
        # END SOLUTION

    def step(self, val_loss: float) -> bool:
        """Record one validation loss; return True when training should stop."""
        # TODO: decide whether this call improves, update the state, compare with patience.
        # BEGIN SOLUTION
        improved = self.num_steps == 0 or val_loss < self.best - self.min_delta
        if improved:
            self.best = val_loss
            self.best_step = self.num_steps
            self.num_bad = 0
        else:
            self.num_bad += 1
        self.num_steps += 1
        return self.num_bad >= self.patience
        # END SOLUTION


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
        # BEGIN SOLUTION
        if normalization not in (None, "batchnorm"):
            raise ValueError(f"normalization must be None or 'batchnorm', got {normalization!r}")
        self.normalization = normalization
        self.dropout = float(dropout)
        self.reg = reg
        self.num_layers = len(hidden_dims) + 1
        self._rng = np.random.default_rng(seed)

        dims = [input_dim, *hidden_dims, num_classes]
        self.params: dict[str, np.ndarray] = {}
        for i in range(1, self.num_layers + 1):
            d_in, d_out = dims[i - 1], dims[i]
            self.params[f"W{i}"] = weight_scale * self._rng.standard_normal((d_in, d_out))
            self.params[f"b{i}"] = np.zeros(d_out)
            if normalization == "batchnorm" and i < self.num_layers:
                self.params[f"gamma{i}"] = np.ones(d_out)
                self.params[f"beta{i}"] = np.zeros(d_out)
        # running statistics live here, created by batchnorm_forward on first use
        self.bn_params: list[dict[str, Any]] = [{} for _ in range(self.num_layers - 1)]
        # END SOLUTION

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
        # BEGIN SOLUTION
        mode = "test" if y is None else "train"
        use_bn = self.normalization == "batchnorm"
        use_dropout = self.dropout > 0.0
        caches: list[dict[str, Any]] = []

        h = X
        for i in range(1, self.num_layers):
            c: dict[str, Any] = {}
            h, c["affine"] = affine_forward(h, self.params[f"W{i}"], self.params[f"b{i}"])
            if use_bn:
                bn_param = self.bn_params[i - 1]
                bn_param["mode"] = mode
                h, c["bn"] = batchnorm_forward(
                    h, self.params[f"gamma{i}"], self.params[f"beta{i}"], bn_param
                )
            h, c["relu"] = relu_forward(h)
            if use_dropout:
                # a fresh seed per call and layer: new masks each step, replayable from `seed`
                drop_param = {"p": self.dropout, "mode": mode,
                              "seed": int(self._rng.integers(2**63))}
                h, c["dropout"] = dropout_forward(h, drop_param)
            caches.append(c)
        L = self.num_layers
        scores, last_cache = affine_forward(h, self.params[f"W{L}"], self.params[f"b{L}"])
        if y is None:
            return scores

        data_loss, dscores = softmax_loss(scores, y)
        weights = [self.params[f"W{i}"] for i in range(1, L + 1)]
        loss = data_loss + 0.5 * self.reg * sum(float(np.sum(w * w)) for w in weights)

        grads: dict[str, np.ndarray] = {}
        dh, grads[f"W{L}"], grads[f"b{L}"] = affine_backward(dscores, last_cache)
        for i in range(L - 1, 0, -1):
            c = caches[i - 1]
            if use_dropout:
                dh = dropout_backward(dh, c["dropout"])
            dh = relu_backward(dh, c["relu"])
            if use_bn:
                dh, grads[f"gamma{i}"], grads[f"beta{i}"] = batchnorm_backward(dh, c["bn"])
            dh, grads[f"W{i}"], grads[f"b{i}"] = affine_backward(dh, c["affine"])
        for i in range(1, L + 1):
            grads[f"W{i}"] = grads[f"W{i}"] + self.reg * self.params[f"W{i}"]
        # END SOLUTION
        return float(loss), grads
