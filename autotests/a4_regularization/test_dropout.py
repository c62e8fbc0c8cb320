"""Hidden tests: inverted dropout (dropout_forward / dropout_backward).

Masks are random, so the statistics are checked against the binomial law: with n independent
units each zeroed with probability p, the zero fraction has std sqrt(p(1-p)/n); the tolerances
are 6 such stds (a correct solution fails with probability ~1e-9).

The 1/(1-p) scaling is charged once, in its own test: the backward test checks the exact
gradient of the student's own forward pass (dout * out / x for a mask fixed by the seed), so
non-inverted dropout with a matching backward pass loses the scaling test only.
"""

import numpy as np
import pytest

from grader.testing import assert_close, assert_inputs_unchanged, assert_true

SIGMAS = 6.0  # tolerance in standard deviations for every statistical check
SHAPE = (100, 200)  # n = 20000 units: tight statistics, cheap to ship


def _nonzero_input(rng: np.random.Generator, shape=SHAPE) -> np.ndarray:
    """Inputs bounded away from 0, so out == 0 identifies exactly the dropped units."""
    return rng.uniform(0.5, 2.0, shape) * rng.choice([-1.0, 1.0], shape)


def _p(rng: np.random.Generator) -> float:
    # far from 0.5, so that p read as the keep probability shows in the statistics
    return float(rng.choice([0.2, 0.3, 0.7, 0.8]))


def _seed(rng: np.random.Generator) -> int:
    return int(rng.integers(2**31))


@pytest.mark.points(2)
def test_dropout_zero_fraction_matches_p(student, rng):
    """dropout_forward (train): the fraction of zeroed units is p, the drop probability"""
    x, p = _nonzero_input(rng), _p(rng)
    out, _ = student.dropout_forward(x, {"p": p, "mode": "train", "seed": _seed(rng)})
    frac = float(np.mean(out == 0))
    tol = SIGMAS * np.sqrt(p * (1 - p) / x.size)
    assert_true(
        abs(frac - p) <= tol,
        f"dropout_forward with p={p} zeroed a fraction {frac:.4f} of {x.size} units; expected "
        f"{p} +- {tol:.4f}. p is the probability of DROPPING a unit (as torch.nn.Dropout).",
    )


@pytest.mark.points(2)
def test_dropout_kept_units_scaled_by_inverse_keep_prob(student, rng):
    """dropout_forward (train): kept units equal x / (1 - p) (inverted dropout)"""
    x, p = _nonzero_input(rng, (40, 50)), _p(rng)
    out, _ = student.dropout_forward(x, {"p": p, "mode": "train", "seed": _seed(rng)})
    kept = out != 0
    assert_true(kept.any(), f"dropout_forward with p={p} zeroed every unit of a (40, 50) input")
    assert_close(out[kept], x[kept] / (1 - p), fn="dropout_forward",
                 what=f"kept units (inverted dropout: a kept unit is x / (1 - p) = x / {1 - p:g} "
                      "in train mode, so that E[out] = x and test mode is the identity)",
                 inputs={"x": x}, rtol=1e-12)


@pytest.mark.points(1)
def test_dropout_mask_independent_per_unit(student, rng):
    """dropout_forward (train): every unit has its own coin: masks differ across the batch
    (rows) and across features (columns)"""
    x, p = _nonzero_input(rng, (50, 40)), _p(rng)
    out, _ = student.dropout_forward(x, {"p": p, "mode": "train", "seed": _seed(rng)})
    dropped = np.asarray(out) == 0
    # independent units: 50 equal rows (or 40 equal columns) have probability < 1e-300
    for axis, what, shared in ((0, "row", "sample"), (1, "column", "feature")):
        lines = np.moveaxis(dropped, axis, 0)
        assert_true(not np.all(lines == lines[:1]),
                    f"dropout_forward(x: (50, 40), p={p}): every {what} dropped the same units;"
                    f" draw the mask with the shape of x (one coin per unit), not one per "
                    f"{shared} broadcast over the batch")


@pytest.mark.points(1)
def test_dropout_test_mode_is_identity(student, rng):
    """dropout (test mode): forward returns x unchanged, backward passes dout through"""
    x, p = _nonzero_input(rng, (8, 30)), _p(rng)
    out, cache = student.dropout_forward(x, {"p": p, "mode": "test"})
    assert_close(out, x, fn="dropout_forward", what="test-mode output", inputs={"x": x},
                 rtol=0, atol=0)
    dout = rng.standard_normal(x.shape)
    dx = student.dropout_backward(dout, cache)
    assert_close(dx, dout, fn="dropout_backward", what="test-mode dx", inputs={"dout": dout},
                 rtol=0, atol=0)


@pytest.mark.points(2)
def test_dropout_backward_uses_forward_mask(student, rng):
    """dropout_backward: dx is the gradient of the forward pass that made the cache"""
    x, p = _nonzero_input(rng, (30, 40)), _p(rng)
    out, cache = student.dropout_forward(x, {"p": p, "mode": "train", "seed": _seed(rng)})
    assert_true(np.shape(out) == x.shape, f"dropout_forward(x: {x.shape}, p={p}): output "
                                          f"shape {np.shape(out)}, expected {x.shape}")
    dout = rng.standard_normal(x.shape)
    # With the mask fixed, out = x * scale elementwise, so d out / d x = out / x: the gradient
    # of the student's own forward, whatever its scaling (charged by the scaling test).
    expected = dout * (np.asarray(out, dtype=np.float64) / x)
    dx = student.dropout_backward(dout.copy(), cache)
    assert_close(dx, expected, fn="dropout_backward",
                 what="dx (the gradient of your forward pass: dout times the factor each unit "
                      "was multiplied by, 0 for dropped units and the same scale as forward "
                      "for kept ones, i.e. dout * mask / (1 - p))",
                 inputs={"dout": dout}, rtol=1e-12)


@pytest.mark.points(1)
def test_dropout_same_seed_same_mask(student, rng):
    """dropout_forward: the same seed replays the same mask, another seed gives another"""
    x, p = _nonzero_input(rng, (20, 50)), _p(rng)
    seed = _seed(rng)
    out1, _ = student.dropout_forward(x, {"p": p, "mode": "train", "seed": seed})
    out2, _ = student.dropout_forward(x, {"p": p, "mode": "train", "seed": seed})
    out3, _ = student.dropout_forward(x, {"p": p, "mode": "train", "seed": seed + 1})
    assert_true(np.array_equal(out1 == 0, out2 == 0),
                f"dropout_forward: two calls with seed={seed} dropped different units; draw "
                "the mask from np.random.default_rng(seed).")
    # 1000 units: two independent masks coincide with probability < 1e-100
    assert_true(not np.array_equal(out1 == 0, out3 == 0),
                f"dropout_forward: seeds {seed} and {seed + 1} gave the same mask; the mask "
                "must come from the seed.")


@pytest.mark.points(1)
def test_dropout_without_seed_is_random(student, rng):
    """dropout_forward without a seed: two calls draw different masks"""
    x, p = _nonzero_input(rng, (20, 50)), _p(rng)
    out1, _ = student.dropout_forward(x, {"p": p, "mode": "train"})
    out2, _ = student.dropout_forward(x, {"p": p, "mode": "train"})
    assert_true(not np.array_equal(out1 == 0, out2 == 0),
                "dropout_forward: two calls without 'seed' dropped the same units; without a "
                "seed the mask must come from fresh randomness (np.random.default_rng()).")


@pytest.mark.points(1)
def test_dropout_does_not_modify_inputs(student, rng):
    """dropout_forward / dropout_backward leave x and dout unchanged"""
    x, p = _nonzero_input(rng, (10, 20)), _p(rng)
    dropout_param = {"p": p, "mode": "train", "seed": _seed(rng)}
    _, cache = student.dropout_forward(x, dropout_param)
    assert_inputs_unchanged(student, fn="dropout_forward",
                            inputs={"x": x, "dropout_param": dropout_param})
    dout = rng.standard_normal(x.shape)
    student.dropout_backward(dout, cache)
    assert_inputs_unchanged(student, fn="dropout_backward", inputs={"dout": dout})
    student.dropout_forward(x, {"p": p, "mode": "test"})
    assert_inputs_unchanged(student, fn="dropout_forward (test mode)", inputs={"x": x})
