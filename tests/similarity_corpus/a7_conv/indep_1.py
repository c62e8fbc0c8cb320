"""A7: conv + pooling."""
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


def conv_output_size(n, k, p, s):
    return int((n + 2 * p - k) // s + 1)


def conv_forward_naive(x, w, b, conv_param):
    stride, pad = conv_param["stride"], conv_param["pad"]
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    Ho = conv_output_size(H, HH, pad, stride)
    Wo = conv_output_size(W, WW, pad, stride)
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    out = np.zeros((N, F, Ho, Wo))
    for i in range(Ho):
        for j in range(Wo):
            r, c = i * stride, j * stride
            window = xp[:, :, r:r + HH, c:c + WW]          # (N, C, HH, WW)
            # dot every window with every filter -> (N, F)
            out[:, :, i, j] = window.reshape(N, -1) @ w.reshape(F, -1).T + b
    cache = (x, w, b, conv_param)
    return out, cache


def conv_backward_naive(dout, cache):
    x, w, b, conv_param = cache
    stride, pad = conv_param["stride"], conv_param["pad"]
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    _, _, Ho, Wo = dout.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    dxp = np.zeros_like(xp)
    dw = np.zeros_like(w)
    for i in range(Ho):
        for j in range(Wo):
            r, c = i * stride, j * stride
            window = xp[:, :, r:r + HH, c:c + WW]
            g = dout[:, :, i, j]                               # (N, F)
            dw += np.tensordot(g, window, axes=([0], [0]))      # (F, C, HH, WW)
            dxp[:, :, r:r + HH, c:c + WW] += np.tensordot(g, w, axes=([1], [0]))
    db = dout.sum(axis=(0, 2, 3))
    dx = dxp[:, :, pad:pad + H, pad:pad + W]
    return dx, dw, db


def conv_forward_fast(x, w, b, conv_param):
    stride, pad = conv_param["stride"], conv_param["pad"]
    F, C, HH, WW = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    Ho = conv_output_size(x.shape[2], HH, pad, stride)
    Wo = conv_output_size(x.shape[3], WW, pad, stride)
    # all stride-1 windows, then keep every stride-th one
    win = sliding_window_view(xp, (HH, WW), axis=(2, 3))
    win = win[:, :, ::stride, ::stride][:, :, :Ho, :Wo]       # (N, C, Ho, Wo, HH, WW)
    out = np.einsum("ncijkl,fckl->nfij", win, w, optimize=True)
    out += b[None, :, None, None]
    return out, (x.shape, xp.shape, win, w, stride, pad)


def conv_backward_fast(dout, cache):
    x_shape, xp_shape, win, w, stride, pad = cache
    _, _, H, W = x_shape
    _, _, HH, WW = w.shape
    Ho, Wo = dout.shape[2], dout.shape[3]
    db = dout.sum(axis=(0, 2, 3))
    dw = np.einsum("nfij,ncijkl->fckl", dout, win, optimize=True)
    dwin = np.einsum("nfij,fckl->ncijkl", dout, w, optimize=True)
    dxp = np.zeros(xp_shape)
    for k in range(HH):
        for l in range(WW):
            dxp[:, :, k:k + stride * Ho:stride, l:l + stride * Wo:stride] += dwin[:, :, :, :, k, l]
    dx = dxp[:, :, pad:pad + H, pad:pad + W]
    return dx, dw, db


def max_pool_forward(x, pool_param):
    ph, pw, s = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    N, C, H, W = x.shape
    Ho = (H - ph) // s + 1
    Wo = (W - pw) // s + 1
    out = np.empty((N, C, Ho, Wo))
    for i in range(Ho):
        for j in range(Wo):
            out[:, :, i, j] = x[:, :, i * s:i * s + ph, j * s:j * s + pw].max(axis=(2, 3))
    return out, (x, pool_param)


def max_pool_backward(dout, cache):
    x, pool_param = cache
    ph, pw, s = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    N, C, H, W = x.shape
    Ho, Wo = dout.shape[2:]
    dx = np.zeros_like(x)
    nn, cc = np.meshgrid(np.arange(N), np.arange(C), indexing="ij")
    for i in range(Ho):
        for j in range(Wo):
            window = x[:, :, i * s:i * s + ph, j * s:j * s + pw].reshape(N, C, -1)
            idx = window.argmax(axis=2)           # first max in row-major order
            di, dj = np.unravel_index(idx, (ph, pw))
            dx[nn, cc, i * s + di, j * s + dj] += dout[:, :, i, j]
    return dx


def avg_pool_forward(x, pool_param):
    ph, pw, s = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    N, C, H, W = x.shape
    Ho = (H - ph) // s + 1
    Wo = (W - pw) // s + 1
    out = np.empty((N, C, Ho, Wo))
    for i in range(Ho):
        for j in range(Wo):
            out[:, :, i, j] = x[:, :, i * s:i * s + ph, j * s:j * s + pw].mean(axis=(2, 3))
    return out, (x.shape, pool_param)


def avg_pool_backward(dout, cache):
    x_shape, pool_param = cache
    ph, pw, s = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    dx = np.zeros(x_shape)
    Ho, Wo = dout.shape[2:]
    for i in range(Ho):
        for j in range(Wo):
            dx[:, :, i * s:i * s + ph, j * s:j * s + pw] += dout[:, :, i, j][:, :, None, None] / (ph * pw)
    return dx
