"""Public tests for data_prep.py: run them with `pytest` while you work.

They check known values and properties (no reference implementation). Passing them is a good
sign, not a guarantee: the hidden tests compare with PyTorch / torchvision on random inputs and
check the statistics of your random choices.
"""

import data_prep as dp
import numpy as np


def test_standardizer_per_feature():
    X = np.array([[1.0, 10.0], [3.0, 20.0], [5.0, 60.0]])
    stats = dp.fit_standardizer(X, 0)
    np.testing.assert_allclose(stats["mean"], [[3.0, 30.0]])
    np.testing.assert_allclose(stats["var"], [[8 / 3, 1400 / 3]])  # ddof = 0
    out = dp.apply_standardizer(X, stats)
    np.testing.assert_allclose(out.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(out.std(axis=0), 1.0, rtol=1e-6)


def test_standardizer_per_channel_shapes():
    X = np.random.default_rng(0).normal(2.0, 3.0, (4, 3, 5, 5))
    stats = dp.fit_standardizer(X, (0, 2, 3))
    assert stats["mean"].shape == (1, 3, 1, 1) and stats["var"].shape == (1, 3, 1, 1)


def test_apply_uses_the_given_statistics():
    stats = {"mean": np.array([[1.0, -1.0]]), "var": np.array([[4.0, 0.25]])}
    X_test = np.array([[3.0, 0.0]])
    np.testing.assert_allclose(dp.apply_standardizer(X_test, stats, eps=0.0), [[1.0, 2.0]])


def test_hflip():
    x = np.arange(6.0).reshape(1, 1, 2, 3)
    np.testing.assert_array_equal(dp.hflip(x), [[[[2, 1, 0], [5, 4, 3]]]])


def test_random_crop_shape_and_window():
    x = np.random.default_rng(1).uniform(1.0, 2.0, (5, 2, 6, 6))
    out = dp.random_crop(x, 4, 1, np.random.default_rng(0))
    assert out.shape == (5, 2, 4, 4)
    padded = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    for n in range(5):  # every crop is a 4x4 window of its own padded image
        assert any(np.array_equal(out[n], padded[n, :, t:t + 4, s:s + 4])
                   for t in range(5) for s in range(5))


def test_random_crop_reaches_every_offset():
    # 1x1 crops of a 3x3 image with padding 1: 25 positions, the corners are padding zeros.
    x = np.arange(1.0, 10.0).reshape(1, 1, 3, 3).repeat(2000, axis=0)
    out = dp.random_crop(x, 1, 1, np.random.default_rng(3))
    values, counts = np.unique(out, return_counts=True)
    assert set(values) == set(range(10))  # 0 (padding) and every pixel 1..9
    assert counts[1:].min() > 40  # each pixel is hit with probability 1/25: about 80 times


def test_cutout_square_inside_the_image():
    x = np.ones((1, 2, 9, 9))
    out = dp.cutout(x, 3, np.random.default_rng(0))
    erased = out[0, 0] == 0
    assert np.array_equal(erased, out[0, 1] == 0)  # the same square in every channel
    assert 1 <= erased.sum() <= 9


def test_cutout_is_clipped_at_the_border():
    x = np.ones((4000, 1, 4, 4))
    out = dp.cutout(x, 2, np.random.default_rng(1))
    sizes = (out == 0).sum(axis=(1, 2, 3))
    # centers in row 0 or column 0 lose part of the square; no square wraps around
    assert set(sizes) == {1, 2, 4}
    assert not np.any((out[:, 0, 0, :] == 0) & (out[:, 0, 3, :] == 0))


def test_mixup_formula_and_replay():
    rng_data = np.random.default_rng(0)
    x, y = rng_data.standard_normal((8, 3)), np.eye(4)[rng_data.integers(0, 4, 8)]
    x_mix, y_mix, lam = dp.mixup(x, y, 0.4, np.random.default_rng(5))
    assert isinstance(lam, float) and 0.0 <= lam <= 1.0
    np.testing.assert_allclose(y_mix.sum(axis=1), 1.0)  # still a distribution over classes
    again = dp.mixup(x, y, 0.4, np.random.default_rng(5))
    np.testing.assert_array_equal(again[0], x_mix)
    assert again[2] == lam


def test_functions_do_not_modify_inputs():
    x = np.random.default_rng(2).uniform(1.0, 2.0, (3, 1, 4, 4))
    x0 = x.copy()
    dp.hflip(x)
    dp.random_crop(x, 3, 1, np.random.default_rng(0))
    dp.cutout(x, 2, np.random.default_rng(0))
    dp.mixup(x, np.eye(3), 1.0, np.random.default_rng(0))
    np.testing.assert_array_equal(x, x0)
