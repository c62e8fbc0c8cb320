"""Hidden tests: max and average pooling against F.max_pool2d / F.avg_pool2d (float64).

torch's max_pool2d backward on the CPU sends each window's gradient to the first maximal
element in row-major window order, which is the contract's tie rule. References are computed
from copies of the inputs made before the student's code runs.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch.nn.functional as F

from grader.testing import assert_close, to_numpy, to_torch

TORCH_POOL = {"max": F.max_pool2d, "avg": F.avg_pool2d}


def pool_reference(kind: str, x: np.ndarray, pool_param: dict[str, int],
                   rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(out, dout, dx) of torch's pooling on x with a random upstream gradient."""
    xt = to_torch(x, requires_grad=True)
    out = TORCH_POOL[kind](xt, (pool_param["pool_height"], pool_param["pool_width"]),
                           pool_param["stride"])
    dout = rng.standard_normal(tuple(out.shape))
    out.backward(to_torch(dout))
    return to_numpy(out.detach()), dout, to_numpy(xt.grad)


def pool_param(ph: int, pw: int, stride: int) -> dict[str, int]:
    return {"pool_height": ph, "pool_width": pw, "stride": stride}


def described(name: str, param: dict[str, int]) -> str:
    """``name`` with the pool size and stride, which the shapes alone do not show."""
    return (f"{name} ({param['pool_height']} x {param['pool_width']} pool, "
            f"stride {param['stride']})")


def non_overlapping(rng: np.random.Generator) -> tuple[tuple[int, ...], dict[str, int]]:
    """A 2 x 3 pool with stride 3 (no overlap, gaps between rows) on an input whose last rows
    and columns do not fill a window (floor); C > 1."""
    # (h - 2) % 3 == 2 and (w - 3) % 3 == 2: the last two rows and columns are in no window;
    # H' = a and W' = b differ, so a swap of H and W always shows
    a, b = (int(v) for v in rng.permutation([2, 3, 4])[:2])
    return (2, int(rng.integers(2, 4)), 3 * a + 1, 3 * b + 2), pool_param(2, 3, 3)


def overlapping(rng: np.random.Generator) -> tuple[tuple[int, ...], dict[str, int]]:
    """A 3 x 2 pool with stride 1 (windows overlap in both directions); C > 1; H' != W'."""
    h = int(rng.integers(4, 7))
    w = int(rng.choice([v for v in range(5, 8) if v - 1 != h - 2]))
    return (2, int(rng.integers(2, 4)), h, w), pool_param(3, 2, 1)


def run_pool(student: Any, kind: str, x: np.ndarray, param: dict[str, int],
             dout: np.ndarray) -> tuple[Any, Any]:
    out, cache = getattr(student, f"{kind}_pool_forward")(x, param)
    return out, getattr(student, f"{kind}_pool_backward")(dout, cache)


def check_forward(student: Any, kind: str, x: np.ndarray, param: dict[str, int],
                  rng: np.random.Generator) -> None:
    want, _, _ = pool_reference(kind, x, param, rng)
    out, _ = getattr(student, f"{kind}_pool_forward")(x, param)
    assert_close(out, want, fn=f"{kind}_pool_forward", what=described("out", param),
                 inputs={"x": x})


def check_backward(student: Any, kind: str, x: np.ndarray, param: dict[str, int],
                   rng: np.random.Generator) -> None:
    _, dout, want = pool_reference(kind, x, param, rng)
    _, dx = run_pool(student, kind, x, param, dout)
    assert_close(dx, want, fn=f"{kind}_pool_backward", what=described("dx", param),
                 inputs={"dout": dout, "x": x})


# --- max pooling ---------------------------------------------------------------------------


@pytest.mark.points(2)
def test_max_pool_forward_matches_torch(student, rng):
    """max_pool_forward: non-square pool with stride, incomplete last windows dropped"""
    for shape, param in (non_overlapping(rng), overlapping(rng)):
        check_forward(student, "max", rng.standard_normal(shape), param, rng)


@pytest.mark.points(2)
def test_max_pool_backward_matches_torch(student, rng):
    """max_pool_backward: each window's gradient goes to its maximum (distinct values)"""
    shape, param = non_overlapping(rng)
    check_backward(student, "max", rng.standard_normal(shape), param, rng)


@pytest.mark.points(3)
def test_max_pool_backward_ties_go_to_first_maximum(student, rng):
    """max_pool_backward: with ties, only the FIRST maximal element (row-major order of the
    window) gets the gradient"""
    shape, param = non_overlapping(rng)
    x = rng.integers(0, 3, size=shape).astype(np.float64)  # many ties among 0, 1, 2
    x[0, 0, :2, :3] = 2.0  # at least one window that is all one value
    check_backward(student, "max", x, param, rng)


@pytest.mark.points(2)
def test_max_pool_backward_overlapping_windows_add_up(student, rng):
    """max_pool_backward: stride < pool size, an input that is the maximum of several
    windows gets the sum of their gradients"""
    shape, param = overlapping(rng)
    check_backward(student, "max", rng.standard_normal(shape), param, rng)


# --- average pooling -----------------------------------------------------------------------


@pytest.mark.points(2)
def test_avg_pool_forward_matches_torch(student, rng):
    """avg_pool_forward: mean of each pool_height x pool_width window, floor at the end"""
    for shape, param in (non_overlapping(rng), overlapping(rng)):
        check_forward(student, "avg", rng.standard_normal(shape), param, rng)


@pytest.mark.points(2)
def test_avg_pool_backward_matches_torch(student, rng):
    """avg_pool_backward: dout / (pool_height * pool_width) over each window, 0 outside"""
    shape, param = non_overlapping(rng)
    check_backward(student, "avg", rng.standard_normal(shape), param, rng)


@pytest.mark.points(2)
def test_avg_pool_backward_overlapping_windows_add_up(student, rng):
    """avg_pool_backward: stride < pool size, an input in several windows gets the sum of
    their shares"""
    shape, param = overlapping(rng)
    check_backward(student, "avg", rng.standard_normal(shape), param, rng)


@pytest.mark.points(1)
def test_pooling_batch_of_one(student, rng):
    """max/avg pooling forward and backward on a batch of one image"""
    param = pool_param(2, 2, 2)
    for kind in ("max", "avg"):
        x = rng.standard_normal((1, 3, 5, 6))
        want, dout, want_dx = pool_reference(kind, x, param, rng)
        out, dx = run_pool(student, kind, x, param, dout)
        assert_close(out, want, fn=f"{kind}_pool_forward", what=described("out", param),
                     inputs={"x": x})
        assert_close(dx, want_dx, fn=f"{kind}_pool_backward", what=described("dx", param),
                     inputs={"dout": dout, "x": x})
