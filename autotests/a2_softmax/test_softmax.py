"""Hidden tests for a2_softmax: softmax, log-softmax, losses, entropy and KL divergence.

References are float64 torch computations (autograd for gradients) on the test's own arrays;
the value tests hand the student copies. Modifying an input in place is charged once, in
test_no_function_modifies_its_inputs.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch.distributions import Categorical

from grader.testing import assert_close, assert_inputs_unchanged, to_numpy, to_torch


def _call(student: Any, fn: str, *args: np.ndarray) -> Any:
    """student.fn on copies of ``args``: the references use the originals."""
    return getattr(student, fn)(*(a.copy() for a in args))


_ARG_NAMES = {
    "softmax": ("x",),
    "log_softmax": ("x",),
    "cross_entropy_loss": ("scores", "y"),
    "bce_with_logits_loss": ("z", "y"),
    "mse_loss": ("pred", "target"),
    "entropy": ("p",),
    "kl_divergence": ("p", "q"),
}


def _logits(rng: np.random.Generator, n: int, c: int, scale: float = 3.0) -> np.ndarray:
    return scale * rng.standard_normal((n, c))


def _huge_logits(rng: np.random.Generator, n: int, c: int) -> np.ndarray:
    """(n >= 4, c >= 3) logits of size 1e4: exp overflows or underflows unless each ROW is
    shifted by its own maximum.

    Row 0 reaches exactly 1e4, row 1 has a near tie at the top, row 2 lies entirely near -1e4
    (a single global shift would underflow it to 0/0), the other rows are spread over
    [-1e4, 1e4].
    """
    x = rng.uniform(-1e4, 1e4, size=(n, c))
    x[0, rng.integers(c)] = 1e4
    i, j = rng.choice(c, size=2, replace=False)
    x[1, i] = 9e3 + rng.uniform(0.0, 1e3)
    x[1, j] = x[1, i] - rng.uniform(0.0, 2.0)
    x[2] = -1e4 + rng.uniform(0.0, 20.0, size=c)
    return x


# --- softmax / log_softmax -------------------------------------------------------------------


@pytest.mark.points(2)
def test_softmax_matches_torch(student, rng):
    """softmax: equals torch.softmax over the last axis for an (N, C) batch, N != C"""
    x = _logits(rng, 7, 4)
    p = _call(student, "softmax", x)
    assert_close(p, to_numpy(torch.softmax(to_torch(x), dim=-1)), fn="softmax", inputs={"x": x})


@pytest.mark.points(2)
def test_softmax_large_logits_stable(student, rng):
    """softmax: finite and exact for logits of size 1e4 (subtract the row maximum)"""
    x = _huge_logits(rng, 5, 6)
    p = _call(student, "softmax", x)
    assert_close(p, to_numpy(torch.softmax(to_torch(x), dim=-1)), fn="softmax", inputs={"x": x})


@pytest.mark.points(1)
def test_softmax_single_row(student, rng):
    """softmax: a batch of one row (N = 1) keeps the shape (1, C)"""
    x = _logits(rng, 1, 5)
    p = _call(student, "softmax", x)
    assert_close(p, to_numpy(torch.softmax(to_torch(x), dim=-1)), fn="softmax", inputs={"x": x})


@pytest.mark.points(2)
def test_log_softmax_matches_torch(student, rng):
    """log_softmax: equals torch.log_softmax over the last axis, N != C"""
    x = _logits(rng, 4, 9)
    out = _call(student, "log_softmax", x)
    expected = to_numpy(torch.log_softmax(to_torch(x), dim=-1))
    assert_close(out, expected, fn="log_softmax", inputs={"x": x})


@pytest.mark.points(2)
def test_log_softmax_large_logits_stable(student, rng):
    """log_softmax: finite for logits of size 1e4 (x - logsumexp(x), not log(softmax(x)))"""
    x = _huge_logits(rng, 5, 6)
    out = _call(student, "log_softmax", x)
    expected = to_numpy(torch.log_softmax(to_torch(x), dim=-1))
    assert_close(out, expected, fn="log_softmax", inputs={"x": x})


# --- cross-entropy ----------------------------------------------------------------------------


def _ce_reference(scores: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    st = to_torch(scores, requires_grad=True)
    loss = F.cross_entropy(st, torch.as_tensor(y, dtype=torch.long))
    loss.backward()
    return loss.item(), to_numpy(st.grad)


def _labels(rng: np.random.Generator, n: int, c: int) -> np.ndarray:
    return rng.integers(0, c, size=n).astype(np.int64)


@pytest.mark.points(2)
def test_cross_entropy_loss_matches_torch(student, rng):
    """cross_entropy_loss: loss equals F.cross_entropy (mean over the batch), N != C"""
    scores, y = _logits(rng, 8, 5), _labels(rng, 8, 5)
    loss, _ = _call(student, "cross_entropy_loss", scores, y)
    eloss, _ = _ce_reference(scores, y)
    assert_close(
        loss, eloss, fn="cross_entropy_loss", what="loss", inputs={"scores": scores, "y": y}
    )


@pytest.mark.points(2)
def test_cross_entropy_grad_matches_autograd(student, rng):
    """cross_entropy_loss: dscores = (softmax(scores) - onehot(y)) / N, as torch autograd"""
    scores, y = _logits(rng, 6, 10), _labels(rng, 6, 10)
    _, dscores = _call(student, "cross_entropy_loss", scores, y)
    _, edscores = _ce_reference(scores, y)
    assert_close(
        dscores,
        edscores,
        fn="cross_entropy_loss",
        what="dscores",
        inputs={"scores": scores, "y": y},
    )


@pytest.mark.points(1)
def test_cross_entropy_single_sample(student, rng):
    """cross_entropy_loss: loss and dscores for a batch of one sample (N = 1)"""
    scores, y = _logits(rng, 1, 4), _labels(rng, 1, 4)
    loss, dscores = _call(student, "cross_entropy_loss", scores, y)
    eloss, edscores = _ce_reference(scores, y)
    inputs = {"scores": scores, "y": y}
    assert_close(loss, eloss, fn="cross_entropy_loss", what="loss", inputs=inputs)
    assert_close(dscores, edscores, fn="cross_entropy_loss", what="dscores", inputs=inputs)


@pytest.mark.points(1)
def test_cross_entropy_single_class(student, rng):
    """cross_entropy_loss: with one class (C = 1) the loss and the gradient are 0"""
    scores, y = _logits(rng, 5, 1), np.zeros(5, dtype=np.int64)
    loss, dscores = _call(student, "cross_entropy_loss", scores, y)
    eloss, edscores = _ce_reference(scores, y)
    inputs = {"scores": scores, "y": y}
    assert_close(loss, eloss, fn="cross_entropy_loss", what="loss", inputs=inputs)
    assert_close(dscores, edscores, fn="cross_entropy_loss", what="dscores", inputs=inputs)


@pytest.mark.points(2)
def test_cross_entropy_large_logits_stable(student, rng):
    """cross_entropy_loss: finite and exact loss and dscores for logits of size 1e4"""
    scores = _huge_logits(rng, 6, 5)
    y = _labels(rng, 6, 5)
    y[0] = np.argmax(scores[0])  # a confident correct prediction (loss ~ 0) ...
    y[3] = np.argmin(scores[3])  # ... and a confident wrong one (loss ~ 1e4)
    loss, dscores = _call(student, "cross_entropy_loss", scores, y)
    eloss, edscores = _ce_reference(scores, y)
    inputs = {"scores": scores, "y": y}
    assert_close(loss, eloss, fn="cross_entropy_loss", what="loss", inputs=inputs)
    assert_close(dscores, edscores, fn="cross_entropy_loss", what="dscores", inputs=inputs)


# --- binary cross-entropy on logits ----------------------------------------------------------


def _bce_reference(z: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    zt = to_torch(z, requires_grad=True)
    loss = F.binary_cross_entropy_with_logits(zt, to_torch(y))
    loss.backward()
    return loss.item(), to_numpy(zt.grad)


@pytest.mark.points(2)
def test_bce_with_logits_loss_matches_torch_soft_labels(student, rng):
    """bce_with_logits_loss: loss equals F.binary_cross_entropy_with_logits, soft labels"""
    z = 3.0 * rng.standard_normal(9)
    y = rng.random(9)
    y[:2] = [0.0, 1.0]
    loss, _ = _call(student, "bce_with_logits_loss", z, y)
    eloss, _ = _bce_reference(z, y)
    assert_close(loss, eloss, fn="bce_with_logits_loss", what="loss", inputs={"z": z, "y": y})


@pytest.mark.points(1)
def test_bce_with_logits_grad_matches_autograd(student, rng):
    """bce_with_logits_loss: dz = (sigmoid(z) - y) / N, as torch autograd"""
    z = 3.0 * rng.standard_normal(7)
    y = rng.random(7)
    _, dz = _call(student, "bce_with_logits_loss", z, y)
    _, edz = _bce_reference(z, y)
    assert_close(dz, edz, fn="bce_with_logits_loss", what="dz", inputs={"z": z, "y": y})


@pytest.mark.points(2)
def test_bce_with_logits_large_logits_stable(student, rng):
    """bce_with_logits_loss: finite and exact loss and dz for |z| up to 1e4"""
    big = rng.uniform(50.0, 1e4, size=4)
    z = np.concatenate([big, -big, [1e4, -1e4, 800.0, -800.0]])
    y = np.concatenate([rng.random(8), [0.0, 1.0, 1.0, 0.0]])
    loss, dz = _call(student, "bce_with_logits_loss", z, y)
    eloss, edz = _bce_reference(z, y)
    inputs = {"z": z, "y": y}
    assert_close(loss, eloss, fn="bce_with_logits_loss", what="loss", inputs=inputs)
    assert_close(dz, edz, fn="bce_with_logits_loss", what="dz", inputs=inputs)


# --- mean squared error -----------------------------------------------------------------------


def _mse_reference(pred: np.ndarray, target: np.ndarray) -> tuple[float, np.ndarray]:
    pt = to_torch(pred, requires_grad=True)
    loss = F.mse_loss(pt, to_torch(target))
    loss.backward()
    return loss.item(), to_numpy(pt.grad)


@pytest.mark.points(1)
def test_mse_loss_matches_torch(student, rng):
    """mse_loss: the mean of (pred - target)^2 over ALL elements of an (N, D) array"""
    pred, target = rng.standard_normal((6, 3)), rng.standard_normal((6, 3))
    loss, _ = _call(student, "mse_loss", pred, target)
    eloss, _ = _mse_reference(pred, target)
    assert_close(loss, eloss, fn="mse_loss", what="loss", inputs={"pred": pred, "target": target})


@pytest.mark.points(1)
def test_mse_loss_grad_matches_autograd(student, rng):
    """mse_loss: dpred = 2 (pred - target) / pred.size, as torch autograd"""
    pred, target = rng.standard_normal((4, 5)), rng.standard_normal((4, 5))
    _, dpred = _call(student, "mse_loss", pred, target)
    _, edpred = _mse_reference(pred, target)
    assert_close(
        dpred, edpred, fn="mse_loss", what="dpred", inputs={"pred": pred, "target": target}
    )


# --- entropy and KL divergence ----------------------------------------------------------------


def _probs(rng: np.random.Generator, c: int, zeros: int = 0) -> np.ndarray:
    """A random probability vector of length c with `zeros` exact zeros."""
    p = rng.gamma(1.0, size=c)
    p[rng.choice(c, size=zeros, replace=False)] = 0.0
    return p / p.sum()


def _entropy_reference(p: np.ndarray) -> float:
    return float(Categorical(probs=to_torch(p)).entropy())


@pytest.mark.points(1)
def test_entropy_matches_categorical(student, rng):
    """entropy: -sum p log p in nats, equals torch Categorical(probs=p).entropy()"""
    p = _probs(rng, 7)
    h = _call(student, "entropy", p)
    assert_close(h, _entropy_reference(p), fn="entropy", inputs={"p": p})


@pytest.mark.points(1)
def test_entropy_with_exact_zeros(student, rng):
    """entropy: entries with p == 0 contribute 0 (0 log 0 = 0), not NaN"""
    p = _probs(rng, 8, zeros=3)
    h = _call(student, "entropy", p)
    assert_close(h, _entropy_reference(p), fn="entropy", inputs={"p": p})


@pytest.mark.points(1)
def test_entropy_known_values(student, rng):
    """entropy: log C for the uniform distribution over C outcomes, 0 for a one-hot vector"""
    c = int(rng.integers(2, 10))
    uniform = np.full(c, 1.0 / c)
    h = _call(student, "entropy", uniform)
    assert_close(
        h, float(np.log(c)), fn="entropy", what="entropy of uniform", inputs={"p": uniform}
    )
    onehot = np.zeros(c)
    onehot[rng.integers(c)] = 1.0
    h = _call(student, "entropy", onehot)
    assert_close(h, 0.0, fn="entropy", what="entropy of one-hot", inputs={"p": onehot})


def _kl_reference(p: np.ndarray, q: np.ndarray) -> float:
    return float(F.kl_div(to_torch(q).log(), to_torch(p), reduction="sum"))


@pytest.mark.points(1)
def test_kl_divergence_matches_kl_div(student, rng):
    """kl_divergence: KL(p || q) = sum p log(p / q), equals F.kl_div(q.log(), p, 'sum')"""
    p, q = _probs(rng, 6), _probs(rng, 6)
    kl = _call(student, "kl_divergence", p, q)
    assert_close(kl, _kl_reference(p, q), fn="kl_divergence", inputs={"p": p, "q": q})


@pytest.mark.points(1)
def test_kl_divergence_with_zeros_in_p(student, rng):
    """kl_divergence: entries with p == 0 contribute 0, not NaN"""
    p, q = _probs(rng, 9, zeros=4), _probs(rng, 9)
    kl = _call(student, "kl_divergence", p, q)
    assert_close(kl, _kl_reference(p, q), fn="kl_divergence", inputs={"p": p, "q": q})


# --- the in-place rule, charged once ----------------------------------------------------------


@pytest.mark.points(1)
def test_no_function_modifies_its_inputs(student, rng):
    """every function: no array argument is modified in place (e.g. scores -= max)"""
    scores, y = _logits(rng, 5, 4), _labels(rng, 5, 4)
    z, t = 3.0 * rng.standard_normal(6), rng.random(6)
    pred, target = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    p, q = _probs(rng, 5), _probs(rng, 5)
    calls = [("softmax", (scores,)), ("log_softmax", (scores,)),
             ("cross_entropy_loss", (scores, y)), ("bce_with_logits_loss", (z, t)),
             ("mse_loss", (pred, target)), ("entropy", (p,)), ("kl_divergence", (p, q))]
    for fn, args in calls:
        getattr(student, fn)(*args)
        assert_inputs_unchanged(student, fn=fn, inputs=dict(zip(_ARG_NAMES[fn], args,
                                                                strict=True)))
