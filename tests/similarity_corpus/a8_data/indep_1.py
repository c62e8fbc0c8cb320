"""A8 data prep."""
import numpy as np


def fit_standardizer(X, axis):
    mean = X.mean(axis=axis, keepdims=True)
    var = ((X - mean) ** 2).mean(axis=axis, keepdims=True)
    return {"mean": mean, "var": var}


def apply_standardizer(X, stats, eps=1e-8):
    return (X - stats["mean"]) / np.sqrt(stats["var"] + eps)


def hflip(x):
    return x[..., ::-1]


def random_crop(x, size, padding, rng):
    if isinstance(size, int):
        h = w = size
    else:
        h, w = size
    N, C, H, W = x.shape
    Hp, Wp = H + 2 * padding, W + 2 * padding
    if h > Hp or w > Wp:
        raise ValueError(f"crop {(h, w)} does not fit in padded image {(Hp, Wp)}")
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    tops = rng.integers(0, Hp - h + 1, size=N)
    lefts = rng.integers(0, Wp - w + 1, size=N)
    out = np.empty((N, C, h, w), dtype=x.dtype)
    for n in range(N):
        t, l = tops[n], lefts[n]
        out[n] = xp[n, :, t:t + h, l:l + w]
    return out


def cutout(x, size, rng):
    N, C, H, W = x.shape
    out = x.copy()
    cy = rng.integers(0, H, size=N)
    cx = rng.integers(0, W, size=N)
    for n in range(N):
        y0 = max(cy[n] - size // 2, 0)
        y1 = min(cy[n] - size // 2 + size, H)
        x0 = max(cx[n] - size // 2, 0)
        x1 = min(cx[n] - size // 2 + size, W)
        out[n, :, y0:y1, x0:x1] = 0
    return out


def mixup(x, y_onehot, alpha, rng):
    lam = float(rng.beta(alpha, alpha))
    perm = rng.permutation(x.shape[0])
    x_mix = lam * x + (1 - lam) * x[perm]
    y_mix = lam * y_onehot + (1 - lam) * y_onehot[perm]
    return x_mix, y_mix, lam
