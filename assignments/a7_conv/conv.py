"""Assignment 7: convolution and pooling from scratch.

A convolutional layer slides a small filter over the image and takes a dot product at every
position; a pooling layer summarizes each window by its maximum or its mean. You write each
layer's forward and backward pass, first with plain loops (easy to get right), then the
convolution again without a Python loop over output positions (fast enough to train with).

Conventions (as in every numpy assignment of this course):
- arrays are float64, batch dimension first, laid out as PyTorch does:
  x (N, C, H, W), w (F, C, HH, WW), b (F,), out (N, F, H', W');
- a layer is a pair ``X_forward(...) -> (out, cache)`` / ``X_backward(dout, cache) -> grads``;
- functions never modify their inputs in place.
"""

from __future__ import annotations

from typing import Any

import numpy as np

# ---------------------------------------------------------------------------------------------
# Output size
# ---------------------------------------------------------------------------------------------


def conv_output_size(n: int, k: int, p: int, s: int) -> int:
    """Number of window positions along one axis of a convolution or pooling layer.

    n: input size (H or W), k: kernel size, p: zero padding on each side, s: stride.
    Formula: n' = floor((n + 2p - k) / s) + 1. Rows or columns that do not fill a last window
    are dropped (floor), as in PyTorch. Returns a Python int.
    Example: n = 7, k = 3, p = 1, s = 2 gives floor(6 / 2) + 1 = 4.
    """
    size = None
    # TODO: apply the formula with integer arithmetic (floor division).
    raise NotImplementedError  # then: return size


# ---------------------------------------------------------------------------------------------
# Convolution with loops
# ---------------------------------------------------------------------------------------------


def conv_forward_naive(x: np.ndarray, w: np.ndarray, b: np.ndarray,
                       conv_param: dict[str, int]) -> tuple[np.ndarray, Any]:
    """Convolution forward pass, written with loops.

    Shapes: x (N, C, H, W), w (F, C, HH, WW), b (F,) -> out (N, F, H', W') with
    H' = conv_output_size(H, HH, pad, stride), W' = conv_output_size(W, WW, pad, stride).
    conv_param: 'stride' (int, both directions), 'pad' (int, zeros on all four sides).
    Formula (cross-correlation: the filter is NOT flipped), with xp the zero-padded x:
        out[n, f, i, j] = b[f] + sum_{c, k, l} xp[n, c, i*stride + k, j*stride + l] * w[f, c, k, l]
    """
    out, cache = None, None
    # TODO: zero-pad x (np.pad), then loop over the output positions (i, j) and take the dot
    # product of each window with every filter; add the bias. Keep what the backward pass needs.
    raise NotImplementedError  # then: return out, cache


def conv_backward_naive(dout: np.ndarray, cache: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Convolution backward pass, written with loops.

    Shapes: dout (N, F, H', W') -> dx (N, C, H, W), dw (F, C, HH, WW), db (F,).
    Each output out[n, f, i, j] used one window of xp and the whole filter w[f], so it sends
        dw[f]                  += dout[n, f, i, j] * window
        dxp[n, window position] += dout[n, f, i, j] * w[f]
    (windows overlap when stride < kernel size: the contributions add up). db[f] sums dout over
    n, i, j. Finally dx is dxp without its padding.
    """
    dx, dw, db = None, None, None
    # TODO: loop over the output positions, accumulate into dxp (padded) and dw, then crop dxp.
    raise NotImplementedError  # then: return dx, dw, db


# ---------------------------------------------------------------------------------------------
# Convolution without a Python loop over output positions
# ---------------------------------------------------------------------------------------------


def conv_forward_fast(x: np.ndarray, w: np.ndarray, b: np.ndarray,
                      conv_param: dict[str, int]) -> tuple[np.ndarray, Any]:
    """Convolution forward pass, vectorized (same shapes, formula and result as the naive one).

    Idea (im2col): gather every window of the padded input into one array
        cols (N, C, H', W', HH, WW),  cols[n, c, i, j, k, l] = xp[n, c, i*stride + k, j*stride + l]
    and the whole convolution becomes ONE tensor contraction with w over (C, HH, WW).
    np.lib.stride_tricks.sliding_window_view builds every stride-1 window as a view (no copy);
    slicing its window axes with [::stride] keeps the strided ones.
    No Python loop over output positions.
    """
    out, cache = None, None
    # TODO: build the windows of the padded input without a loop, contract them with w (e.g.
    # np.einsum or np.tensordot), add b and put the axes in (N, F, H', W') order.
    raise NotImplementedError  # then: return out, cache


def conv_backward_fast(dout: np.ndarray, cache: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Convolution backward pass, vectorized (same shapes and result as the naive one).

    With cols the windows of the forward pass:
        dw[f, c, k, l]          = sum_{n, i, j} dout[n, f, i, j] * cols[n, c, i, j, k, l]
        dcols[n, c, i, j, k, l] = sum_f dout[n, f, i, j] * w[f, c, k, l]
    and dxp is dcols added back at the window positions (col2im): for each kernel offset
    (k, l) the windows' entries land on the strided grid xp[:, :, k::stride, l::stride].
    Loop at most over the kernel offsets (HH * WW), never over output positions.
    """
    dx, dw, db = None, None, None
    # TODO: contract dout with cols for dw, with w for dcols; scatter-add dcols into the padded
    # dxp one kernel offset at a time; crop the padding; sum dout for db.
    raise NotImplementedError  # then: return dx, dw, db


# ---------------------------------------------------------------------------------------------
# Pooling
# ---------------------------------------------------------------------------------------------


def max_pool_forward(x: np.ndarray, pool_param: dict[str, int]) -> tuple[np.ndarray, Any]:
    """Max pooling forward pass (no padding).

    Shapes: x (N, C, H, W) -> out (N, C, H', W'),
        H' = (H - pool_height) // stride + 1,  W' = (W - pool_width) // stride + 1.
    pool_param: 'pool_height', 'pool_width', 'stride' (ints).
    Formula: out[n, c, i, j] = max over the window
        x[n, c, i*stride : i*stride + pool_height, j*stride : j*stride + pool_width].
    """
    out, cache = None, None
    # TODO: loop over the output positions and take the maximum of each window over its two
    # spatial axes (for all n and c at once).
    raise NotImplementedError  # then: return out, cache


def max_pool_backward(dout: np.ndarray, cache: Any) -> np.ndarray:
    """Max pooling backward pass.

    Shapes: dout (N, C, H', W') -> dx (N, C, H, W).
    Each window sends its upstream gradient dout[n, c, i, j] to ONE input: its maximum. When
    several entries tie for the maximum, the FIRST one in row-major order of the window gets it
    (np.argmax of the flattened window does exactly that; PyTorch agrees). Every other input of
    the window gets 0. Windows overlap when stride < pool size: their contributions add up.
    """
    dx = None
    # TODO: for every output position find the first maximal entry of the window (per n, c)
    # and add dout there.
    raise NotImplementedError  # then: return dx


def avg_pool_forward(x: np.ndarray, pool_param: dict[str, int]) -> tuple[np.ndarray, Any]:
    """Average pooling forward pass (no padding).

    Shapes and pool_param as max_pool_forward.
    Formula: out[n, c, i, j] = mean of the pool_height x pool_width window at (i, j).
    """
    out, cache = None, None
    # TODO: loop over the output positions and average each window over its spatial axes.
    raise NotImplementedError  # then: return out, cache


def avg_pool_backward(dout: np.ndarray, cache: Any) -> np.ndarray:
    """Average pooling backward pass.

    Shapes: dout (N, C, H', W') -> dx (N, C, H, W).
    Every input of the window at (i, j) gets dout[n, c, i, j] / (pool_height * pool_width);
    overlapping windows add up; inputs in no window get 0.
    """
    dx = None
    # TODO: spread each upstream gradient evenly over its window, accumulating.
    raise NotImplementedError  # then: return dx
