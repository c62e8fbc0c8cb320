import numpy as np


def conv_output_size(n, k, p, s):
    return (n + 2*p - k)//s + 1


def _pad(x, p):
    return np.pad(x, [(0, 0), (0, 0), (p, p), (p, p)], mode='constant')


def conv_forward_naive(x, w, b, conv_param):
    S = conv_param['stride']
    P = conv_param['pad']
    N, C, H, W = x.shape
    F, _, KH, KW = w.shape
    OH, OW = conv_output_size(H, KH, P, S), conv_output_size(W, KW, P, S)
    xp = _pad(x, P)
    out = np.zeros((N, F, OH, OW))
    for n in range(N):
        for f in range(F):
            for oh in range(OH):
                for ow in range(OW):
                    patch = xp[n, :, oh*S:oh*S+KH, ow*S:ow*S+KW]
                    out[n, f, oh, ow] = np.sum(patch * w[f]) + b[f]
    return out, (x, w, b, conv_param)


def conv_backward_naive(dout, cache):
    x, w, b, conv_param = cache
    S, P = conv_param['stride'], conv_param['pad']
    N, C, H, W = x.shape
    F, _, KH, KW = w.shape
    OH, OW = dout.shape[2], dout.shape[3]
    xp = _pad(x, P)
    dxp = np.zeros(xp.shape)
    dw = np.zeros(w.shape)
    db = np.zeros(b.shape)
    for n in range(N):
        for f in range(F):
            for oh in range(OH):
                for ow in range(OW):
                    g = dout[n, f, oh, ow]
                    db[f] += g
                    dw[f] += g * xp[n, :, oh*S:oh*S+KH, ow*S:ow*S+KW]
                    dxp[n, :, oh*S:oh*S+KH, ow*S:ow*S+KW] += g * w[f]
    return dxp[:, :, P:P+H, P:P+W], dw, db


def _im2col_indices(C, KH, KW, OH, OW, S):
    # row index into xp for each (c, kh, kw) x (oh, ow) entry, same for columns and channels
    r0 = np.tile(np.repeat(np.arange(KH), KW), C)
    r1 = S * np.repeat(np.arange(OH), OW)
    c0 = np.tile(np.arange(KW), KH * C)
    c1 = S * np.tile(np.arange(OW), OH)
    rows = r0[:, None] + r1[None, :]
    cols = c0[:, None] + c1[None, :]
    chans = np.repeat(np.arange(C), KH * KW)[:, None]
    return chans, rows, cols


def conv_forward_fast(x, w, b, conv_param):
    S, P = conv_param['stride'], conv_param['pad']
    N, C, H, W = x.shape
    F, _, KH, KW = w.shape
    OH, OW = conv_output_size(H, KH, P, S), conv_output_size(W, KW, P, S)
    xp = _pad(x, P)
    ch, ro, co = _im2col_indices(C, KH, KW, OH, OW, S)
    cols = xp[:, ch, ro, co]                    # N x (C*KH*KW) x (OH*OW)
    res = np.matmul(w.reshape(F, -1), cols)     # N x F x (OH*OW)
    out = res.reshape(N, F, OH, OW) + b.reshape(1, F, 1, 1)
    return out, (x.shape, w, cols, (ch, ro, co), S, P)


def conv_backward_fast(dout, cache):
    xshape, w, cols, idx, S, P = cache
    N, C, H, W = xshape
    F = w.shape[0]
    d = dout.reshape(N, F, -1)                  # N x F x (OH*OW)
    db = d.sum(axis=(0, 2))
    dw = np.einsum('nfp,nkp->fk', d, cols).reshape(w.shape)
    dcols = np.matmul(w.reshape(F, -1).T, d)    # N x (C*KH*KW) x (OH*OW)
    dxp = np.zeros((N, C, H + 2*P, W + 2*P))
    ch, ro, co = idx
    np.add.at(dxp, (slice(None), ch, ro, co), dcols)
    return dxp[:, :, P:P+H, P:P+W], dw, db


def _windows(x, ph, pw, s):
    # (N, C, OH, OW, ph*pw) copy of every pooling window
    N, C, H, W = x.shape
    OH, OW = (H - ph)//s + 1, (W - pw)//s + 1
    ii = (s*np.arange(OH))[:, None, None, None] + np.arange(ph)[None, None, :, None]
    jj = (s*np.arange(OW))[None, :, None, None] + np.arange(pw)[None, None, None, :]
    win = x[:, :, ii, jj]                       # N, C, OH, OW, ph, pw
    return win.reshape(N, C, OH, OW, ph*pw), ii, jj


def max_pool_forward(x, pool_param):
    ph, pw, s = pool_param['pool_height'], pool_param['pool_width'], pool_param['stride']
    win, _, _ = _windows(x, ph, pw, s)
    return win.max(axis=-1), (x, pool_param)


def max_pool_backward(dout, cache):
    x, pool_param = cache
    ph, pw, s = pool_param['pool_height'], pool_param['pool_width'], pool_param['stride']
    N, C, H, W = x.shape
    win, ii, jj = _windows(x, ph, pw, s)
    first = win.argmax(axis=-1)
    OH, OW = first.shape[2:]
    r = s*np.arange(OH)[None, None, :, None] + first // pw
    c = s*np.arange(OW)[None, None, None, :] + first % pw
    n = np.arange(N)[:, None, None, None]
    ch = np.arange(C)[None, :, None, None]
    dx = np.zeros(x.shape)
    np.add.at(dx, (n, ch, r, c), dout)
    return dx


def avg_pool_forward(x, pool_param):
    ph, pw, s = pool_param['pool_height'], pool_param['pool_width'], pool_param['stride']
    win, _, _ = _windows(x, ph, pw, s)
    return win.mean(axis=-1), (x.shape, pool_param)


def avg_pool_backward(dout, cache):
    shape, pool_param = cache
    ph, pw, s = pool_param['pool_height'], pool_param['pool_width'], pool_param['stride']
    N, C, H, W = shape
    OH, OW = dout.shape[2:]
    ii = (s*np.arange(OH))[:, None, None, None] + np.arange(ph)[None, None, :, None]
    jj = (s*np.arange(OW))[None, :, None, None] + np.arange(pw)[None, None, None, :]
    g = np.broadcast_to((dout / (ph*pw))[..., None, None], (N, C, OH, OW, ph, pw))
    dx = np.zeros(shape)
    np.add.at(dx, (slice(None), slice(None), ii, jj), g)
    return dx
