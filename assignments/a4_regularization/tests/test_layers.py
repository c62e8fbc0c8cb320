"""Public tests for the layers of regularization.py: run them with `pytest` while you work.

They check properties and numerical gradients (no reference implementation). Passing them is
a good sign, not a guarantee: the hidden tests compare with PyTorch on random inputs.
"""

import numpy as np
import pytest
import regularization as reg
from gradcheck import numerical_gradient, rel_error

# ----------------------------------------------------------------------------- dropout


@pytest.mark.parametrize("p", [0.25, 0.6])
def test_dropout_statistics(p):
    x = np.random.default_rng(0).uniform(1.0, 2.0, (200, 100))
    out, _ = reg.dropout_forward(x, {"p": p, "mode": "train", "seed": 1})
    dropped = out == 0
    # p is the probability of DROPPING a unit; 20000 units give a std of ~0.0035
    assert abs(dropped.mean() - p) < 0.02
    np.testing.assert_allclose(out[~dropped], x[~dropped] / (1 - p))
    assert abs(out.mean() - x.mean()) < 0.05  # inverted dropout keeps the expected value


def test_dropout_test_mode_and_seed():
    x = np.random.default_rng(1).standard_normal((10, 20))
    out, _ = reg.dropout_forward(x, {"p": 0.5, "mode": "test"})
    np.testing.assert_array_equal(out, x)
    a, _ = reg.dropout_forward(x, {"p": 0.5, "mode": "train", "seed": 3})
    b, _ = reg.dropout_forward(x, {"p": 0.5, "mode": "train", "seed": 3})
    np.testing.assert_array_equal(a, b)


def test_dropout_backward_reuses_mask():
    x = np.random.default_rng(2).uniform(1.0, 2.0, (6, 8))
    dout = np.random.default_rng(3).standard_normal(x.shape)
    out, cache = reg.dropout_forward(x, {"p": 0.3, "mode": "train", "seed": 5})
    dx = reg.dropout_backward(dout, cache)
    np.testing.assert_allclose(dx, dout * out / x)  # out / x is the scaled mask


# ----------------------------------------------------------------------------- penalties


def test_penalty_values_and_gradients():
    ws = [np.array([[1.0, -2.0], [0.0, 3.0]]), np.array([-0.5, 0.0])]
    loss, grads = reg.l2_penalty(ws, 0.1)
    assert np.isclose(loss, 0.1 * (1 + 4 + 9 + 0.25))
    np.testing.assert_allclose(grads[0], 0.2 * ws[0])
    loss, grads = reg.l1_penalty(ws, 0.1)
    assert np.isclose(loss, 0.1 * (1 + 2 + 3 + 0.5))
    np.testing.assert_allclose(grads[1], [-0.1, 0.0])  # subgradient 0 at 0
    loss, grads = reg.elastic_net_penalty(ws, 0.1, 0.3)
    assert np.isclose(loss, 0.1 * (0.3 * 6.5 + 0.7 * 14.25))
    np.testing.assert_allclose(grads[0], 0.1 * (0.3 * np.sign(ws[0]) + 1.4 * ws[0]))


# ----------------------------------------------------------------------------- batch norm


def test_batchnorm_train_normalizes():
    rng = np.random.default_rng(4)
    x = rng.standard_normal((50, 3)) * [1.0, 5.0, 0.1] + [10.0, -3.0, 0.0]
    out, _ = reg.batchnorm_forward(x, np.ones(3), np.zeros(3), {"mode": "train"})
    np.testing.assert_allclose(out.mean(axis=0), 0.0, atol=1e-10)
    np.testing.assert_allclose(out.std(axis=0), 1.0, atol=1e-3)  # eps shifts it a little
    gamma, beta = np.array([1.0, 2.0, 3.0]), np.array([0.0, -1.0, 4.0])
    out, _ = reg.batchnorm_forward(x, gamma, beta, {"mode": "train"})
    np.testing.assert_allclose(out.mean(axis=0), beta, atol=1e-10)


def test_batchnorm_running_stats():
    x = np.array([[1.0, 2.0], [3.0, 6.0], [5.0, 4.0], [7.0, 0.0]])
    bn_param = {"mode": "train", "momentum": 0.8}
    reg.batchnorm_forward(x, np.ones(2), np.zeros(2), bn_param)
    # batch mean (4, 3); unbiased variance (20/3, 20/3)
    np.testing.assert_allclose(bn_param["running_mean"], 0.2 * np.array([4.0, 3.0]))
    np.testing.assert_allclose(bn_param["running_var"], 0.8 + 0.2 * 20 / 3)
    out, _ = reg.batchnorm_forward(x, np.ones(2), np.zeros(2), {**bn_param, "mode": "test"})
    np.testing.assert_allclose(out, (x - bn_param["running_mean"])
                               / np.sqrt(bn_param["running_var"] + 1e-5))


def test_batchnorm_backward_numerical():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((6, 4)) * 3 + 2
    gamma, beta = rng.uniform(0.5, 2.0, 4), rng.standard_normal(4)
    dout = rng.standard_normal(x.shape)
    _, cache = reg.batchnorm_forward(x, gamma, beta, {"mode": "train"})
    dx, dgamma, dbeta = reg.batchnorm_backward(dout, cache)

    def fx(a):
        return reg.batchnorm_forward(a, gamma, beta, {"mode": "train"})[0]

    def fg(g):
        return reg.batchnorm_forward(x, g, beta, {"mode": "train"})[0]

    def fb(b):
        return reg.batchnorm_forward(x, gamma, b, {"mode": "train"})[0]

    assert rel_error(dx, numerical_gradient(fx, x.copy(), dout)) < 1e-5
    assert rel_error(dgamma, numerical_gradient(fg, gamma.copy(), dout)) < 1e-5
    assert rel_error(dbeta, numerical_gradient(fb, beta.copy(), dout)) < 1e-5


# ----------------------------------------------------------------------------- early stopping


def test_early_stopping_sequence():
    es = reg.EarlyStopping(patience=2)
    assert [es.step(v) for v in [1.0, 0.8, 0.9, 0.7, 0.7, 0.75]] == [
        False, False, False, False, False, True
    ]
    assert es.best == 0.7 and es.best_step == 3  # equal loss is not an improvement


def test_early_stopping_min_delta():
    es = reg.EarlyStopping(patience=2, min_delta=0.1)
    assert [es.step(v) for v in [1.0, 0.95, 0.85, 0.8, 0.78]] == [
        False, False, False, False, True
    ]
    assert es.best == 0.85 and es.best_step == 2
