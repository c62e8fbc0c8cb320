import numpy as np


def fit_standardizer(X, axis):
    X = np.asarray(X, dtype=np.float64)
    return dict(mean=np.mean(X, axis=axis, keepdims=True),
                var=np.var(X, axis=axis, keepdims=True))


def apply_standardizer(X, stats, eps=1e-8):
    mu, var = stats['mean'], stats['var']
    inv_std = 1.0 / np.sqrt(var + eps)
    return (X - mu) * inv_std


def hflip(x):
    return np.flip(x, axis=-1)


def _hw(size):
    if np.isscalar(size):
        return int(size), int(size)
    a, b = size
    return int(a), int(b)


def random_crop(x, size, padding, rng):
    ch, cw = _hw(size)
    p = padding
    xp = np.pad(x, [(0, 0), (0, 0), (p, p), (p, p)])
    n, c, hp, wp = xp.shape
    if ch > hp or cw > wp:
        raise ValueError('random_crop: crop size larger than the padded image')
    top = rng.integers(hp - ch + 1, size=n)
    left = rng.integers(wp - cw + 1, size=n)
    # gather all crops at once with broadcast index arrays
    rows = top[:, None] + np.arange(ch)                 # n x ch
    cols = left[:, None] + np.arange(cw)                # n x cw
    idx_n = np.arange(n)[:, None, None, None]
    idx_c = np.arange(c)[None, :, None, None]
    return xp[idx_n, idx_c, rows[:, None, :, None], cols[:, None, None, :]]


def cutout(x, size, rng):
    n, _, h, w = x.shape
    centers = rng.integers(0, h * w, size=n)           # flat pixel index
    cy, cx = np.divmod(centers, w)
    r0 = cy - size // 2
    c0 = cx - size // 2
    ys = np.arange(h)
    xs = np.arange(w)
    in_rows = (ys[None, :] >= r0[:, None]) & (ys[None, :] < r0[:, None] + size)
    in_cols = (xs[None, :] >= c0[:, None]) & (xs[None, :] < c0[:, None] + size)
    mask = in_rows[:, :, None] & in_cols[:, None, :]   # n x h x w
    return np.where(mask[:, None], 0.0, x)


def mixup(x, y_onehot, alpha, rng):
    n = len(x)
    perm = rng.permutation(n)
    lam = rng.beta(alpha, alpha)
    mix = lambda a: lam * a + (1.0 - lam) * a[perm]  # noqa: E731
    return mix(x), mix(y_onehot), float(lam)
