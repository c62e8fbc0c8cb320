"""Public tests for conv.py: run them with `pytest` (or `grader check a7_conv`) while you work.

They check values worked out by hand, output shapes, and your backward passes against
centered finite differences. Passing them is a good sign, not a guarantee: the hidden tests
compare with PyTorch on random shapes, strides and paddings.
"""

from __future__ import annotations

import conv
import numpy as np
import pytest
from gradcheck import numerical_gradient

# --------------------------------------------------------------------------- output size


@pytest.mark.parametrize(("n", "k", "p", "s", "expected"), [
    (7, 3, 1, 2, 4),     # floor(6 / 2) + 1
    (32, 5, 2, 1, 32),   # "same" padding: p = (k - 1) / 2 keeps the size at stride 1
    (8, 3, 0, 2, 3),     # floor(5 / 2) + 1: the last column is in no window
    (5, 5, 0, 1, 1),     # the kernel covers the whole input
])
def test_conv_output_size_known_values(n, k, p, s, expected):
    size = conv.conv_output_size(n, k, p, s)
    assert size == expected and isinstance(size, int)


# --------------------------------------------------------------------------- naive convolution


def test_conv_forward_is_cross_correlation():
    """x[i, j] = 4i + j; the kernel [[1, 2], [0, 0]] reads x[i, j] + 2 x[i, j + 1] (not flipped)."""
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    w = np.array([[[[1.0, 2.0], [0.0, 0.0]]]])
    out, _ = conv.conv_forward_naive(x, w, np.array([0.5]), {"stride": 1, "pad": 0})
    i, j = np.meshgrid(np.arange(3), np.arange(3), indexing="ij")
    expected = (4 * i + j) + 2 * (4 * i + j + 1) + 0.5
    np.testing.assert_allclose(out, expected[None, None])


def test_conv_forward_zero_padding():
    """A 3 x 3 filter of ones on a 3 x 3 image of ones with pad 1 counts the pixels inside."""
    out, _ = conv.conv_forward_naive(np.ones((1, 1, 3, 3)), np.ones((1, 1, 3, 3)), np.zeros(1),
                                     {"stride": 1, "pad": 1})
    expected = np.array([[4.0, 6.0, 4.0], [6.0, 9.0, 6.0], [4.0, 6.0, 4.0]])
    np.testing.assert_allclose(out[0, 0], expected)


def test_conv_forward_sums_channels_per_filter():
    """Filter f sums over all C input channels; each filter gets its own bias."""
    x = np.stack([np.full((3, 3), 1.0), np.full((3, 3), 10.0)])[None]  # (1, 2, 3, 3)
    w = np.zeros((2, 2, 1, 1))
    w[0, :, 0, 0] = [1.0, 1.0]   # filter 0: channel 0 + channel 1
    w[1, :, 0, 0] = [0.0, -1.0]  # filter 1: minus channel 1
    out, _ = conv.conv_forward_naive(x, w, np.array([0.0, 5.0]), {"stride": 1, "pad": 0})
    np.testing.assert_allclose(out[0, 0], 11.0)
    np.testing.assert_allclose(out[0, 1], -5.0)


def test_conv_forward_output_shape_with_stride_and_floor():
    x, w = np.zeros((2, 3, 8, 7)), np.zeros((4, 3, 3, 2))
    out, _ = conv.conv_forward_naive(x, w, np.zeros(4), {"stride": 2, "pad": 1})
    assert out.shape == (2, 4, conv.conv_output_size(8, 3, 1, 2), conv.conv_output_size(7, 2, 1, 2))
    assert out.shape == (2, 4, 4, 4)


@pytest.mark.parametrize(("stride", "pad"), [(1, 0), (2, 1), (3, 2)])
def test_conv_backward_naive_numerical_gradient(stride, pad):
    rng = np.random.default_rng(stride)
    x, w, b = rng.standard_normal((2, 2, 6, 5)), rng.standard_normal((3, 2, 3, 2)), \
        rng.standard_normal(3)
    param = {"stride": stride, "pad": pad}
    out, cache = conv.conv_forward_naive(x, w, b, param)
    dout = rng.standard_normal(out.shape)
    dx, dw, db = conv.conv_backward_naive(dout, cache)
    np.testing.assert_allclose(
        dx, numerical_gradient(lambda v: conv.conv_forward_naive(v, w, b, param)[0], x, dout),
        rtol=1e-5, atol=1e-8)
    np.testing.assert_allclose(
        dw, numerical_gradient(lambda v: conv.conv_forward_naive(x, v, b, param)[0], w, dout),
        rtol=1e-5, atol=1e-8)
    np.testing.assert_allclose(
        db, numerical_gradient(lambda v: conv.conv_forward_naive(x, w, v, param)[0], b, dout),
        rtol=1e-5, atol=1e-8)


# --------------------------------------------------------------------------- fast convolution


@pytest.mark.parametrize(("shape", "w_shape", "stride", "pad"), [
    ((2, 3, 8, 8), (4, 3, 3, 3), 1, 1),
    ((3, 2, 9, 7), (2, 2, 4, 2), 3, 1),
    ((1, 1, 5, 6), (1, 1, 2, 3), 2, 0),
])
def test_conv_fast_equals_naive(shape, w_shape, stride, pad):
    rng = np.random.default_rng(sum(shape))
    x, w, b = rng.standard_normal(shape), rng.standard_normal(w_shape), \
        rng.standard_normal(w_shape[0])
    param = {"stride": stride, "pad": pad}
    out_naive, cache_naive = conv.conv_forward_naive(x, w, b, param)
    out_fast, cache_fast = conv.conv_forward_fast(x, w, b, param)
    np.testing.assert_allclose(out_fast, out_naive, rtol=1e-10, atol=1e-12)
    dout = rng.standard_normal(out_naive.shape)
    for fast, naive in zip(conv.conv_backward_fast(dout, cache_fast),
                           conv.conv_backward_naive(dout, cache_naive), strict=True):
        np.testing.assert_allclose(fast, naive, rtol=1e-10, atol=1e-12)


# --------------------------------------------------------------------------- pooling

POOL_2x2 = {"pool_height": 2, "pool_width": 2, "stride": 2}


def test_max_pool_forward_known_values():
    x = np.array([[1.0, 3.0, 2.0, 0.0],
                  [4.0, 2.0, 1.0, 5.0],
                  [0.0, 1.0, 7.0, 2.0],
                  [6.0, 2.0, 3.0, 1.0]])[None, None]
    out, _ = conv.max_pool_forward(x, POOL_2x2)
    np.testing.assert_array_equal(out[0, 0], [[4.0, 5.0], [6.0, 7.0]])


def test_max_pool_backward_ties_go_to_the_first_maximum():
    """A window of equal values passes its gradient to its top-left element only."""
    x = np.array([[2.0, 2.0], [2.0, 2.0]])[None, None]
    _, cache = conv.max_pool_forward(x, POOL_2x2)
    dx = conv.max_pool_backward(np.array([[[[3.0]]]]), cache)
    np.testing.assert_array_equal(dx[0, 0], [[3.0, 0.0], [0.0, 0.0]])


def test_max_pool_backward_overlapping_windows_add_up():
    """With a 2 x 2 pool at stride 1, the 9 in the middle is the maximum of all four windows."""
    x = np.array([[1.0, 2.0, 3.0], [4.0, 9.0, 5.0], [6.0, 7.0, 8.0]])[None, None]
    _, cache = conv.max_pool_forward(x, {"pool_height": 2, "pool_width": 2, "stride": 1})
    dx = conv.max_pool_backward(np.array([[[[1.0, 2.0], [3.0, 4.0]]]]), cache)
    expected = np.zeros((3, 3))
    expected[1, 1] = 10.0
    np.testing.assert_array_equal(dx[0, 0], expected)


@pytest.mark.parametrize("kind", ["max", "avg"])
@pytest.mark.parametrize("pool_param", [
    {"pool_height": 2, "pool_width": 3, "stride": 2},
    {"pool_height": 3, "pool_width": 2, "stride": 1},
])
def test_pool_backward_numerical_gradient(kind, pool_param):
    rng = np.random.default_rng(7)
    x = rng.standard_normal((2, 3, 7, 6))  # distinct values: max pooling is differentiable
    forward = getattr(conv, f"{kind}_pool_forward")
    out, cache = forward(x, pool_param)
    dout = rng.standard_normal(out.shape)
    dx = getattr(conv, f"{kind}_pool_backward")(dout, cache)
    expected = numerical_gradient(lambda v: forward(v, pool_param)[0], x, dout)
    np.testing.assert_allclose(dx, expected, rtol=1e-5, atol=1e-8)


def test_avg_pool_forward_known_values():
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    out, _ = conv.avg_pool_forward(x, {"pool_height": 2, "pool_width": 4, "stride": 2})
    np.testing.assert_allclose(out[0, 0], [[3.5], [11.5]])  # means of 0..7 and of 8..15
