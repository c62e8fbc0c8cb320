"""The contract's in/out parameters for a4 (only these in-place changes reach the tests), and
the measured check that batchnorm_backward is analytic, shared by the tests of its values."""

import zlib
from dataclasses import dataclass

import numpy as np
import pytest

from grader.grading.proxy import StudentError
from grader.speed import CpuComparison, Run, compare_cpu
from grader.testing import assert_close


@pytest.fixture(scope="session", autouse=True)
def _inout(student):
    student.declare_inout("batchnorm_forward", bn_param=3)


# --- batch norm backward: analytic, or finite differences of the forward? -------------------
# Measured, not asked: the worker's CPU time for batchnorm_backward (counted by the kernel)
# against a reference analytic backward on the same inputs in the trusted process
# (grader.speed). An analytic backward costs about one pass over x; finite differences cost one
# or two forward passes per perturbed input element (N * D of them) or per row (N). With
# x (256, 32) the honest backwards measured 4-6x the reference (most of it receiving and sending
# the arrays), a per-row Python loop over the analytic formula 8x; finite differences per row
# (features are independent) 190-200x, per element 4700-5200x (tests/test_measured_verdicts.py).
ANALYTIC_SHAPE = (256, 32)
ANALYTIC_REPEATS = 3
MAX_BACKWARD_CPU_RATIO = 40.0
ANALYTIC_TEST = "test_batchnorm_backward_is_analytic"


def reference_batchnorm_backward(dout: np.ndarray, x: np.ndarray, gamma: np.ndarray,
                                 eps: float = 1e-5) -> tuple[np.ndarray, ...]:
    n = x.shape[0]
    x_hat = (x - x.mean(axis=0)) / np.sqrt(x.var(axis=0) + eps)
    dx_hat = dout * gamma
    dx = (n * dx_hat - dx_hat.sum(axis=0) - x_hat * (dx_hat * x_hat).sum(axis=0)) \
        / (n * np.sqrt(x.var(axis=0) + eps))
    return dx, (dout * x_hat).sum(axis=0), dout.sum(axis=0)


@dataclass(frozen=True)
class BackwardCost:
    """The measurement, or why there is none (the student's forward or backward failed)."""

    measured: CpuComparison | None
    error: Exception | None

    @property
    def numeric(self) -> bool:
        return self.measured is not None and self.measured.ratio > MAX_BACKWARD_CPU_RATIO

    def message(self) -> str:
        n, d = ANALYTIC_SHAPE
        return (f"batchnorm_backward(dout: ({n}, {d}) float64, cache of a train-mode forward) "
                f"took {self.measured.describe()}, over the {MAX_BACKWARD_CPU_RATIO:g}x "
                "allowed: that is the cost of finite differences (forward passes per perturbed "
                "input), not of a backward pass. Derive dx, dgamma and dbeta with the chain rule "
                "through x_hat, the batch mean and the batch variance (see the docstring). The "
                "points of the backward's values (dx, dgamma/dbeta, the net's batch-norm "
                "gradients) need an analytic backward.")


@pytest.fixture(scope="session")
def batchnorm_backward_cost(student, run_seed: int) -> BackwardCost:
    """batchnorm_backward's CPU time against the reference's, measured once per run."""
    rng = np.random.default_rng([run_seed, zlib.crc32(ANALYTIC_TEST.encode())])
    n, d = ANALYTIC_SHAPE
    runs = []
    try:
        for _ in range(ANALYTIC_REPEATS):
            x = rng.standard_normal((n, d)) * rng.uniform(0.5, 3.0, d) + rng.uniform(-3, 3, d)
            gamma, beta = rng.uniform(0.5, 2.0, d), rng.standard_normal(d)
            dout = rng.standard_normal((n, d))
            _, cache = student.batchnorm_forward(x, gamma, beta, {"mode": "train"})
            inputs = {"dout": dout, "x": x, "gamma": gamma}

            def check(got, want, inputs=inputs) -> None:
                assert_close(got, want, fn="batchnorm_backward", what="(dx, dgamma, dbeta) "
                             "(train mode; the speed check needs a correct result)",
                             inputs=inputs)

            runs.append(Run(lambda dout=dout, cache=cache: student.batchnorm_backward(dout, cache),
                            lambda dout=dout, x=x, gamma=gamma:
                            reference_batchnorm_backward(dout, x, gamma), check))
        return BackwardCost(compare_cpu(student, runs), None)
    except (StudentError, AssertionError) as exc:
        return BackwardCost(None, exc)


@pytest.fixture
def analytic_batchnorm_backward(batchnorm_backward_cost: BackwardCost) -> None:
    """The points for batchnorm_backward's values need an analytic backward: without one, the
    test asking for this is not graded (the measurement is charged in ANALYTIC_TEST only)."""
    if batchnorm_backward_cost.numeric:
        pytest.skip(f"batchnorm_backward computes its gradients numerically (see {ANALYTIC_TEST}); "
                    "the points for its values need an analytic backward")
