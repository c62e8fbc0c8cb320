"""Hidden tests for a1_backprop: the scalar autodiff class `Value`.

Every expression is built twice from the same random numbers: with the student's `Value`
(handles into the sandboxed worker) and with float64 torch scalars that require grad. The
forward values and every gradient must agree with torch autograd.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
import pytest
import torch

from grader.testing import assert_close


def _tensor(x: float) -> torch.Tensor:
    return torch.tensor(float(x), dtype=torch.float64, requires_grad=True)


def _torch_grad(t: torch.Tensor) -> float:
    # torch leaves .grad as None on a node the output does not depend on; Value leaves 0.0.
    return 0.0 if t.grad is None else float(t.grad)


@contextmanager
def _context(text: str) -> Iterator[None]:
    """Append `text` (the inputs, the graph) to any assertion message raised inside."""
    try:
        yield
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{text}") from None


def _values(xs: Sequence[float], c: float | None) -> str:
    named = [f"{'ab'[i]} = {float(x):.8g}" for i, x in enumerate(xs)]
    return "where " + ", ".join(named + ([f"c = {c:.8g}"] if c is not None else []))


def _check_expression(
    student: Any, name: str, expr: Callable[..., Any], xs: Sequence[float], c: float | None = None
) -> None:
    """Evaluate expr on student Values and on torch scalars; compare out.data and leaf grads."""
    leaves = [student.Value(x) for x in xs]
    out = expr(*leaves)
    out.backward()

    tleaves = [_tensor(x) for x in xs]
    tout = expr(*tleaves)
    tout.backward()

    with _context(_values(xs, c)):
        assert_close(out.data, tout.item(), fn="Value", what=f"out.data for out = {name}")
        for i, (leaf, t) in enumerate(zip(leaves, tleaves, strict=True)):
            assert_close(
                leaf.grad,
                _torch_grad(t),
                fn="Value.backward",
                what=f"{'ab'[i]}.grad after out.backward() for out = {name}",
            )


def _check_cases(
    student: Any,
    cases: dict[str, Callable[..., Any]],
    xs: Sequence[float],
    c: float | None = None,
) -> None:
    for name, expr in cases.items():
        _check_expression(student, name, expr, xs, c)


# --- individual operations -----------------------------------------------------------------


@pytest.mark.points(1)
def test_value_forward_data_matches_python(student, rng):
    """Value: .data of every operation equals the plain float result"""
    a, b = rng.uniform(0.5, 2.0, size=2)
    c = float(rng.uniform(0.5, 2.0))
    cases: dict[str, tuple[Callable[..., Any], float]] = {
        "a + b": (lambda x, y: x + y, a + b),
        "a - b": (lambda x, y: x - y, a - b),
        "a * b": (lambda x, y: x * y, a * b),
        "a / b": (lambda x, y: x / y, a / b),
        "-a": (lambda x, y: -x, -a),
        "a ** 3": (lambda x, y: x**3, a**3),
        "a ** 0.5": (lambda x, y: x**0.5, a**0.5),
        "c - a": (lambda x, y: c - x, c - a),
        "c / a": (lambda x, y: c / x, c / a),
        "a.exp()": (lambda x, y: x.exp(), np.exp(a)),
        "a.log()": (lambda x, y: x.log(), np.log(a)),
        "a.sigmoid()": (lambda x, y: x.sigmoid(), 1.0 / (1.0 + np.exp(-a))),
        "a.tanh()": (lambda x, y: x.tanh(), np.tanh(a)),
        "(-a).relu()": (lambda x, y: (-x).relu(), 0.0),
        "a.relu()": (lambda x, y: x.relu(), a),
    }
    for name, (expr, expected) in cases.items():
        out = expr(student.Value(a), student.Value(b))
        with _context(f"where a = {a:.8g}, b = {b:.8g}, c = {c:.8g}"):
            assert_close(out.data, float(expected), fn="Value", what=f"out.data for out = {name}")


@pytest.mark.points(2)
def test_value_add_sub_neg_and_reflected_grads(student, rng):
    """Value: + and - (both sides, with numbers too) and unary - backpropagate like torch"""
    xs = rng.uniform(-2.0, 2.0, size=2)
    c = float(rng.uniform(-3.0, 3.0))
    cases = {
        "a + b": lambda a, b: a + b,
        "a + c": lambda a, b: a + c,
        "c + a": lambda a, b: c + a,
        "a - b": lambda a, b: a - b,
        "a - c": lambda a, b: a - c,
        "c - a": lambda a, b: c - a,
        "-a": lambda a, b: -a,
        "(a - b) * a": lambda a, b: (a - b) * a,
        "(c - b) * a": lambda a, b: (c - b) * a,
    }
    _check_cases(student, cases, xs, c)


@pytest.mark.points(2)
def test_value_mul_div_and_reflected_grads(student, rng):
    """Value: * and / (both sides, with numbers too) backpropagate like torch"""
    xs = rng.uniform(0.5, 2.0, size=2) * rng.choice([-1.0, 1.0], size=2)
    c = float(rng.uniform(0.5, 3.0))
    cases = {
        "a * b": lambda a, b: a * b,
        "a * c": lambda a, b: a * c,
        "c * a": lambda a, b: c * a,
        "a / b": lambda a, b: a / b,
        "a / c": lambda a, b: a / c,
        "c / a": lambda a, b: c / a,
        "(a * b) / (a * a + c)": lambda a, b: (a * b) / (a * a + c),
    }
    _check_cases(student, cases, xs, c)


@pytest.mark.points(2)
def test_value_pow_grads_int_and_float_exponents(student, rng):
    """Value: ** with int, float and negative exponents backpropagates like torch"""
    xs = rng.uniform(0.5, 2.0, size=2)
    cases = {
        "a ** 2": lambda a, b: a**2,
        "a ** 3": lambda a, b: a**3,
        "a ** 0.5": lambda a, b: a**0.5,
        "a ** -1": lambda a, b: a**-1,
        "a ** -2.5": lambda a, b: a**-2.5,
        "(a * b) ** 2": lambda a, b: (a * b) ** 2,
    }
    _check_cases(student, cases, xs)


@pytest.mark.points(2)
def test_value_exp_log_grads(student, rng):
    """Value: exp() and log() backpropagate like torch"""
    xs = rng.uniform(0.3, 2.0, size=2)
    cases = {
        "a.exp()": lambda a, b: a.exp(),
        "a.log()": lambda a, b: a.log(),
        "(a * b).exp()": lambda a, b: (a * b).exp(),
        "(a * b).log()": lambda a, b: (a * b).log(),
        "a.exp().log()": lambda a, b: a.exp().log(),
    }
    _check_cases(student, cases, xs)


@pytest.mark.points(2)
def test_value_sigmoid_tanh_grads(student, rng):
    """Value: sigmoid() and tanh() backpropagate like torch, for either sign"""
    xs = np.array([rng.uniform(0.2, 3.0), -rng.uniform(0.2, 3.0)])
    cases = {
        "a.sigmoid()": lambda a, b: a.sigmoid(),
        "b.sigmoid()": lambda a, b: b.sigmoid(),
        "a.tanh()": lambda a, b: a.tanh(),
        "b.tanh()": lambda a, b: b.tanh(),
        "(a * b).sigmoid()": lambda a, b: (a * b).sigmoid(),
        "(a + b).tanh()": lambda a, b: (a + b).tanh(),
    }
    _check_cases(student, cases, xs)


@pytest.mark.points(1)
def test_value_relu_grads_including_kink(student, rng):
    """Value: relu() passes the gradient for x > 0, blocks it for x < 0 and at x == 0"""
    pos, neg = float(rng.uniform(0.2, 2.0)), -float(rng.uniform(0.2, 2.0))
    cases = {
        "a.relu() * b (a > 0)": lambda a, b: a.relu() * b,
        "b.relu() * a (b < 0)": lambda a, b: b.relu() * a,
        "(a - a).relu() * b (exactly 0)": lambda a, b: (a - a).relu() * b,
    }
    _check_cases(student, cases, [pos, neg])
    _check_expression(student, "a.relu() * b (a == 0.0)", lambda a, b: a.relu() * b, [0.0, neg])


@pytest.mark.points(1)
def test_value_backward_seeds_output_grad_with_one(student, rng):
    """Value: backward() sets the output's own .grad to 1.0"""
    a, b = rng.uniform(0.5, 2.0, size=2)
    out = student.Value(a) * student.Value(b)
    out.backward()
    assert_close(out.grad, 1.0, fn="Value.backward", what="out.grad")
    single = student.Value(a)
    single.backward()
    assert_close(single.grad, 1.0, fn="Value.backward", what="leaf.grad (backward on a leaf)")


@pytest.mark.points(2)
def test_value_reused_node_accumulates_grad(student, rng):
    """Value: a node used several times gets the SUM of the gradients of its uses"""
    xs = rng.uniform(0.5, 2.0, size=2)
    cases = {
        "a + a": lambda a, b: a + a,
        "a * a": lambda a, b: a * a,
        "a * a * a": lambda a, b: a * a * a,
        "t = a * b; t + t * t": lambda a, b: (lambda t: t + t * t)(a * b),
        "t = a * b; t.exp() + t.tanh() - t": lambda a, b: (lambda t: t.exp() + t.tanh() - t)(a * b),
    }
    _check_cases(student, cases, xs)


# --- random expression graphs ----------------------------------------------------------------

# Each op: (how it prints, domain check on the operands' float values, builder). The checks
# keep every intermediate finite and well conditioned, so float64 round-off stays far below
# the tolerance whatever order the student accumulates gradients in.
_OPS: list[tuple[str, Callable[..., bool], Callable[..., Any]]] = [
    ("{a} + {b}", lambda a, b, c: True, lambda a, b, c: a + b),
    ("{a} - {b}", lambda a, b, c: True, lambda a, b, c: a - b),
    ("{a} * {b}", lambda a, b, c: abs(a * b) < 20, lambda a, b, c: a * b),
    ("{a} / {b}", lambda a, b, c: abs(b) > 0.3, lambda a, b, c: a / b),
    ("{a} + {c}", lambda a, b, c: True, lambda a, b, c: a + c),
    ("{c} + {a}", lambda a, b, c: True, lambda a, b, c: c + a),
    ("{c} - {a}", lambda a, b, c: True, lambda a, b, c: c - a),
    ("{c} * {a}", lambda a, b, c: True, lambda a, b, c: c * a),
    ("{c} / {a}", lambda a, b, c: abs(a) > 0.3, lambda a, b, c: c / a),
    ("{a} / {c}", lambda a, b, c: True, lambda a, b, c: a / c),
    ("-{a}", lambda a, b, c: True, lambda a, b, c: -a),
    ("{a} ** 2", lambda a, b, c: abs(a) < 4, lambda a, b, c: a**2),
    ("{a} ** 3", lambda a, b, c: abs(a) < 2.5, lambda a, b, c: a**3),
    ("{a} ** 0.5", lambda a, b, c: a > 0.2, lambda a, b, c: a**0.5),
    ("{a} ** -1", lambda a, b, c: abs(a) > 0.3, lambda a, b, c: a**-1),
    ("{a}.exp()", lambda a, b, c: abs(a) < 3, lambda a, b, c: a.exp()),
    ("{a}.log()", lambda a, b, c: a > 0.2, lambda a, b, c: a.log()),
    ("{a}.sigmoid()", lambda a, b, c: True, lambda a, b, c: a.sigmoid()),
    ("{a}.tanh()", lambda a, b, c: True, lambda a, b, c: a.tanh()),
    ("{a}.relu()", lambda a, b, c: True, lambda a, b, c: a.relu()),
]


def _random_dag(student: Any, rng: np.random.Generator, n_leaves: int, n_ops: int):
    """Build one random expression DAG with shared nodes, as student Values and torch scalars.

    Returns (student nodes, torch nodes, student output, torch output, node names, the graph
    as text for failure messages); the first n_leaves nodes are the leaves x0, x1, ...
    """
    xs = rng.uniform(-2.0, 2.0, size=n_leaves)
    s_nodes: list[Any] = [student.Value(x) for x in xs]
    t_nodes: list[torch.Tensor] = [_tensor(x) for x in xs]
    names = [f"x{i}" for i in range(n_leaves)]
    lines = [f"x{i} = {x:.6g}" for i, x in enumerate(xs)]
    used: set[int] = set()
    while len(s_nodes) < n_leaves + n_ops:
        text, ok, build = _OPS[rng.integers(len(_OPS))]
        # Prefer recent nodes so the graph gets deep, but reuse the leaves often: a leaf used
        # both early and late in the graph is where a gradient that is assigned instead of
        # accumulated, or passed on too early, shows.
        k = len(s_nodes)
        weights = np.arange(1, k + 1, dtype=float)
        i, j = (
            int(rng.integers(n_leaves))
            if rng.random() < 0.3
            else int(rng.choice(k, p=weights / weights.sum()))
            for _ in range(2)
        )
        c = float(np.round(rng.uniform(0.5, 2.0) * rng.choice([-1.0, 1.0]), 2))
        if not ok(t_nodes[i].item(), t_nodes[j].item(), c):
            continue
        with torch.no_grad():
            candidate = float(build(t_nodes[i], t_nodes[j], c))
        if not np.isfinite(candidate) or abs(candidate) > 50:
            continue
        used.update((i, j) if "{b}" in text else (i,))
        t_nodes.append(build(t_nodes[i], t_nodes[j], c))
        s_nodes.append(build(s_nodes[i], s_nodes[j], c))
        name = f"n{len(names)}"
        lines.append(f"{name} = " + text.format(a=names[i], b=names[j], c=c))
        names.append(name)

    # The output sums every node nothing else uses: then every node is on a path to the
    # output, and nodes used several times get gradient along each use.
    sinks = [i for i in range(len(s_nodes)) if i not in used]
    s_out, t_out = s_nodes[sinks[0]], t_nodes[sinks[0]]
    for e in sinks[1:]:
        s_out = s_out + s_nodes[e]
        t_out = t_out + t_nodes[e]
    lines.append("out = " + " + ".join(names[e] for e in sinks))
    return s_nodes, t_nodes, s_out, t_out, names, "The graph:\n" + "\n".join(lines)


@pytest.mark.points(4)
def test_value_random_dag_leaf_grads_match_torch(student, rng):
    """Value: on random expression graphs with shared nodes, every leaf's grad equals torch's"""
    n_leaves = 5
    for _ in range(3):
        s_nodes, t_nodes, s_out, t_out, names, text = _random_dag(student, rng, n_leaves, 25)
        s_out.backward()
        t_out.backward()
        with _context(text):
            assert_close(s_out.data, t_out.item(), fn="Value", what="out.data")
            for i in range(n_leaves):
                assert_close(
                    s_nodes[i].grad,
                    _torch_grad(t_nodes[i]),
                    fn="Value.backward",
                    what=f"{names[i]}.grad after out.backward()",
                )


@pytest.mark.points(1)
def test_value_random_dag_intermediate_grads_match_torch(student, rng):
    """Value: on random graphs, every intermediate node's grad is d(out)/d(node) as in torch"""
    n_leaves = 4
    s_nodes, t_nodes, s_out, t_out, names, text = _random_dag(student, rng, n_leaves, 20)
    for t in t_nodes[n_leaves:]:
        t.retain_grad()
    s_out.backward()
    t_out.backward()
    with _context(text):
        for i in range(n_leaves, len(s_nodes)):
            assert_close(
                s_nodes[i].grad,
                _torch_grad(t_nodes[i]),
                fn="Value.backward",
                what=f"{names[i]}.grad after out.backward()",
            )
