"""Assignment 8: data preparation.

Standardization with statistics from the training split only, and the data augmentations of
the lecture: horizontal flips, random crops with zero padding, cutout and mixup. Only numpy is
available.

Conventions (as in every numpy assignment of this course):
- images are float64 arrays of shape (N, C, H, W), batch dimension first;
- random functions draw only from the generator `rng` they are given (np.random.Generator),
  never from numpy's global state, so that the same generator state gives the same result;
- functions never modify their inputs in place (returning a view of an input is fine).
"""

from __future__ import annotations

import numpy as np


def fit_standardizer(X: np.ndarray, axis: int | tuple[int, ...]) -> dict[str, np.ndarray]:
    """Statistics for standardization, computed over the given axes.

    Shapes: X (N, D) with axis=0 -> mean, var (1, D) (one value per feature);
            X (N, C, H, W) with axis=(0, 2, 3) -> mean, var (1, C, 1, 1) (one per channel).
    Formulas: mean = average of X over `axis`; var = average of (X - mean)^2 over `axis`
    (the population variance, ddof=0). Both keep the reduced axes with size 1, so that they
    broadcast against X.
    Returns: {'mean': mean, 'var': var}.
    """
    # TODO: compute mean and var over `axis`, keeping the reduced dimensions.
    stats = None
    raise NotImplementedError  # then: return stats


def apply_standardizer(X: np.ndarray, stats: dict[str, np.ndarray],
                       eps: float = 1e-8) -> np.ndarray:
    """Standardize X with statistics fitted earlier (on the training split).

    Shapes: X like the array the stats were fitted on (any N), stats['mean'] and stats['var']
    broadcastable against X -> out (same shape as X).
    Formula: out = (X - mean) / sqrt(var + eps). Never re-fit the statistics on X: the
    validation and test splits are standardized with the training split's mean and var.
    """
    # TODO: compute out with the given mean and var (eps inside the square root).
    out = None
    raise NotImplementedError  # then: return out


def hflip(x: np.ndarray) -> np.ndarray:
    """Flip images horizontally (mirror left and right).

    Shapes: x (..., W), e.g. (N, C, H, W) -> out (same shape), out[..., j] = x[..., W - 1 - j].
    """
    # TODO: reverse the last (width) axis.
    out = None
    raise NotImplementedError  # then: return out


def random_crop(x: np.ndarray, size: int | tuple[int, int], padding: int,
                rng: np.random.Generator) -> np.ndarray:
    """Random crops of zero-padded images, an independent position for every image.

    Shapes: x (N, C, H, W), size an int s (a square s x s crop) or a pair (h, w) ->
        out (N, C, h, w).
    Pad every image with `padding` rows/columns of zeros on all four sides, giving
    (H + 2·padding) x (W + 2·padding); then for each image n on its own draw
        top_n  uniformly from {0, 1, ..., H + 2·padding - h}   (both ends included)
        left_n uniformly from {0, 1, ..., W + 2·padding - w}
    and out[n] = padded[n, :, top_n:top_n + h, left_n:left_n + w].
    """
    # TODO: pad with zeros (np.pad), draw one (top, left) per image from rng and cut out the
    # crops. Raise ValueError when the crop is larger than the padded image.
    out = None
    raise NotImplementedError  # then: return out


def cutout(x: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """Cutout: zero a size x size square at a random position of every image.

    Shapes: x (N, C, H, W) -> out (same shape).
    For each image on its own draw a center (cy, cx) uniformly over all H·W pixels; the rows
    max(cy - size//2, 0) ... min(cy - size//2 + size, H) - 1 and the columns
    max(cx - size//2, 0) ... min(cx - size//2 + size, W) - 1 become 0 in every channel. The
    square is clipped at the borders (never wrapped around), so near a border less than
    size x size pixels are erased.
    """
    # TODO: copy x, draw one center per image from rng and zero the clipped square.
    out = None
    raise NotImplementedError  # then: return out


def mixup(x: np.ndarray, y_onehot: np.ndarray, alpha: float,
          rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, float]:
    """Mixup: train on convex combinations of pairs of examples and of their labels.

    Shapes: x (N, ...), y_onehot (N, K), alpha > 0 -> x_mix (same as x), y_mix (N, K),
        lam a float.
    Draw ONE lam ~ Beta(alpha, alpha) and ONE uniformly random permutation perm of
    0..N-1 (an example may be paired with itself) for the whole batch, then
        x_mix = lam·x + (1 - lam)·x[perm]
        y_mix = lam·y_onehot + (1 - lam)·y_onehot[perm]     (the same perm)
    """
    # TODO: draw lam and perm from rng and mix the inputs and the labels.
    x_mix, y_mix, lam = None, None, None
    raise NotImplementedError  # then: return x_mix, y_mix, lam
