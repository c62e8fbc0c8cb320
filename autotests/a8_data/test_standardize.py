"""Hidden tests: fit_standardizer / apply_standardizer against torch.var_mean and
F.batch_norm in eval mode (float64). Reference statistics always come from a separate
training split, so an implementation that re-fits on the array it standardizes fails.

How eps enters is charged once, in its own test: the training-statistics tests pass a tiny
eps next to variances of about 6 to 36 and compare to 1e-3, so an implementation without eps, with
eps outside the square root or with a fixed small eps of its own passes them when it applies
the training statistics exactly."""

import pytest
import torch
import torch.nn.functional as F

from grader.testing import assert_close


def _features(rng, n, d, scales=(0.2, 4.0)):
    # per-feature scales and offsets that differ, so a wrong axis shows
    return rng.normal(rng.uniform(-5, 5, d), rng.uniform(*scales, d), (n, d))


def _images(rng, n, c, h, w, scales=(0.2, 3.0)):
    return rng.normal(rng.uniform(-3, 3, (1, c, 1, 1)), rng.uniform(*scales, (1, c, 1, 1)),
                      (n, c, h, w))


def _eps(rng) -> float:
    # large next to the eps test's variances, so eps outside the square root shows
    return float(rng.choice([0.1, 0.5]))


# The training-statistics tests: scales 2.5 to 6 (a sample variance of 50 values stays above 1
# with overwhelming probability), eps tiny, and a tolerance that any eps up to ~1e-3 stays in.
STATS_SCALES, STATS_EPS, STATS_RTOL = (2.5, 6.0), 1e-8, 1e-3
STATS_NOTE = ("output (this test checks only that the TRAINING split's mean and var are "
              f"applied: it passes eps = {STATS_EPS:g}, tiny next to every variance here "
              "(about 6 to 36), so how eps enters does not matter; eps has its own test)")


def _torch_stats(X, axis):
    var, mean = torch.var_mean(torch.tensor(X), dim=axis, correction=0, keepdim=True)
    return {"mean": mean.numpy(), "var": var.numpy()}


def _batch_norm_eval(X, stats, eps):
    mean, var = (torch.tensor(stats[k]).ravel() for k in ("mean", "var"))
    return F.batch_norm(torch.tensor(X), mean, var, eps=eps, training=False).numpy()


@pytest.mark.points(2)
def test_fit_per_feature_matches_var_mean(student, rng):
    """fit_standardizer(X (N, D), axis=0): mean and population variance per feature"""
    X = _features(rng, int(rng.integers(5, 60)), int(rng.integers(1, 8)))
    ref = _torch_stats(X, 0)
    stats = student.fit_standardizer(X, 0)
    for key in ("mean", "var"):
        assert_close(stats[key], ref[key], fn="fit_standardizer", what=f"stats[{key!r}]",
                     inputs={"X": X})


@pytest.mark.points(2)
def test_fit_per_channel_matches_var_mean(student, rng):
    """fit_standardizer(X (N, C, H, W), axis=(0, 2, 3)): statistics per channel, (1, C, 1, 1)"""
    X = _images(rng, int(rng.integers(2, 10)), int(rng.integers(1, 4)), 5, 6)
    ref = _torch_stats(X, (0, 2, 3))
    stats = student.fit_standardizer(X, (0, 2, 3))
    for key in ("mean", "var"):
        assert_close(stats[key], ref[key], fn="fit_standardizer", what=f"stats[{key!r}]",
                     inputs={"X": X})


@pytest.mark.points(1)
def test_fit_over_other_axes(student, rng):
    """fit_standardizer: any axis or tuple of axes, e.g. per row (axis=1) or per pixel"""
    X = _images(rng, 6, 3, 4, 5)
    for axis in (1, (0, 1), 0):
        ref = _torch_stats(X, axis)
        stats = student.fit_standardizer(X, axis)
        for key in ("mean", "var"):
            assert_close(stats[key], ref[key], fn=f"fit_standardizer(axis={axis})",
                         what=f"stats[{key!r}]", inputs={"X": X})


@pytest.mark.points(2)
def test_apply_per_feature_uses_training_statistics(student, rng):
    """apply_standardizer: (X - mean) / sqrt(var + eps) with the TRAINING split's stats"""
    d = int(rng.integers(1, 8))
    train = _features(rng, 50, d, STATS_SCALES)
    test = _features(rng, int(rng.integers(1, 20)), d, STATS_SCALES)
    stats = _torch_stats(train, 0)
    expected = _batch_norm_eval(test, stats, STATS_EPS)
    assert_close(student.apply_standardizer(test, stats, STATS_EPS), expected,
                 fn=f"apply_standardizer(eps={STATS_EPS:g})", what=STATS_NOTE,
                 inputs={"X": test, "mean": stats["mean"]}, rtol=STATS_RTOL)


@pytest.mark.points(1)
def test_apply_per_channel_uses_training_statistics(student, rng):
    """apply_standardizer: per-channel stats (1, C, 1, 1) applied to another split's images"""
    c = int(rng.integers(1, 4))
    train = _images(rng, 8, c, 4, 4, STATS_SCALES)
    test = _images(rng, int(rng.integers(1, 5)), c, 4, 4, STATS_SCALES)
    stats = _torch_stats(train, (0, 2, 3))
    expected = _batch_norm_eval(test, stats, STATS_EPS)
    assert_close(student.apply_standardizer(test, stats, STATS_EPS), expected,
                 fn=f"apply_standardizer(eps={STATS_EPS:g})", what=STATS_NOTE,
                 inputs={"X": test, "mean": stats["mean"]}, rtol=STATS_RTOL)


@pytest.mark.points(2)
def test_apply_eps_from_the_argument_inside_the_square_root(student, rng):
    """apply_standardizer: eps (the argument, default 1e-8) inside the square root"""
    d = int(rng.integers(2, 8))
    train, test = _features(rng, 50, d, (0.05, 0.5)), _features(rng, 10, d, (0.05, 0.5))
    stats, eps = _torch_stats(train, 0), _eps(rng)
    expected = _batch_norm_eval(test, stats, eps)
    assert_close(student.apply_standardizer(test, stats, eps), expected,
                 fn=f"apply_standardizer(eps={eps})",
                 what=f"output (this test uses eps = {eps} from the arguments: out = (X - mean)"
                      " / sqrt(var + eps), eps inside the square root, not sqrt(var) + eps, "
                      "and not a fixed eps of your own)",
                 inputs={"X": test, "mean": stats["mean"]})
    X = _features(rng, 20, 4)
    X[:, 1] = 3.0  # variance 0: without eps this is 0/0
    stats = _torch_stats(X, 0)
    expected = _batch_norm_eval(X, stats, 1e-8)
    assert_close(student.apply_standardizer(X, stats), expected, fn="apply_standardizer",
                 what="output (called without eps: the default eps = 1e-8 keeps the constant "
                      "feature 1 (var = 0) finite, 0 / sqrt(0 + 1e-8) = 0)", inputs={"X": X})
