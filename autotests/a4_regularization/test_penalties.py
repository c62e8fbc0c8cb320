"""Hidden tests: L2, L1 and elastic-net penalties against torch autograd (float64).

References come from the test's arrays; the student gets copies. L1's kink (W == 0) is charged
in test_l1_penalty_matches_autograd_with_zeros only, in-place changes in
test_penalties_do_not_modify_weights only.
"""

import numpy as np
import pytest
import torch

from grader.testing import assert_close, assert_inputs_unchanged, assert_true


def _weights(rng: np.random.Generator, with_zeros: bool = False) -> list[np.ndarray]:
    """Three weight arrays of different shapes; optionally with exact zeros (L1's kink)."""
    ws = [rng.standard_normal(s) for s in [(4, 3), (3, 5), (5,)]]
    if with_zeros:
        for w in ws:
            w.reshape(-1)[rng.choice(w.size, size=2, replace=False)] = 0.0
    return ws


def _reference(ws: list[np.ndarray], penalty) -> tuple[float, list[np.ndarray]]:
    """Loss and gradients of penalty(tensors) by torch autograd."""
    ts = [torch.tensor(w, requires_grad=True) for w in ws]
    loss = penalty(ts)
    loss.backward()
    return loss.item(), [t.grad.numpy() for t in ts]


def _copies(ws: list[np.ndarray]) -> list[np.ndarray]:
    return [w.copy() for w in ws]


def _check(fn: str, got, ws, expected_loss, expected_grads) -> None:
    loss, grads = got
    inputs = {f"weights[{i}]": w for i, w in enumerate(ws)}
    assert_close(loss, expected_loss, fn=fn, what="loss", inputs=inputs)
    assert_true(isinstance(grads, list | tuple) and len(grads) == len(ws),
                f"{fn} must return a list of {len(ws)} gradients, one per weight array")
    for i, (g, e) in enumerate(zip(grads, expected_grads, strict=True)):
        assert_close(g, e, fn=fn, what=f"grads[{i}]", inputs=inputs)


@pytest.mark.points(2)
def test_l2_penalty_matches_autograd(student, rng):
    """l2_penalty: loss = reg * sum W^2 and gradient 2 * reg * W"""
    ws, reg = _weights(rng), float(rng.uniform(0.1, 2.0))
    want = _reference(ws, lambda ts: reg * sum((t**2).sum() for t in ts))
    got = student.l2_penalty(_copies(ws), reg)
    _check("l2_penalty", got, ws, *want)


@pytest.mark.points(2)
def test_l1_penalty_matches_autograd_with_zeros(student, rng):
    """l1_penalty: loss = reg * sum |W|, gradient reg * sign(W) (0 where W == 0)"""
    ws, reg = _weights(rng, with_zeros=True), float(rng.uniform(0.1, 2.0))
    want = _reference(ws, lambda ts: reg * sum(t.abs().sum() for t in ts))
    got = student.l1_penalty(_copies(ws), reg)
    _check("l1_penalty", got, ws, *want)


@pytest.mark.points(1)
def test_elastic_net_penalty_matches_autograd(student, rng):
    """elastic_net_penalty: reg * (l1_ratio * sum|W| + (1 - l1_ratio) * sum W^2) and gradient"""
    ws, reg = _weights(rng), float(rng.uniform(0.1, 2.0))
    l1_ratio = float(rng.uniform(0.2, 0.8))
    want = _reference(
        ws,
        lambda ts: reg * sum(l1_ratio * t.abs().sum() + (1 - l1_ratio) * (t**2).sum() for t in ts),
    )
    got = student.elastic_net_penalty(_copies(ws), reg, l1_ratio)
    _check("elastic_net_penalty", got, ws, *want)


@pytest.mark.points(1)
def test_penalties_do_not_modify_weights(student, rng):
    """l2_penalty, l1_penalty, elastic_net_penalty leave the weight arrays unchanged"""
    ws, reg = _weights(rng), float(rng.uniform(0.1, 2.0))
    for fn, extra in (("l2_penalty", ()), ("l1_penalty", ()), ("elastic_net_penalty", (0.5,))):
        getattr(student, fn)(ws, reg, *extra)
        assert_inputs_unchanged(student, fn=fn, inputs={"weights": ws})
