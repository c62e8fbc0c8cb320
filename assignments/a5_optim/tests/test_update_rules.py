"""Public tests for the update rules in optim.py: values computed by hand, properties, and
convergence on a quadratic. The hidden tests compare with PyTorch over many steps, with other
hyperparameters and preloaded state."""

import numpy as np
import optim
import pytest

RULES = ["sgd", "sgd_momentum", "nesterov_momentum", "adagrad", "rmsprop", "adam"]


def test_sgd_first_step():
    w = np.array([1.0, -2.0])
    dw = np.array([0.5, 0.25])
    next_w, config = optim.sgd(w, dw, {"learning_rate": 0.1})
    np.testing.assert_allclose(next_w, [0.95, -2.025])
    assert config["learning_rate"] == 0.1


def test_sgd_momentum_two_steps_by_hand():
    w = np.array([1.0])
    cfg = {"learning_rate": 0.1, "momentum": 0.5}
    # step 1: velocity = 0.5*0 + 2 = 2, w = 1 - 0.1*2 = 0.8
    w, cfg = optim.sgd_momentum(w, np.array([2.0]), cfg)
    np.testing.assert_allclose(cfg["velocity"], [2.0])
    np.testing.assert_allclose(w, [0.8])
    # step 2: velocity = 0.5*2 + 1 = 2, w = 0.8 - 0.1*2 = 0.6
    w, cfg = optim.sgd_momentum(w, np.array([1.0]), cfg)
    np.testing.assert_allclose(cfg["velocity"], [2.0])
    np.testing.assert_allclose(w, [0.6])


def test_nesterov_two_steps_by_hand():
    w = np.array([1.0])
    cfg = {"learning_rate": 0.1, "momentum": 0.5}
    # step 1: velocity = 2, w = 1 - 0.1*(2 + 0.5*2) = 0.7
    w, cfg = optim.nesterov_momentum(w, np.array([2.0]), cfg)
    np.testing.assert_allclose(cfg["velocity"], [2.0])
    np.testing.assert_allclose(w, [0.7])
    # step 2: velocity = 0.5*2 + 1 = 2, w = 0.7 - 0.1*(1 + 0.5*2) = 0.5
    w, cfg = optim.nesterov_momentum(w, np.array([1.0]), cfg)
    np.testing.assert_allclose(cfg["velocity"], [2.0])
    np.testing.assert_allclose(w, [0.5])


def test_adagrad_two_steps_by_hand():
    w = np.array([0.0])
    cfg = {"learning_rate": 1.0, "epsilon": 1.0}
    # step 1: cache = 9, w = 0 - 3/(3 + 1) = -0.75  (epsilon outside the square root)
    w, cfg = optim.adagrad(w, np.array([3.0]), cfg)
    np.testing.assert_allclose(cfg["cache"], [9.0])
    np.testing.assert_allclose(w, [-0.75])
    # step 2: cache = 9 + 16 = 25, w = -0.75 - 4/(5 + 1)
    w, cfg = optim.adagrad(w, np.array([4.0]), cfg)
    np.testing.assert_allclose(cfg["cache"], [25.0])
    np.testing.assert_allclose(w, [-0.75 - 4.0 / 6.0])


def test_rmsprop_first_step_by_hand():
    cfg = {"learning_rate": 0.1, "decay_rate": 0.75, "epsilon": 1.0}
    # cache = 0.75*0 + 0.25*16 = 4, w = 1 - 0.1*4/(2 + 1)
    w, cfg = optim.rmsprop(np.array([1.0]), np.array([4.0]), cfg)
    np.testing.assert_allclose(cfg["cache"], [4.0])
    np.testing.assert_allclose(w, [1.0 - 0.4 / 3.0])


def test_adam_first_step_moves_by_learning_rate():
    # With bias correction, m_hat = dw and v_hat = dw**2 on the first step, so each
    # coordinate moves by learning_rate * dw/|dw| (up to epsilon), whatever the betas.
    w = np.array([1.0, 2.0, 3.0])
    dw = np.array([1e-3, -50.0, 2.0])
    cfg = {"learning_rate": 0.01, "beta1": 0.8, "beta2": 0.9, "epsilon": 1e-12}
    next_w, cfg = optim.adam(w, dw, cfg)
    np.testing.assert_allclose(next_w, w - 0.01 * np.sign(dw), rtol=1e-9)
    assert cfg["t"] == 1
    np.testing.assert_allclose(cfg["m"], 0.2 * dw)  # m itself, not m_hat
    np.testing.assert_allclose(cfg["v"], 0.1 * dw**2)


def test_adam_second_step_by_hand():
    cfg = {"learning_rate": 0.1, "beta1": 0.5, "beta2": 0.75, "epsilon": 0.0}
    w, cfg = optim.adam(np.array([0.0]), np.array([2.0]), cfg)
    w, cfg = optim.adam(w, np.array([4.0]), cfg)
    # m = 0.5*1 + 0.5*4 = 2.5, v = 0.75*1 + 0.25*16 = 4.75, t = 2
    m_hat, v_hat = 2.5 / (1 - 0.5**2), 4.75 / (1 - 0.75**2)
    assert cfg["t"] == 2
    np.testing.assert_allclose(w, [-0.1 - 0.1 * m_hat / np.sqrt(v_hat)])


@pytest.mark.parametrize("rule", RULES)
def test_config_none_fills_defaults(rule):
    w = np.ones(3)
    _, config = getattr(optim, rule)(w, np.ones(3), None)
    assert "learning_rate" in config
    expected = {"sgd_momentum": {"momentum": 0.9}, "nesterov_momentum": {"momentum": 0.9},
                "adagrad": {"epsilon": 1e-10}, "rmsprop": {"decay_rate": 0.99, "epsilon": 1e-8},
                "adam": {"beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8}}.get(rule, {})
    for key, value in expected.items():
        assert config[key] == value, key


@pytest.mark.parametrize("rule", RULES)
def test_inputs_not_modified(rule):
    rng = np.random.default_rng(0)
    w, dw = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    w0, dw0 = w.copy(), dw.copy()
    config = None
    for _ in range(2):
        _, config = getattr(optim, rule)(w, dw, config)
    np.testing.assert_array_equal(w, w0, err_msg=f"{rule} modified w in place")
    np.testing.assert_array_equal(dw, dw0, err_msg=f"{rule} modified dw in place")


@pytest.mark.parametrize("rule, lr", [("sgd", 0.1), ("sgd_momentum", 0.02),
                                      ("nesterov_momentum", 0.02), ("adagrad", 0.5),
                                      ("rmsprop", 0.01), ("adam", 0.05)])
def test_converges_on_a_quadratic(rule, lr):
    # L(w) = 0.5 * sum(a * (w - c)**2) with curvatures a of different sizes.
    a = np.array([1.0, 3.0, 8.0])
    c = np.array([1.0, -2.0, 0.5])
    w = np.zeros(3)
    config = {"learning_rate": lr}
    for _ in range(2000):
        w, config = getattr(optim, rule)(w, a * (w - c), config)
    # RMSProp and Adam keep a step of about lr near the optimum, hence the loose tolerance.
    np.testing.assert_allclose(w, c, atol=5e-2)
