"""Hidden tests: batch normalization against torch.nn.functional.batch_norm (float64).

Our momentum m weights the OLD running value (running = m*running + (1-m)*stat); torch's
momentum weights the new one, so the torch reference uses momentum = 1 - m.

Whether batchnorm_backward is analytic is measured once (conftest.py) and charged in
test_batchnorm_backward_is_analytic; the tests of its values are not graded without it.

bn_param is the one in/out argument (declared in conftest.py): the student's updates to it are
copied back. References are computed before the student's call; in-place changes of x, gamma,
beta and dout are charged in test_batchnorm_does_not_modify_inputs only.
"""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from grader.testing import assert_close, assert_inputs_unchanged, assert_true


def _inputs(rng: np.random.Generator, n: int = 6, d: int = 5):
    """x with per-feature shifts and scales (so missing centring or scaling shows), gamma != 1."""
    x = rng.standard_normal((n, d)) * rng.uniform(0.5, 3.0, d) + rng.uniform(-3.0, 3.0, d)
    gamma = rng.uniform(0.5, 2.0, d)
    beta = rng.standard_normal(d)
    return x, gamma, beta


def _t(a: np.ndarray, grad: bool = False) -> torch.Tensor:
    return torch.tensor(a, dtype=torch.float64, requires_grad=grad)


@pytest.mark.points(2)
def test_batchnorm_train_forward_matches_torch(student, rng):
    """batchnorm_forward (train): output normalized with batch mean and biased variance"""
    x, gamma, beta = _inputs(rng)
    eps = float(rng.choice([1e-5, 1e-3]))
    ref = F.batch_norm(_t(x), None, None, _t(gamma), _t(beta), training=True, eps=eps)
    out, _ = student.batchnorm_forward(x, gamma, beta, {"mode": "train", "eps": eps})
    assert_close(out, ref.numpy(), fn="batchnorm_forward", what="train-mode output",
                 inputs={"x": x, "gamma": gamma, "beta": beta})


@pytest.mark.points(1)
def test_batchnorm_defaults(student, rng):
    """batchnorm_forward: eps 1e-5, momentum 0.9, running stats created as zeros / ones"""
    x, gamma, beta = _inputs(rng, n=4)
    x = x * 0.05  # small variance: eps = 1e-5 vs another default shows at rtol 1e-6
    bn_param = {"mode": "train"}
    rm, rv = torch.zeros(x.shape[1], dtype=torch.float64), torch.ones(x.shape[1],
                                                                       dtype=torch.float64)
    ref = F.batch_norm(_t(x), rm, rv, _t(gamma), _t(beta), training=True, momentum=0.1, eps=1e-5)
    out, _ = student.batchnorm_forward(x, gamma, beta, bn_param)
    inputs = {"x": x, "gamma": gamma, "beta": beta}
    assert_close(out, ref.numpy(), fn="batchnorm_forward", what="output with default eps",
                 inputs=inputs)
    for key, want in [("running_mean", rm), ("running_var", rv)]:
        assert_true(key in bn_param, f"batchnorm_forward must store bn_param['{key}'] "
                    "(created as zeros / ones of shape (D,) when absent)")
        assert_close(bn_param[key], want.numpy(), fn="batchnorm_forward",
                     what=f"bn_param['{key}'] after one step with the default momentum 0.9",
                     inputs=inputs)


def _running_stats_after_steps(student, rng):
    """Three train steps with N=4 on one bn_param; returns (bn_param, torch rm, torch rv)."""
    d = 5
    m = float(rng.uniform(0.6, 0.85))  # away from 0.5 so that m vs 1-m shows
    eps = 1e-5
    rm0, rv0 = rng.standard_normal(d), rng.uniform(0.5, 2.0, d)
    bn_param = {"mode": "train", "momentum": m, "eps": eps,
                "running_mean": rm0.copy(), "running_var": rv0.copy()}
    rm, rv = _t(rm0), _t(rv0)
    for _ in range(3):
        x, gamma, beta = _inputs(rng, n=4, d=d)
        F.batch_norm(_t(x), rm, rv, _t(gamma), _t(beta), training=True, momentum=1 - m, eps=eps)
        student.batchnorm_forward(x, gamma, beta, bn_param)
    return bn_param, rm.numpy(), rv.numpy(), m


@pytest.mark.points(1)
def test_batchnorm_running_mean_after_steps(student, rng):
    """batchnorm_forward: running_mean = m * running_mean + (1 - m) * batch mean"""
    bn_param, rm, _, m = _running_stats_after_steps(student, rng)
    assert_close(bn_param["running_mean"], rm, fn="batchnorm_forward",
                 what=f"bn_param['running_mean'] after 3 train steps (momentum={m:.3f}, N=4)")


@pytest.mark.points(2)
def test_batchnorm_running_var_is_unbiased(student, rng):
    """batchnorm_forward: running_var tracks the UNBIASED batch variance (N - 1)"""
    bn_param, _, rv, m = _running_stats_after_steps(student, rng)
    assert_close(bn_param["running_var"], rv, fn="batchnorm_forward",
                 what=f"bn_param['running_var'] after 3 train steps (momentum={m:.3f}, N=4)")


@pytest.mark.points(2)
def test_batchnorm_test_mode_uses_running_stats(student, rng):
    """batchnorm_forward (test): normalizes with the running statistics, leaves them as is"""
    x, gamma, beta = _inputs(rng)
    d = x.shape[1]
    rm0, rv0 = rng.standard_normal(d), rng.uniform(0.5, 2.0, d)
    eps = 1e-3
    bn_param = {"mode": "test", "eps": eps, "momentum": 0.8,
                "running_mean": rm0.copy(), "running_var": rv0.copy()}
    ref = F.batch_norm(_t(x), _t(rm0), _t(rv0), _t(gamma), _t(beta), training=False, eps=eps)
    out, _ = student.batchnorm_forward(x, gamma, beta, bn_param)
    assert_close(out, ref.numpy(), fn="batchnorm_forward", what="test-mode output",
                 inputs={"x": x, "gamma": gamma, "beta": beta})
    assert_close(bn_param["running_mean"], rm0, fn="batchnorm_forward",
                 what="bn_param['running_mean'] after a test-mode call (must not change)")
    assert_close(bn_param["running_var"], rv0, fn="batchnorm_forward",
                 what="bn_param['running_var'] after a test-mode call (must not change)")


def _backward(student, rng):
    x, gamma, beta = _inputs(rng, n=7, d=4)
    dout = rng.standard_normal(x.shape)
    xt, gt, bt = _t(x, True), _t(gamma, True), _t(beta, True)
    F.batch_norm(xt, None, None, gt, bt, training=True, eps=1e-5).backward(_t(dout))
    want = (xt.grad.numpy(), gt.grad.numpy(), bt.grad.numpy())
    _, cache = student.batchnorm_forward(x, gamma, beta, {"mode": "train"})
    got = student.batchnorm_backward(dout, cache)
    assert_true(isinstance(got, list | tuple) and len(got) == 3,
                "batchnorm_backward must return (dx, dgamma, dbeta)")
    return got, want, {"dout": dout, "x": x, "gamma": gamma}


@pytest.mark.points(1)
@pytest.mark.usefixtures("analytic_batchnorm_backward")
def test_batchnorm_backward_dx_matches_autograd(student, rng):
    """batchnorm_backward: dx equals autograd's (mean and variance depend on every x)"""
    got, want, inputs = _backward(student, rng)
    assert_close(got[0], want[0], fn="batchnorm_backward", what="dx", inputs=inputs)


@pytest.mark.points(1)
@pytest.mark.usefixtures("analytic_batchnorm_backward")
def test_batchnorm_backward_dgamma_dbeta_match_autograd(student, rng):
    """batchnorm_backward: dgamma = sum dout * x_hat, dbeta = sum dout"""
    got, want, inputs = _backward(student, rng)
    assert_close(got[1], want[1], fn="batchnorm_backward", what="dgamma", inputs=inputs)
    assert_close(got[2], want[2], fn="batchnorm_backward", what="dbeta", inputs=inputs)


@pytest.mark.points(1)
def test_batchnorm_backward_is_analytic(batchnorm_backward_cost, record_property):
    """batchnorm_backward: analytic, not finite differences of the forward (its CPU time,
    measured by the kernel, stays within a generous multiple of a reference backward's)"""
    cost = batchnorm_backward_cost
    if cost.error is not None:
        raise cost.error
    record_property("output", f"batchnorm_backward took {cost.measured.describe()}")
    assert_true(not cost.numeric, cost.message())


@pytest.mark.points(1)
def test_batchnorm_does_not_modify_inputs(student, rng):
    """batchnorm_forward / batchnorm_backward leave x, gamma, beta and dout unchanged"""
    x, gamma, beta = _inputs(rng)
    dout = rng.standard_normal(x.shape)
    _, cache = student.batchnorm_forward(x, gamma, beta, {"mode": "train"})
    assert_inputs_unchanged(student, fn="batchnorm_forward",
                            inputs={"x": x, "gamma": gamma, "beta": beta})
    student.batchnorm_backward(dout, cache)
    assert_inputs_unchanged(student, fn="batchnorm_backward", inputs={"dout": dout})
