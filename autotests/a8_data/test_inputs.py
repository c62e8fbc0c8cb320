"""Hidden test: no function of data_prep modifies its input arrays (charged once, here).

Nothing in a8 is an in/out parameter, so nothing is copied back from the sandbox; what each
call changed in place (``last_mutations``) is found by the trusted side in the shared memory the
arrays were passed in.
"""

import numpy as np
import pytest

from grader.testing import assert_inputs_unchanged


@pytest.mark.points(1)
def test_functions_do_not_modify_inputs(student, rng):
    """fit/apply_standardizer, hflip, random_crop, cutout, mixup leave their arrays unchanged"""
    x = rng.uniform(0.5, 2.0, (6, 2, 5, 5))
    y = np.eye(3)[rng.integers(0, 3, 6)]
    stats = student.fit_standardizer(x, (0, 2, 3))
    assert_inputs_unchanged(student, fn="fit_standardizer", inputs={"X": x})
    student.apply_standardizer(x, stats)
    assert_inputs_unchanged(student, fn="apply_standardizer", inputs={"X": x, "stats": stats})
    student.hflip(x)
    assert_inputs_unchanged(student, fn="hflip", inputs={"x": x})
    student.random_crop(x, 4, 1, np.random.default_rng(0))
    assert_inputs_unchanged(student, fn="random_crop", inputs={"x": x})
    student.cutout(x, 3, np.random.default_rng(1))
    assert_inputs_unchanged(student, fn="cutout", inputs={"x": x})
    student.mixup(x, y, 1.0, np.random.default_rng(2))
    assert_inputs_unchanged(student, fn="mixup", inputs={"x": x, "y_onehot": y})
