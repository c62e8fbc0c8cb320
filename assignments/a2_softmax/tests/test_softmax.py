"""Public tests for a2_softmax: run them with `pytest` (or `grader check a2_softmax`).

Known values, properties (rows sum to 1, KL >= 0, ...) and finite-difference checks of the
loss gradients. The hidden tests use other random inputs and compare with PyTorch.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import softmax as sm
from gradcheck import numerical_gradient, rel_error

# --- softmax / log_softmax -----------------------------------------------------------------


def test_softmax_known_values_and_shape():
    x = np.array([[0.0, 0.0, 0.0, 0.0], [1.0, 2.0, 3.0, 4.0], [0.0, math.log(3.0), 5.0, 5.0]])
    p = sm.softmax(x)
    assert p.shape == (3, 4)
    np.testing.assert_allclose(p[0], 0.25)
    e = np.exp([1.0, 2.0, 3.0, 4.0])
    np.testing.assert_allclose(p[1], e / e.sum(), rtol=1e-12)
    assert p[2, 1] == pytest.approx(3 * p[2, 0], rel=1e-12)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-12)


def test_softmax_is_shift_invariant_and_stable():
    x = np.array([[1.0, 2.0, 3.0], [10000.0, 9999.0, -10000.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an overflow warning fails the test
        p = sm.softmax(x)
        logp = sm.log_softmax(x)
    np.testing.assert_allclose(sm.softmax(x[:1] + 1234.5), p[:1], rtol=1e-12)
    e = 1.0 / (1.0 + math.exp(-1.0))
    np.testing.assert_allclose(p[1], [e, 1.0 - e, 0.0], rtol=1e-12, atol=1e-300)
    assert np.all(np.isfinite(logp))
    assert logp[1, 2] == pytest.approx(-20000.0 - math.log1p(math.exp(-1.0)), rel=1e-12)


def test_log_softmax_equals_log_of_softmax_for_moderate_logits():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((5, 7))
    np.testing.assert_allclose(sm.log_softmax(x), np.log(sm.softmax(x)), rtol=1e-10)


def test_softmax_does_not_modify_input():
    x = np.array([[3.0, 1.0, 2.0]])
    x0 = x.copy()
    sm.softmax(x)
    sm.log_softmax(x)
    np.testing.assert_array_equal(x, x0)


# --- losses ---------------------------------------------------------------------------------


def test_cross_entropy_known_value():
    # Uniform scores: every class has p = 1/C, so the loss is log C whatever the labels.
    loss, dscores = sm.cross_entropy_loss(np.zeros((4, 5)), np.array([0, 1, 2, 4]))
    assert isinstance(loss, float)
    assert loss == pytest.approx(math.log(5.0), rel=1e-12)
    assert dscores.shape == (4, 5)
    np.testing.assert_allclose(dscores.sum(axis=1), 0.0, atol=1e-15)


def test_cross_entropy_grad_numerical():
    rng = np.random.default_rng(1)
    scores, y = rng.standard_normal((6, 4)), rng.integers(0, 4, size=6)
    _, dscores = sm.cross_entropy_loss(scores, y)
    num = numerical_gradient(lambda s: sm.cross_entropy_loss(s, y)[0], scores.copy())
    assert rel_error(dscores, num) < 1e-6


def test_cross_entropy_large_logits():
    scores = np.array([[1e4, 0.0, -1e4], [1e4, 0.0, -1e4]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss, dscores = sm.cross_entropy_loss(scores, np.array([0, 2]))
    assert loss == pytest.approx(2e4 / 2, rel=1e-12)  # (0 + 2e4) / 2
    assert np.all(np.isfinite(dscores))


def test_bce_with_logits_known_values_and_stability():
    z = np.array([0.0, 0.0, 1e4, -1e4])
    y = np.array([1.0, 0.3, 1.0, 1.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss, dz = sm.bce_with_logits_loss(z, y)
    # log 2, log 2, 0, 1e4 (a confident wrong answer costs |z|).
    assert loss == pytest.approx((2 * math.log(2.0) + 1e4) / 4, rel=1e-12)
    np.testing.assert_allclose(dz, np.array([-0.5, 0.2, 0.0, -1.0]) / 4, atol=1e-15)


def test_bce_with_logits_grad_numerical():
    rng = np.random.default_rng(2)
    z, y = 2 * rng.standard_normal(6), rng.random(6)
    _, dz = sm.bce_with_logits_loss(z, y)
    num = numerical_gradient(lambda v: sm.bce_with_logits_loss(v, y)[0], z.copy())
    assert rel_error(dz, num) < 1e-6


def test_mse_loss_value_and_grad():
    rng = np.random.default_rng(3)
    pred, target = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    loss, dpred = sm.mse_loss(pred, target)
    assert loss == pytest.approx(np.sum((pred - target) ** 2) / 12, rel=1e-12)
    num = numerical_gradient(lambda v: sm.mse_loss(v, target)[0], pred.copy())
    assert rel_error(dpred, num) < 1e-6


# --- entropy and KL ---------------------------------------------------------------------------


def test_entropy_known_values():
    assert sm.entropy(np.full(4, 0.25)) == pytest.approx(math.log(4.0), rel=1e-12)
    assert sm.entropy(np.array([0.5, 0.5])) == pytest.approx(math.log(2.0), rel=1e-12)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # log(0) must not be evaluated
        assert sm.entropy(np.array([0.0, 1.0, 0.0])) == pytest.approx(0.0, abs=1e-15)
        assert sm.entropy(np.array([0.5, 0.0, 0.5])) == pytest.approx(math.log(2.0), rel=1e-12)


def test_kl_divergence_properties():
    p = np.array([0.1, 0.6, 0.3])
    q = np.array([0.3, 0.3, 0.4])
    kl = sm.kl_divergence(p, q)
    assert kl == pytest.approx(float(np.sum(p * np.log(p / q))), rel=1e-12)
    assert kl > 0
    assert sm.kl_divergence(p, p) == pytest.approx(0.0, abs=1e-15)
    assert sm.kl_divergence(q, p) != pytest.approx(kl)  # not symmetric
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        zero = np.array([0.5, 0.0, 0.5])
        assert sm.kl_divergence(zero, q) == pytest.approx(
            0.5 * math.log(0.5 / 0.3) + 0.5 * math.log(0.5 / 0.4), rel=1e-12
        )
