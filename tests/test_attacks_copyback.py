"""Red-team attacks on the argument copy-back, graded through the real pipeline.

Copy-back used to write every changed argument into the hidden test's objects, and suites built
their torch references from those objects afterwards: writing the answer into an input moved the
reference onto the student's output. Now only declared in/out parameters come back, references
are computed before the call, and an in-place change costs the one in-place test.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import failed_tests, grade_folder, solution_text
from tests.variants.mutate import Replace, apply

pytestmark = pytest.mark.sandbox

FORWARD_ONLY_NET = '''
def two_layer_net(X, params, y=None):
    h, _ = sigmoid_forward(X @ params["W1"] + params["b1"])
    p = sigmoid_forward(h @ params["W2"] + params["b2"])[0][:, 0]
    if y is None:
        return p
    {write}
    loss = -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))
    return float(loss), {{k: np.zeros_like(v) for k, v in params.items()}}
'''

# Output beta, gradients 0: right only if the reference believes gamma == 0 and dout == 0.
ZEROING_BATCHNORM_FORWARD = '''
def batchnorm_forward(x, gamma, beta, bn_param):
    d = x.shape[1]
    bn_param.setdefault("running_mean", np.zeros(d))
    bn_param.setdefault("running_var", np.ones(d))
    {write}
    return np.zeros_like(x) + beta, (x, gamma)
'''
ZEROING_BATCHNORM_BACKWARD = '''
def batchnorm_backward(dout, cache):
    x, gamma = cache
    {write}
    return np.zeros_like(dout), np.zeros_like(gamma), np.zeros_like(gamma)
'''

CS231N_CROSS_ENTROPY = '''
def cross_entropy_loss(scores, y):
    n = scores.shape[0]
    {shift}
    logp = scores - np.log(np.sum(np.exp(scores), axis=1, keepdims=True))
    loss = -np.mean(logp[np.arange(n), y])
    dscores = np.exp(logp)
    dscores[np.arange(n), y] -= 1.0
    return float(loss), dscores / n
'''


def _grade_pair(tmp: Path, assignment: str, attack: list, control: list) -> tuple[dict, dict]:
    """Grade the solution with ``attack`` and with ``control`` changes in one batch."""
    batch = tmp / "batch"
    batch.mkdir()
    solution = solution_text(assignment)
    (batch / "attack.py").write_text(apply(solution, attack))
    (batch / "control.py").write_text(apply(solution, control))
    results = grade_folder(tmp, assignment, batch)
    for result in results.values():
        assert result["status"] == "ok", result["error"]
    return results["attack"], results["control"]


def _points(result: dict, test_id: str) -> float:
    return next(t["max_score"] for t in result["tests"] if t["test_id"] == test_id)


def test_writing_p_into_y_gains_nothing_over_a_forward_only_net(tmp_path: Path) -> None:
    attack, control = _grade_pair(
        tmp_path, "a1_backprop",
        [Replace("two_layer_net", FORWARD_ONLY_NET.format(write="y[:] = p"))],
        [Replace("two_layer_net", FORWARD_ONLY_NET.format(write="pass"))])
    assert attack["score"] <= control["score"]
    assert {"test_two_layer_net_output_layer_grads",
            "test_two_layer_net_hidden_layer_grads"} <= failed_tests(attack)


def test_zeroing_gamma_and_dout_gains_nothing_over_a_plain_wrong_batchnorm(
        tmp_path: Path) -> None:
    attack, control = _grade_pair(
        tmp_path, "a4_regularization",
        [Replace("batchnorm_forward", ZEROING_BATCHNORM_FORWARD.format(write="gamma[:] = 0.0")),
         Replace("batchnorm_backward", ZEROING_BATCHNORM_BACKWARD.format(write="dout[:] = 0.0"))],
        [Replace("batchnorm_forward", ZEROING_BATCHNORM_FORWARD.format(write="pass")),
         Replace("batchnorm_backward", ZEROING_BATCHNORM_BACKWARD.format(write="pass"))])
    assert attack["score"] <= control["score"]
    assert {"test_batchnorm_train_forward_matches_torch",
            "test_batchnorm_backward_dx_matches_autograd",
            "test_batchnorm_backward_dgamma_dbeta_match_autograd"} <= failed_tests(attack)


@pytest.mark.parametrize("shift", ["scores -= np.max(scores, axis=1, keepdims=True)",
                                   "scores[:] = scores - scores.max(axis=1, keepdims=True)"])
def test_an_in_place_shift_costs_only_the_in_place_test(tmp_path: Path, shift: str) -> None:
    attack, control = _grade_pair(
        tmp_path, "a2_softmax",
        [Replace("cross_entropy_loss", CS231N_CROSS_ENTROPY.format(shift=shift))],
        [Replace("cross_entropy_loss", CS231N_CROSS_ENTROPY.format(
            shift="scores = scores - np.max(scores, axis=1, keepdims=True)"))])
    assert control["score"] == control["max_score"], sorted(failed_tests(control))
    assert failed_tests(attack) == {"test_no_function_modifies_its_inputs"}
    assert attack["score"] == attack["max_score"] - _points(
        attack, "test_no_function_modifies_its_inputs")
