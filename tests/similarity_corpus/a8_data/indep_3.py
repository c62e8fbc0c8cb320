"""Assignment 8: data preparation (standardization + augmentation)."""

import numpy as np


def fit_standardizer(X, axis):
    """Per-feature / per-channel mean and population variance, reduced axes kept."""
    if isinstance(axis, int):
        axis = (axis,)
    axis = tuple(axis)
    count = 1
    for a in axis:
        count *= X.shape[a]
    total = np.sum(X, axis=axis, keepdims=True)
    mean = total / count
    centered = X - mean
    var = np.sum(centered * centered, axis=axis, keepdims=True) / count
    return {"mean": mean, "var": var}


def apply_standardizer(X, stats, eps=1e-8):
    """(X - mean) / sqrt(var + eps) using the TRAINING statistics."""
    std = np.sqrt(stats["var"] + eps)
    out = X - stats["mean"]
    out = out / std
    return out


def hflip(x):
    """Mirror the last axis."""
    width = x.shape[-1]
    return x[..., np.arange(width - 1, -1, -1)]


def random_crop(x, size, padding, rng):
    """Zero-pad then crop every image at its own random offset."""
    if isinstance(size, (tuple, list)):
        crop_h, crop_w = size
    else:
        crop_h = crop_w = size
    n_img, chans, height, width = x.shape
    padded_h = height + 2 * padding
    padded_w = width + 2 * padding
    if crop_h > padded_h or crop_w > padded_w:
        raise ValueError("crop is bigger than the padded image")

    padded = np.zeros((n_img, chans, padded_h, padded_w), dtype=x.dtype)
    padded[:, :, padding:padding + height, padding:padding + width] = x

    crops = []
    for img in padded:
        top = int(rng.integers(0, padded_h - crop_h + 1))
        left = int(rng.integers(0, padded_w - crop_w + 1))
        crops.append(img[:, top:top + crop_h, left:left + crop_w])
    return np.stack(crops, axis=0)


def cutout(x, size, rng):
    """Erase a size x size square (clipped at the borders) in every image."""
    result = np.array(x, copy=True)
    height, width = x.shape[2], x.shape[3]
    half = size // 2
    for i in range(x.shape[0]):
        center_y = rng.integers(height)
        center_x = rng.integers(width)
        top, left = center_y - half, center_x - half
        bottom, right = top + size, left + size
        # clip, do not wrap: negative indices would wrap around in numpy
        top, left = max(top, 0), max(left, 0)
        bottom, right = min(bottom, height), min(right, width)
        result[i, :, top:bottom, left:right] = 0.0
    return result


def mixup(x, y_onehot, alpha, rng):
    """One lambda ~ Beta(alpha, alpha) and one permutation for the whole batch."""
    lam = float(rng.beta(alpha, alpha))
    order = np.arange(x.shape[0])
    rng.shuffle(order)
    x_mix = lam * x + (1.0 - lam) * x[order]
    y_mix = lam * y_onehot + (1.0 - lam) * y_onehot[order]
    return x_mix, y_mix, lam
