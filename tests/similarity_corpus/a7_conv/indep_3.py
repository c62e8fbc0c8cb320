"""Assignment 7 - convolution and pooling layers in numpy.

Fast conv uses as_strided to get a (N, C, Ho, Wo, kh, kw) view of the padded input.
"""
import numpy as np
from numpy.lib.stride_tricks import as_strided


def conv_output_size(n, k, p, s):
    """floor((n + 2p - k) / s) + 1"""
    return int(np.floor((n + 2 * p - k) / s)) + 1


class ConvCache:
    """Everything a backward pass needs."""

    def __init__(self, x, w, b, stride, pad, patches=None):
        self.x = x
        self.w = w
        self.b = b
        self.stride = stride
        self.pad = pad
        self.patches = patches


def zero_pad(x, pad):
    N, C, H, W = x.shape
    padded = np.zeros((N, C, H + 2 * pad, W + 2 * pad), dtype=x.dtype)
    padded[:, :, pad:pad + H, pad:pad + W] = x
    return padded


def conv_forward_naive(x, w, b, conv_param):
    stride = conv_param["stride"]
    pad = conv_param["pad"]
    n_img, _, height, width = x.shape
    n_filt, _, kh, kw = w.shape
    out_h = conv_output_size(height, kh, pad, stride)
    out_w = conv_output_size(width, kw, pad, stride)
    padded = zero_pad(x, pad)
    out = np.empty((n_img, n_filt, out_h, out_w))
    for f in range(n_filt):
        for row in range(out_h):
            top = row * stride
            for col in range(out_w):
                left = col * stride
                region = padded[:, :, top:top + kh, left:left + kw]
                # sum over channel and both kernel axes, per image
                out[:, f, row, col] = (region * w[f]).sum(axis=(1, 2, 3)) + b[f]
    return out, ConvCache(x, w, b, stride, pad)


def conv_backward_naive(dout, cache):
    x, w = cache.x, cache.w
    stride, pad = cache.stride, cache.pad
    _, _, height, width = x.shape
    n_filt, _, kh, kw = w.shape
    out_h, out_w = dout.shape[-2:]
    padded = zero_pad(x, pad)
    dpadded = np.zeros_like(padded)
    dw = np.zeros_like(w)
    for f in range(n_filt):
        for row in range(out_h):
            top = row * stride
            for col in range(out_w):
                left = col * stride
                g = dout[:, f, row, col][:, None, None, None]   # per image
                dw[f] += (g * padded[:, :, top:top + kh, left:left + kw]).sum(axis=0)
                dpadded[:, :, top:top + kh, left:left + kw] += g * w[f]
    db = np.sum(dout, axis=(0, 2, 3))
    dx = dpadded[:, :, pad:pad + height, pad:pad + width]
    return dx, dw, db


def _patches(padded, kh, kw, stride, out_h, out_w):
    """Read-only strided view (N, C, out_h, out_w, kh, kw) of the windows of `padded`."""
    sn, sc, sh, sw = padded.strides
    shape = padded.shape[:2] + (out_h, out_w, kh, kw)
    strides = (sn, sc, sh * stride, sw * stride, sh, sw)
    return as_strided(padded, shape=shape, strides=strides, writeable=False)


def conv_forward_fast(x, w, b, conv_param):
    stride, pad = conv_param["stride"], conv_param["pad"]
    _, _, height, width = x.shape
    _, _, kh, kw = w.shape
    out_h = conv_output_size(height, kh, pad, stride)
    out_w = conv_output_size(width, kw, pad, stride)
    padded = zero_pad(x, pad)
    patches = _patches(padded, kh, kw, stride, out_h, out_w)
    # contract over C, kh, kw: result is (N, out_h, out_w, F)
    out = np.tensordot(patches, w, axes=([1, 4, 5], [1, 2, 3]))
    out = out.transpose(0, 3, 1, 2) + b.reshape(1, -1, 1, 1)
    return np.ascontiguousarray(out), ConvCache(x, w, b, stride, pad, patches)


def conv_backward_fast(dout, cache):
    x, w, patches = cache.x, cache.w, cache.patches
    stride, pad = cache.stride, cache.pad
    n_img, chans, height, width = x.shape
    _, _, kh, kw = w.shape
    out_h, out_w = dout.shape[-2:]

    db = dout.sum(axis=(0, 2, 3))
    # dw[f, c, k, l] = sum over n, i, j of dout[n, f, i, j] * patches[n, c, i, j, k, l]
    dw = np.tensordot(dout, patches, axes=([0, 2, 3], [0, 2, 3]))
    # dpatches (N, out_h, out_w, C, kh, kw)
    dpatches = np.tensordot(dout, w, axes=([1], [0]))

    dpadded = np.zeros((n_img, chans, height + 2 * pad, width + 2 * pad))
    for k in range(kh):
        rows = slice(k, k + stride * out_h, stride)
        for l in range(kw):
            cols = slice(l, l + stride * out_w, stride)
            dpadded[:, :, rows, cols] += dpatches[:, :, :, :, k, l].transpose(0, 3, 1, 2)
    dx = dpadded[:, :, pad:pad + height, pad:pad + width]
    return dx, dw, db


def _pool_dims(x, pool_param):
    ph = pool_param["pool_height"]
    pw = pool_param["pool_width"]
    s = pool_param["stride"]
    out_h = (x.shape[2] - ph) // s + 1
    out_w = (x.shape[3] - pw) // s + 1
    return ph, pw, s, out_h, out_w


def max_pool_forward(x, pool_param):
    ph, pw, s, out_h, out_w = _pool_dims(x, pool_param)
    n_img, chans = x.shape[:2]
    out = np.zeros((n_img, chans, out_h, out_w))
    for r in range(out_h):
        for c in range(out_w):
            out[:, :, r, c] = np.max(x[:, :, r * s:r * s + ph, c * s:c * s + pw], axis=(2, 3))
    return out, (x, pool_param)


def max_pool_backward(dout, cache):
    x, pool_param = cache
    ph, pw, s, out_h, out_w = _pool_dims(x, pool_param)
    n_img, chans = x.shape[:2]
    dx = np.zeros(x.shape)
    for n in range(n_img):
        for ch in range(chans):
            for r in range(out_h):
                for c in range(out_w):
                    window = x[n, ch, r * s:r * s + ph, c * s:c * s + pw]
                    # np.argmax returns the first occurrence of the max (ties!)
                    a, bb = divmod(int(np.argmax(window)), pw)
                    dx[n, ch, r * s + a, c * s + bb] += dout[n, ch, r, c]
    return dx


def avg_pool_forward(x, pool_param):
    ph, pw, s, out_h, out_w = _pool_dims(x, pool_param)
    out = np.zeros(x.shape[:2] + (out_h, out_w))
    for r in range(out_h):
        for c in range(out_w):
            out[:, :, r, c] = np.mean(x[:, :, r * s:r * s + ph, c * s:c * s + pw], axis=(2, 3))
    return out, (x.shape, pool_param)


def avg_pool_backward(dout, cache):
    x_shape, pool_param = cache
    ph = pool_param["pool_height"]
    pw = pool_param["pool_width"]
    s = pool_param["stride"]
    out_h, out_w = dout.shape[-2:]
    dx = np.zeros(x_shape)
    share = dout / float(ph * pw)
    for r in range(out_h):
        for c in range(out_w):
            dx[:, :, r * s:r * s + ph, c * s:c * s + pw] += share[:, :, r:r + 1, c:c + 1]
    return dx
