"""Hidden tests: FullyConnectedNet against the same network built in torch (float64).

The student's parameters are read through the handle (`net.params` comes back as a dict of
arrays), randomized where the initialization is trivial (zero biases, unit gamma) so that every
term shows, written back, and copied into torch tensors. The student's loss() gets copies of
X and y; in-place changes of them are charged in test_net_loss_does_not_modify_X_or_y only.
"""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from grader.testing import assert_close, assert_dtype, assert_inputs_unchanged, assert_true

FN = "FullyConnectedNet.loss"
D, HIDDEN, C = 5, [7, 6], 4


def _net(student, rng, *, n_hidden=HIDDEN, randomize=True, **kwargs):
    """A student net with weight_scale 0.5 (non-trivial scores); returns (net, params)."""
    kwargs.setdefault("weight_scale", 0.5)
    net = student.FullyConnectedNet(n_hidden, D, C, seed=int(rng.integers(2**31)), **kwargs)
    params = net.params
    assert_true(isinstance(params, dict), "FullyConnectedNet.params must be a dict of arrays")
    if randomize:
        for k, v in params.items():
            if k.startswith(("b", "beta")):
                params[k] = 0.3 * rng.standard_normal(v.shape)
            elif k.startswith("gamma"):
                params[k] = rng.uniform(0.5, 1.5, v.shape)
        net.params = params
    return net, params


def _data(rng: np.random.Generator, n: int):
    X = rng.standard_normal((n, D)) * 2.0
    y = rng.integers(0, C, size=n)
    return X, y


def _torch_net(params, X, y=None, reg=0.0, bn=False, running=None):
    """Scores (y None) or (loss, grads) of the reference network.

    running: list of (mean, var) torch buffers per hidden layer. With y=None and running given,
    batch norm runs in eval mode with them; with y given they are updated in train mode.
    """
    # float64 whatever the student's params are: a float32 net is charged once, in
    # test_net_param_keys_shapes_and_dtype, never by a dtype error of this reference.
    P = {k: torch.tensor(np.asarray(v, dtype=np.float64), requires_grad=True)
         for k, v in params.items()}
    L = sum(1 for k in params if k.startswith("W"))
    h = torch.tensor(X)
    for i in range(1, L):
        h = h @ P[f"W{i}"] + P[f"b{i}"]
        if bn:
            rm, rv = running[i - 1] if running else (None, None)
            h = F.batch_norm(h, rm, rv, P[f"gamma{i}"], P[f"beta{i}"], training=y is not None,
                             momentum=0.1, eps=1e-5)
        h = torch.relu(h)
    scores = h @ P[f"W{L}"] + P[f"b{L}"]
    if y is None:
        return scores.detach().numpy()
    loss = F.cross_entropy(scores, torch.tensor(y))
    loss = loss + 0.5 * reg * sum((P[f"W{i}"] ** 2).sum() for i in range(1, L + 1))
    loss.backward()
    return loss.item(), {k: t.grad.numpy() for k, t in P.items()}


def _check_grads(got, want, inputs) -> None:
    assert_true(isinstance(got, dict) and set(got) == set(want),
                f"{FN}: grads must be a dict with the keys of params {sorted(want)}, got "
                f"{sorted(got) if isinstance(got, dict) else type(got).__name__}")
    for k in sorted(want):
        assert_close(got[k], want[k], fn=FN, what=f"grads['{k}']", inputs=inputs)


@pytest.mark.points(1)
def test_net_param_keys_shapes_and_dtype(student, rng):
    """FullyConnectedNet: params W1, b1, ..., gamma{i}, beta{i}: float64, (D_in, D_out) weights"""
    for norm in (None, "batchnorm"):
        net = student.FullyConnectedNet([7, 6], 5, 4, normalization=norm, seed=0)
        params = net.params
        dims = [5, 7, 6, 4]
        want = {}
        for i in range(1, 4):
            want[f"W{i}"], want[f"b{i}"] = (dims[i - 1], dims[i]), (dims[i],)
            if norm and i < 3:
                want[f"gamma{i}"] = want[f"beta{i}"] = (dims[i],)
        assert_true(isinstance(params, dict), "FullyConnectedNet.params must be a dict")
        got = {k: tuple(np.shape(v)) for k, v in params.items()}
        assert_true(got == want, f"FullyConnectedNet([7, 6], 5, 4, normalization={norm!r}): "
                    f"params shapes are {got}, expected {want}")
        for k, v in params.items():
            assert_dtype(v, fn=f"FullyConnectedNet(normalization={norm!r})",
                         what=f"params['{k}']")


@pytest.mark.points(1)
def test_net_init_seeded_and_scaled(student, rng):
    """FullyConnectedNet: the same seed gives the same weights; their spread is weight_scale"""
    seed, ws = int(rng.integers(2**31)), float(rng.choice([1e-2, 1e-1, 1.0]))
    p1 = student.FullyConnectedNet([40, 30], 50, 10, weight_scale=ws, seed=seed).params
    p2 = student.FullyConnectedNet([40, 30], 50, 10, weight_scale=ws, seed=seed).params
    for k in p1:
        assert_close(p2[k], p1[k], fn="FullyConnectedNet", what=f"params['{k}'] for equal seeds",
                     rtol=0, atol=0)
    std = float(np.std(p1["W1"]))
    assert_true(0.5 * ws <= std <= 1.5 * ws,
                f"FullyConnectedNet(weight_scale={ws}): W1 has std {std:.4g}; weights should be "
                f"drawn with standard deviation weight_scale")


@pytest.mark.points(1)
def test_net_scores_match_torch(student, rng):
    """FullyConnectedNet.loss(X): scores of the forward pass (no y)"""
    net, params = _net(student, rng)
    X, _ = _data(rng, 6)
    scores = net.loss(X.copy())
    assert_close(scores, _torch_net(params, X), fn=FN, what="scores", inputs={"X": X})


@pytest.mark.points(1)
def test_net_loss_does_not_modify_X_or_y(student, rng):
    """FullyConnectedNet.loss leaves X and y unchanged, with and without y"""
    net, _ = _net(student, rng)
    X, y = _data(rng, 6)
    net.loss(X)
    assert_inputs_unchanged(student, fn=FN, inputs={"X": X})
    net.loss(X, y)
    assert_inputs_unchanged(student, fn=FN, inputs={"X": X, "y": y})


@pytest.mark.points(2)
def test_net_loss_and_grads_no_reg(student, rng):
    """FullyConnectedNet.loss(X, y): softmax cross-entropy and every gradient, reg = 0"""
    net, params = _net(student, rng)
    X, y = _data(rng, 6)
    loss, grads = net.loss(X.copy(), y.copy())
    want_loss, want_grads = _torch_net(params, X, y)
    inputs = {"X": X, "y": y}
    assert_close(loss, want_loss, fn=FN, what="loss", inputs=inputs)
    _check_grads(grads, want_grads, inputs)


@pytest.mark.points(1)
def test_net_loss_includes_half_l2_on_weights(student, rng):
    """FullyConnectedNet.loss: adds 0.5 * reg * sum W^2 over weight matrices only"""
    reg = float(rng.uniform(0.5, 2.0))
    net, params = _net(student, rng, reg=reg)
    X, y = _data(rng, 6)
    loss, _ = net.loss(X.copy(), y.copy())
    want, _ = _torch_net(params, X, y, reg=reg)
    assert_close(loss, want, fn=FN, what=f"loss with reg={reg:.3f}", inputs={"X": X, "y": y})


@pytest.mark.points(1)
def test_net_grads_with_reg(student, rng):
    """FullyConnectedNet.loss: gradients with reg > 0 (reg * W on weights, not on biases)"""
    reg = float(rng.uniform(0.5, 2.0))
    net, params = _net(student, rng, reg=reg)
    X, y = _data(rng, 6)
    _, grads = net.loss(X.copy(), y.copy())
    _, want = _torch_net(params, X, y, reg=reg)
    _check_grads(grads, want, {"X": X, "y": y})


@pytest.mark.points(1)
def test_net_batchnorm_loss(student, rng):
    """FullyConnectedNet with batch norm: training loss (batch statistics)"""
    reg = float(rng.uniform(0.1, 1.0))
    net, params = _net(student, rng, normalization="batchnorm", reg=reg)
    X, y = _data(rng, 8)
    loss, _ = net.loss(X.copy(), y.copy())
    want, _ = _torch_net(params, X, y, reg=reg, bn=True)
    assert_close(loss, want, fn=FN, what="loss with batch norm", inputs={"X": X, "y": y})


@pytest.mark.points(2)
@pytest.mark.usefixtures("analytic_batchnorm_backward")  # see conftest.py
def test_net_batchnorm_grads(student, rng):
    """FullyConnectedNet with batch norm: every gradient, gamma and beta included"""
    reg = float(rng.uniform(0.1, 1.0))
    net, params = _net(student, rng, normalization="batchnorm", reg=reg)
    X, y = _data(rng, 8)
    _, grads = net.loss(X.copy(), y.copy())
    _, want = _torch_net(params, X, y, reg=reg, bn=True)
    _check_grads(grads, want, {"X": X, "y": y})


@pytest.mark.points(1)
def test_net_batchnorm_test_mode_uses_running_stats(student, rng):
    """FullyConnectedNet with batch norm: scores after a training step use running statistics"""
    net, params = _net(student, rng, normalization="batchnorm")
    X, y = _data(rng, 8)
    X2, _ = _data(rng, 5)
    net.loss(X.copy(), y.copy())  # one train step updates the running statistics (momentum 0.9)
    scores = net.loss(X2.copy())
    running = [(torch.zeros(h, dtype=torch.float64), torch.ones(h, dtype=torch.float64))
               for h in HIDDEN]
    _torch_net(params, X, y, bn=True, running=running)
    want = _torch_net(params, X2, bn=True, running=running)
    assert_close(scores, want, fn=FN, what="test-mode scores after one training step",
                 inputs={"X_train": X, "X_test": X2})


@pytest.mark.points(1)
def test_net_dropout_off_in_test_mode(student, rng):
    """FullyConnectedNet with dropout: scores (no y) are deterministic, without dropout"""
    net, params = _net(student, rng, dropout=0.5)
    X, _ = _data(rng, 6)
    scores = net.loss(X.copy())
    assert_close(scores, _torch_net(params, X), fn=FN, what="test-mode scores with dropout=0.5",
                 inputs={"X": X})


@pytest.mark.points(2)
def test_net_dropout_train_mask_statistics(student, rng):
    """FullyConnectedNet with dropout: a fraction p of hidden units is dropped, kept ones scaled"""
    # One hidden layer, one sample: dW2[j] = a_j * m_j / (1-p) * db2 with a = relu(x W1 + b1),
    # so the rows of dW2 reveal the mask m and its scaling.
    p, h = float(rng.choice([0.25, 0.75])), 400
    net, params = _net(student, rng, n_hidden=[h], dropout=p, weight_scale=0.3)
    X, y = _data(rng, 1)
    _, grads = net.loss(X.copy(), y.copy())
    a = np.maximum(X @ params["W1"] + params["b1"], 0.0)[0]
    active = a > 1e-3
    n = int(active.sum())
    dropped = np.all(grads["W2"][active] == 0, axis=1)
    frac = float(dropped.mean())
    tol = 6.0 * np.sqrt(p * (1 - p) / n)
    assert_true(abs(frac - p) <= tol,
                f"FullyConnectedNet(dropout={p}): in train mode {frac:.3f} of {n} active hidden "
                f"units were dropped, expected {p} +- {tol:.3f}")
    kept = np.flatnonzero(active)[~dropped]
    # The 1/(1-p) scaling is charged by test_dropout_kept_units_scaled_by_inverse_keep_prob:
    # a net that scales the kept units as the student's own dropout_forward does passes here.
    scale = next((s for s in (1 / (1 - p), _own_dropout_scale(student, p))
                  if np.allclose(grads["W2"][kept], a[kept, None] * grads["b2"][None, :] * s)),
                 1 / (1 - p))
    want = a[kept, None] * grads["b2"][None, :] * scale
    assert_close(grads["W2"][kept], want, fn=FN, what="grads['W2'] rows of kept hidden units "
                 "(= a_j * db2 / (1 - p))", inputs={"X": X})


def _own_dropout_scale(student, p: float) -> float:
    """The factor the student's dropout_forward gives kept units (1/(1-p) in the contract)."""
    out, _ = student.dropout_forward(np.ones((4, 64)), {"p": p, "mode": "train", "seed": 0})
    kept = np.asarray(out, dtype=np.float64)
    kept = kept[kept != 0]
    return float(kept[0]) if kept.size else 1 / (1 - p)
