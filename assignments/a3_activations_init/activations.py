"""Activation functions, maxout and weight initialization, in numpy.

Every layer is a pair ``*_forward(x, ...) -> (out, cache)`` and ``*_backward(dout, cache) -> dx``:
the forward pass returns its output and whatever the backward pass needs (the ``cache``), the
backward pass maps the upstream gradient ``dout = dL/dout`` (same shape as ``out``) to
``dx = dL/dx`` (same shape as ``x``) by the chain rule, dx = dout * f'(x) elementwise.

Rules that hold everywhere in this module:
- inputs are never modified in place (always build new arrays);
- at a kink the gradient follows PyTorch: relu 0 at x == 0, leaky_relu ``negative_slope`` at
  x == 0, elu ``alpha`` at x == 0;
- randomness comes only from the ``rng`` argument (a ``numpy.random.Generator``), never from
  ``np.random.*`` global functions;
- weight matrices are laid out (fan_in, fan_out), so a layer computes ``x @ W``.
"""

from __future__ import annotations

import numpy as np

# ---------------------------------------------------------------------------------------------
# Elementwise activations
# ---------------------------------------------------------------------------------------------


def sigmoid_forward(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Logistic sigmoid, forward pass.

    Shapes: x (any) -> out (same shape as x).
    Formula: out = σ(x) = 1 / (1 + exp(-x)).

    Must be numerically stable for |x| up to 1e3: no overflow warning, no NaN. exp(-x) overflows
    for x < -709, so never exponentiate a large positive number. Use, with z = exp(-|x|) ∈ (0, 1]:
        σ(x) = 1 / (1 + z)   for x >= 0,
        σ(x) = z / (1 + z)   for x <  0.
    """
    # TODO: compute out with the stable formula above (exp of a non-positive number only) and
    # keep in cache what sigmoid_backward needs (the output is enough).
    raise NotImplementedError  # then: return out, cache


def sigmoid_backward(dout: np.ndarray, cache: np.ndarray) -> np.ndarray:
    """Logistic sigmoid, backward pass.

    Shapes: dout (same as x), cache from sigmoid_forward -> dx (same as x).
    Formula: σ'(x) = σ(x) (1 - σ(x)), so dx = dout * out * (1 - out).
    The derivative is at most 1/4 (at x = 0) and vanishes for |x| large: saturation.
    """
    # TODO: compute dx from dout and the forward output kept in cache.
    raise NotImplementedError  # then: return dx


def tanh_forward(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Hyperbolic tangent, forward pass.

    Shapes: x (any) -> out (same shape as x).
    Formula: out = tanh(x) = (e^x - e^-x) / (e^x + e^-x) = 2σ(2x) - 1, zero-centred, in (-1, 1).
    Stable for |x| up to 1e3 (np.tanh is; the textbook quotient above is not).
    """
    # TODO: compute out and keep what tanh_backward needs in cache (the output is enough).
    raise NotImplementedError  # then: return out, cache


def tanh_backward(dout: np.ndarray, cache: np.ndarray) -> np.ndarray:
    """Hyperbolic tangent, backward pass.

    Shapes: dout (same as x), cache from tanh_forward -> dx (same as x).
    Formula: tanh'(x) = 1 - tanh(x)^2, so dx = dout * (1 - out^2).
    """
    # TODO: compute dx from dout and the forward output kept in cache.
    raise NotImplementedError  # then: return dx


def relu_forward(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rectified linear unit, forward pass.

    Shapes: x (any) -> out (same shape as x).
    Formula: out = max(0, x), elementwise.
    """
    # TODO: compute out and keep in cache what relu_backward needs (the input x).
    raise NotImplementedError  # then: return out, cache


def relu_backward(dout: np.ndarray, cache: np.ndarray) -> np.ndarray:
    """Rectified linear unit, backward pass.

    Shapes: dout (same as x), cache from relu_forward -> dx (same as x).
    Formula: relu'(x) = 1 if x > 0 else 0; at the kink x == 0 the gradient is 0 (PyTorch's
    convention), so dx = dout * [x > 0].
    """
    # TODO: compute dx; units with x <= 0 pass no gradient.
    raise NotImplementedError  # then: return dx


def leaky_relu_forward(
    x: np.ndarray, negative_slope: float = 0.01
) -> tuple[np.ndarray, tuple[np.ndarray, float]]:
    """Leaky ReLU, forward pass.

    Shapes: x (any) -> out (same shape as x).
    Formula: out = x if x > 0 else negative_slope * x.
    """
    # TODO: compute out and keep x and negative_slope in cache.
    raise NotImplementedError  # then: return out, cache


def leaky_relu_backward(dout: np.ndarray, cache: tuple[np.ndarray, float]) -> np.ndarray:
    """Leaky ReLU, backward pass.

    Shapes: dout (same as x), cache from leaky_relu_forward -> dx (same as x).
    Formula: derivative 1 for x > 0 and negative_slope for x <= 0 (PyTorch's convention: the
    kink x == 0 gets negative_slope), so dx = dout * where(x > 0, 1, negative_slope).
    """
    # TODO: compute dx; remember which side the kink x == 0 belongs to.
    raise NotImplementedError  # then: return dx


def elu_forward(x: np.ndarray, alpha: float = 1.0) -> tuple[np.ndarray, tuple]:
    """Exponential linear unit, forward pass.

    Shapes: x (any) -> out (same shape as x).
    Formula: out = x for x > 0, alpha * (exp(x) - 1) for x <= 0. Saturates to -alpha for
    x -> -inf, which pushes mean activations towards zero.

    Stable for |x| up to 1e3: exp(1000) overflows, so only exponentiate min(x, 0)
    (np.expm1 computes exp(t) - 1 accurately for small t).
    """
    # TODO: compute out without evaluating exp of a large positive number, and keep in cache
    # what elu_backward needs (x, out and alpha).
    raise NotImplementedError  # then: return out, cache


def elu_backward(dout: np.ndarray, cache: tuple) -> np.ndarray:
    """Exponential linear unit, backward pass.

    Shapes: dout (same as x), cache from elu_forward -> dx (same as x).
    Formula: elu'(x) = 1 for x > 0 and alpha * exp(x) = out + alpha for x <= 0 (so alpha at the
    kink x == 0, as in PyTorch). dx = dout * elu'(x).
    """
    # TODO: compute dx; for x <= 0 the derivative can be written with the forward output.
    raise NotImplementedError  # then: return dx


# ---------------------------------------------------------------------------------------------
# Maxout
# ---------------------------------------------------------------------------------------------


def maxout_forward(
    x: np.ndarray, w: np.ndarray, b: np.ndarray
) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Maxout layer with K linear pieces, forward pass.

    Shapes: x (N, D), w (K, D, M), b (K, M) -> out (N, M).
    Formula: z_k = x @ w[k] + b[k]  (N, M) for k = 0..K-1,
             out[n, m] = max_k z_k[n, m].
    Keep which piece won each (n, m); on a tie the FIRST maximal piece wins (as np.argmax
    and torch.max do).
    """
    # TODO: compute all K affine pieces (shape (K, N, M)), take the max over k, and keep x, w and
    # the index of the winning piece of every output in cache.
    raise NotImplementedError  # then: return out, cache


def maxout_backward(
    dout: np.ndarray, cache: tuple[np.ndarray, np.ndarray, np.ndarray]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Maxout layer, backward pass.

    Shapes: dout (N, M), cache from maxout_forward -> dx (N, D), dw (K, D, M), db (K, M).
    Formula: only the winning piece k*(n, m) receives the gradient of out[n, m]:
             dz_k = dout * [k == k*]                      (N, M)
             dx = Σ_k dz_k @ w[k]^T,   dw[k] = x^T @ dz_k,   db[k] = Σ_n dz_k[n].
    """
    # TODO: route dout to the winning piece of each output, then backpropagate through the
    # affine maps of all pieces.
    raise NotImplementedError  # then: return dx, dw, db


# ---------------------------------------------------------------------------------------------
# Weight initialization
# ---------------------------------------------------------------------------------------------


def xavier_normal(
    fan_in: int, fan_out: int, rng: np.random.Generator, gain: float = 1.0
) -> np.ndarray:
    """Xavier/Glorot normal initialization.

    Shape: (fan_in, fan_out).
    Formula: W_ij ~ N(0, std^2), std = gain * sqrt(2 / (fan_in + fan_out)), the compromise
    between keeping the forward variance (Var W = 1/fan_in) and the backward variance
    (Var W = 1/fan_out). Draw with ``rng`` only.
    """
    # TODO: compute std and draw a (fan_in, fan_out) array from rng.
    raise NotImplementedError  # then: return w


def xavier_uniform(
    fan_in: int, fan_out: int, rng: np.random.Generator, gain: float = 1.0
) -> np.ndarray:
    """Xavier/Glorot uniform initialization.

    Shape: (fan_in, fan_out).
    Formula: W_ij ~ U(-a, a), a = gain * sqrt(6 / (fan_in + fan_out)). U(-a, a) has variance
    a^2 / 3, so this is the same variance as xavier_normal: a = sqrt(3) * std.
    """
    # TODO: compute the bound a and draw a (fan_in, fan_out) array from rng.
    raise NotImplementedError  # then: return w


def he_normal(fan_in: int, fan_out: int, rng: np.random.Generator) -> np.ndarray:
    """He/Kaiming normal initialization for ReLU layers (mode fan_in).

    Shape: (fan_in, fan_out).
    Formula: W_ij ~ N(0, 2 / fan_in). ReLU zeroes half of its inputs, halving the second moment,
    and the factor 2 makes up for it: Var(out) = fan_in * Var(W) * E[x^2] = fan_in * Var(W) *
    Var(pre-activation) / 2.
    """
    # TODO: compute std and draw a (fan_in, fan_out) array from rng.
    raise NotImplementedError  # then: return w


def he_uniform(fan_in: int, fan_out: int, rng: np.random.Generator) -> np.ndarray:
    """He/Kaiming uniform initialization for ReLU layers (mode fan_in).

    Shape: (fan_in, fan_out).
    Formula: W_ij ~ U(-a, a), a = sqrt(6 / fan_in) = sqrt(3) * sqrt(2 / fan_in).
    """
    # TODO: compute the bound a and draw a (fan_in, fan_out) array from rng.
    raise NotImplementedError  # then: return w


# ---------------------------------------------------------------------------------------------
# Activation statistics through a deep network
# ---------------------------------------------------------------------------------------------


def layer_stats(
    x: np.ndarray, weights: list[np.ndarray], activation: str
) -> list[tuple[float, float]]:
    """Mean and standard deviation of every layer's activations in a deep, bias-free network.

    Shapes: x (N, D_0), weights[l] (D_l, D_{l+1}) for l = 0..L-1 -> a list of L pairs.
    Formula: h_0 = x, h_{l+1} = f(h_l @ weights[l]) with f = tanh | relu | sigmoid named by
    ``activation``; entry l is (mean(h_{l+1}), std(h_{l+1})) over all N * D_{l+1} entries, with
    the population std (ddof = 0), as Python floats.
    """
    # TODO: loop over the layers, apply the named activation after each matrix product (you may
    # reuse your *_forward functions) and record the mean and the ddof=0 std of the result.
    raise NotImplementedError  # then: return stats
