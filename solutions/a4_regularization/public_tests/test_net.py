"""Public tests for FullyConnectedNet: shapes and numerical gradient checks."""

import numpy as np
import pytest
import regularization as reg
from gradcheck import numerical_gradient


def test_param_shapes():
    net = reg.FullyConnectedNet([7, 6], 5, 4, normalization="batchnorm", seed=0)
    shapes = {k: v.shape for k, v in net.params.items()}
    assert shapes == {
        "W1": (5, 7), "b1": (7,), "gamma1": (7,), "beta1": (7,),
        "W2": (7, 6), "b2": (6,), "gamma2": (6,), "beta2": (6,),
        "W3": (6, 4), "b3": (4,),
    }


def test_initial_loss_is_log_num_classes():
    # tiny weights: all classes equally likely, loss = log(C)
    net = reg.FullyConnectedNet([20], 10, 5, weight_scale=1e-4, seed=0)
    X = np.random.default_rng(0).standard_normal((30, 10))
    y = np.random.default_rng(1).integers(0, 5, 30)
    loss, _ = net.loss(X, y)
    assert abs(loss - np.log(5)) < 1e-3
    assert net.loss(X).shape == (30, 5)


@pytest.mark.parametrize("normalization", [None, "batchnorm"])
@pytest.mark.parametrize("reg_strength", [0.0, 0.7])
def test_gradients_numerically(normalization, reg_strength):
    rng = np.random.default_rng(2)
    net = reg.FullyConnectedNet([6, 5], 4, 3, normalization=normalization, reg=reg_strength,
                                weight_scale=0.5, seed=3)
    for k in net.params:  # non-trivial biases / gamma / beta
        net.params[k] = net.params[k] + 0.2 * rng.standard_normal(net.params[k].shape)
    X = rng.standard_normal((8, 4))
    y = rng.integers(0, 3, 8)
    _, grads = net.loss(X, y)
    assert set(grads) == set(net.params)
    for k, p in net.params.items():
        num = numerical_gradient(lambda _: net.loss(X, y)[0], p)
        # atol: with batch norm the true gradient of b1, b2 is 0 (the mean is subtracted)
        np.testing.assert_allclose(grads[k], num, rtol=1e-5, atol=1e-7, err_msg=k)


def test_reg_adds_half_l2_of_weights():
    X = np.random.default_rng(4).standard_normal((5, 4))
    y = np.array([0, 1, 2, 0, 1])
    net = reg.FullyConnectedNet([6], 4, 3, weight_scale=0.3, seed=1)
    plain, _ = net.loss(X, y)
    with_reg, _ = reg.FullyConnectedNet([6], 4, 3, reg=0.5, weight_scale=0.3, seed=1).loss(X, y)
    w2 = sum(np.sum(net.params[k] ** 2) for k in ("W1", "W2"))
    assert np.isclose(with_reg - plain, 0.5 * 0.5 * w2)


def test_dropout_only_in_train_mode():
    X = np.random.default_rng(5).standard_normal((4, 6))
    net = reg.FullyConnectedNet([50], 6, 3, dropout=0.5, weight_scale=0.3, seed=2)
    np.testing.assert_array_equal(net.loss(X), net.loss(X))  # test mode: deterministic
    y = np.array([0, 1, 2, 0])
    a, _ = net.loss(X, y)
    b, _ = net.loss(X, y)
    assert a != b  # train mode: a new dropout mask each call
