"""Hidden test: no function of data_prep modifies its input arrays (charged once, here)."""

import numpy as np
import pytest

from grader.testing import assert_unchanged


@pytest.mark.points(1)
def test_functions_do_not_modify_inputs(student, rng):
    """fit/apply_standardizer, hflip, random_crop, cutout, mixup leave their arrays unchanged"""
    x = rng.uniform(0.5, 2.0, (6, 2, 5, 5))
    y = np.eye(3)[rng.integers(0, 3, 6)]
    x0, y0 = x.copy(), y.copy()
    stats = student.fit_standardizer(x, (0, 2, 3))
    assert_unchanged(x0, x, fn="fit_standardizer", arg="X")
    stats0 = {k: np.array(v, copy=True) for k, v in stats.items()}
    student.apply_standardizer(x, stats)
    assert_unchanged(x0, x, fn="apply_standardizer", arg="X")
    for key in ("mean", "var"):
        assert_unchanged(stats0[key], stats[key], fn="apply_standardizer", arg=f"stats[{key!r}]")
    student.hflip(x)
    assert_unchanged(x0, x, fn="hflip", arg="x")
    student.random_crop(x, 4, 1, np.random.default_rng(0))
    assert_unchanged(x0, x, fn="random_crop", arg="x")
    student.cutout(x, 3, np.random.default_rng(1))
    assert_unchanged(x0, x, fn="cutout", arg="x")
    student.mixup(x, y, 1.0, np.random.default_rng(2))
    assert_unchanged(x0, x, fn="mixup", arg="x")
    assert_unchanged(y0, y, fn="mixup", arg="y_onehot")
