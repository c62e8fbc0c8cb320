"""Hidden tests for the a5_optim learning-rate schedules against torch.optim.lr_scheduler.

Each test compares the whole sequence lr(0), lr(1), ... with the learning rate a torch
scheduler sets for step t (read with get_last_lr() before the t-th scheduler.step()).
"""

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch

from grader.testing import assert_close

# A few ulps of drift: torch's schedulers update the rate recursively (lr *= factor).
RTOL = 1e-9


def _torch_lrs(lr0: float, n: int, make: Callable[[torch.optim.Optimizer], Any]) -> np.ndarray:
    """The learning rates a torch scheduler gives steps 0..n-1."""
    p = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.SGD([p], lr=lr0)
    sched = make(opt)
    lrs = []
    for _ in range(n):
        lrs.append(sched.get_last_lr()[0])
        opt.step()  # torch warns when the scheduler steps before the optimizer
        sched.step()
    return np.array(lrs)


def _student_lrs(fn: Callable[..., float], lr0: float, n: int, **kwargs: Any) -> np.ndarray:
    return np.array([float(fn(lr0, t, **kwargs)) for t in range(n)])


@pytest.mark.points(2)
def test_step_decay_matches_steplr(student, rng):
    """step_decay: lr(t) for t = 0..29 equals torch StepLR (gamma given and default 0.1)"""
    lr0, step_size = float(rng.uniform(0.05, 1.0)), int(rng.integers(2, 6))
    for kwargs in ({"gamma": float(rng.uniform(0.3, 0.8))}, {}):
        got = _student_lrs(student.step_decay, lr0, 30, step_size=step_size, **kwargs)
        ref = _torch_lrs(lr0, 30, lambda o, kw=kwargs: torch.optim.lr_scheduler.StepLR(
            o, step_size=step_size, **kw))
        assert_close(got, ref, fn="step_decay", rtol=RTOL, atol=1e-15,
                     what=f"[step_decay(lr0, t, step_size={step_size}, **{kwargs}) "
                          "for t in range(30)]")


@pytest.mark.points(2)
def test_linear_decay_matches_linearlr(student, rng):
    """linear_decay: lr(t) equals torch LinearLR(1.0 -> end_factor), constant after total_steps"""
    lr0, total = float(rng.uniform(0.05, 1.0)), int(rng.integers(5, 12))
    n = total + 6
    for kwargs in ({"end_factor": float(rng.uniform(0.05, 0.5))}, {}):
        got = _student_lrs(student.linear_decay, lr0, n, total_steps=total, **kwargs)
        end = kwargs.get("end_factor", 0.0)
        ref = _torch_lrs(lr0, n, lambda o, e=end: torch.optim.lr_scheduler.LinearLR(
            o, start_factor=1.0, end_factor=e, total_iters=total))
        assert_close(got, ref, fn="linear_decay", rtol=RTOL, atol=1e-12 * lr0,
                     what=f"[linear_decay(lr0, t, total_steps={total}, **{kwargs}) "
                          f"for t in range({n})]")


@pytest.mark.points(1)
def test_inverse_sqrt_matches_lambdalr(student, rng):
    """inverse_sqrt: lr(t) = lr0 / sqrt(t + 1) for t = 0..19 (torch LambdaLR)"""
    lr0 = float(rng.uniform(0.05, 1.0))
    got = _student_lrs(student.inverse_sqrt, lr0, 20)
    ref = _torch_lrs(lr0, 20, lambda o: torch.optim.lr_scheduler.LambdaLR(
        o, lambda t: 1.0 / math.sqrt(t + 1)))
    assert_close(got, ref, fn="inverse_sqrt", rtol=RTOL, atol=1e-15,
                 what="[inverse_sqrt(lr0, t) for t in range(20)]")


@pytest.mark.points(1)
def test_linear_warmup_matches_lambdalr(student, rng):
    """linear_warmup: lr0 * (t + 1) / warmup_steps during warmup, then lr0 (torch LambdaLR)"""
    lr0, warmup = float(rng.uniform(0.05, 1.0)), int(rng.integers(3, 9))
    n = warmup + 5
    got = _student_lrs(student.linear_warmup, lr0, n, warmup_steps=warmup)
    ref = _torch_lrs(lr0, n, lambda o: torch.optim.lr_scheduler.LambdaLR(
        o, lambda t: (t + 1) / warmup if t < warmup else 1.0))
    assert_close(got, ref, fn="linear_warmup", rtol=RTOL, atol=1e-15,
                 what=f"[linear_warmup(lr0, t, warmup_steps={warmup}) for t in range({n})]")
