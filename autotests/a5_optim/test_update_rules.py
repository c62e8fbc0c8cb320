"""Hidden tests for the a5_optim update rules against torch.optim in float64.

Every trajectory test runs several steps with fresh random gradients per step and compares,
step by step, the update next_w - w and the optimizer state (velocity / cache / m, v, t) with
the torch optimizer given the same hyperparameters and the same initial state. The
hyperparameters are deliberately not the defaults, and some tests use a large epsilon or tiny
gradients, so that convention slips (epsilon inside the square root, missing bias correction,
step count off by one, swapped decay, velocity sign convention) change the numbers.

config is the rules' one in/out argument (declared in conftest.py): only its updates are copied
back. References are computed before the student's calls; in-place changes of w and dw are
charged in test_inputs_not_modified only.
"""

from typing import Any

import numpy as np
import pytest
import torch

from grader.testing import assert_close, assert_inputs_unchanged, assert_true

# Comparing updates rather than parameters: with |w| ~ 1 an update of 1e-6 would vanish in the
# rtol of w, and eps or bias-correction slips only change the update.
RTOL = 1e-6

# name of the student rule -> (torch optimizer class, how our config keys map to its kwargs)
TORCH_OPT: dict[str, Any] = {
    "sgd": (torch.optim.SGD, {"learning_rate": "lr"}),
    "sgd_momentum": (torch.optim.SGD, {"learning_rate": "lr", "momentum": "momentum"}),
    "nesterov_momentum": (torch.optim.SGD, {"learning_rate": "lr", "momentum": "momentum"}),
    "adagrad": (torch.optim.Adagrad, {"learning_rate": "lr", "epsilon": "eps"}),
    "rmsprop": (
        torch.optim.RMSprop,
        {"learning_rate": "lr", "decay_rate": "alpha", "epsilon": "eps"},
    ),
    "adam": (torch.optim.Adam, {"learning_rate": "lr", "epsilon": "eps"}),
}

# our state key -> torch state key
STATE_KEYS: dict[str, dict[str, str]] = {
    "sgd": {},
    "sgd_momentum": {"velocity": "momentum_buffer"},
    "nesterov_momentum": {"velocity": "momentum_buffer"},
    "adagrad": {"cache": "sum"},
    "rmsprop": {"cache": "square_avg"},
    "adam": {"m": "exp_avg", "v": "exp_avg_sq", "t": "step"},
}

# shown next to a state mismatch, since the state conventions are what students get wrong
STATE_FORMULA = {
    "velocity": "momentum * velocity + dw, torch's momentum buffer",
    "adagrad.cache": "cache + dw**2",
    "rmsprop.cache": "decay_rate * cache + (1 - decay_rate) * dw**2",
    "m": "beta1 * m + (1 - beta1) * dw, not bias-corrected",
    "v": "beta2 * v + (1 - beta2) * dw**2, not bias-corrected",
}

DEFAULTS: dict[str, dict[str, float]] = {
    "sgd": {"learning_rate": 1e-2},
    "sgd_momentum": {"learning_rate": 1e-2, "momentum": 0.9},
    "nesterov_momentum": {"learning_rate": 1e-2, "momentum": 0.9},
    "adagrad": {"learning_rate": 1e-2, "epsilon": 1e-10},
    "rmsprop": {"learning_rate": 1e-2, "decay_rate": 0.99, "epsilon": 1e-8},
    "adam": {"learning_rate": 1e-3, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8},
}


def _torch_optimizer(rule: str, hyper: dict[str, float], p: torch.Tensor) -> torch.optim.Optimizer:
    """The torch optimizer equivalent to `rule` with our hyperparameters `hyper`."""
    cls, names = TORCH_OPT[rule]
    kwargs: dict[str, Any] = {names[k]: v for k, v in hyper.items() if k in names}
    kwargs["foreach"] = False
    if rule == "nesterov_momentum":
        kwargs["nesterov"] = True
    if rule == "adagrad":
        kwargs.update(lr_decay=0.0, initial_accumulator_value=0.0)
    if rule == "adam":
        kwargs["betas"] = (hyper["beta1"], hyper["beta2"])
    return cls([p], **kwargs)


def _preload(rule: str, opt: torch.optim.Optimizer, p: torch.Tensor, state: dict[str, Any]) -> None:
    """Put our initial state (velocity / cache / m, v, t) into the torch optimizer."""
    if not state:
        return
    st = opt.state[p]
    if rule in ("sgd_momentum", "nesterov_momentum"):
        st["momentum_buffer"] = torch.tensor(state["velocity"], dtype=torch.float64)
    elif rule == "adagrad":
        st["sum"] = torch.tensor(state["cache"], dtype=torch.float64)
    elif rule == "rmsprop":
        st["step"] = torch.tensor(0.0)
        st["square_avg"] = torch.tensor(state["cache"], dtype=torch.float64)
    elif rule == "adam":
        st["step"] = torch.tensor(float(state["t"]))
        st["exp_avg"] = torch.tensor(state["m"], dtype=torch.float64)
        st["exp_avg_sq"] = torch.tensor(state["v"], dtype=torch.float64)


def _torch_run(
    rule: str, hyper: dict[str, float], w0: np.ndarray, grads: list[np.ndarray],
    state: dict[str, Any] | None = None,
) -> list[tuple[np.ndarray, dict[str, Any]]]:
    """Per step: (update next_w - w, state in our key names) from the torch optimizer."""
    p = torch.tensor(w0, dtype=torch.float64, requires_grad=True)
    opt = _torch_optimizer(rule, hyper, p)
    _preload(rule, opt, p, state or {})
    out = []
    for g in grads:
        before = p.detach().clone()
        p.grad = torch.tensor(g, dtype=torch.float64)
        opt.step()
        st = opt.state[p]
        ours = {k: (float(st[tk]) if k == "t" else st[tk].detach().numpy().copy())
                for k, tk in STATE_KEYS[rule].items()}
        out.append(((p.detach() - before).numpy(), ours))
    return out


def _student_run(
    student: Any, rule: str, hyper: dict[str, float], w0: np.ndarray, grads: list[np.ndarray],
    state: dict[str, Any] | None = None,
) -> list[tuple[np.ndarray, dict[str, Any]]]:
    """Per step: (update next_w - w, returned config) from the student's rule."""
    config: dict[str, Any] = dict(hyper)
    # Copies: a student may update preloaded state arrays in place, which is allowed.
    config.update({k: np.array(v, copy=True) if isinstance(v, np.ndarray) else v
                   for k, v in (state or {}).items()})
    w = w0.copy()
    out = []
    for g in grads:
        w_before = w.copy()  # kept apart so an in-place bug costs only the in-place test
        next_w, config = getattr(student, rule)(w, g.copy(), config)
        assert_true(isinstance(config, dict),
                    f"{rule} must return (next_w, config) with config a dict, "
                    f"got {type(config).__name__}")
        assert_true(isinstance(next_w, np.ndarray) and next_w.shape == w_before.shape,
                    f"{rule}: next_w must be an array of shape {w_before.shape}")
        # Snapshot: the student may legitimately update these state arrays in place later.
        snap = {k: np.array(v, copy=True) if isinstance(v, np.ndarray) else v
                for k, v in config.items()}
        out.append((next_w - w_before, snap))
        w = next_w
    return out


def _atol(expected: Any) -> float:
    """An absolute tolerance 1e-9 below the scale of `expected` (states can be ~1e-12)."""
    return 1e-9 * float(np.max(np.abs(expected))) + 1e-300


def _compare(
    student: Any, rule: str, hyper: dict[str, float], w0: np.ndarray, grads: list[np.ndarray],
    state: dict[str, Any] | None = None, check_state: bool = True,
) -> None:
    """Run both and compare the update and (optionally) the state after every step."""
    ref = _torch_run(rule, hyper, w0, grads, state)
    got = _student_run(student, rule, hyper, w0, grads, state)
    inputs = {"w": w0, "dw": grads[0]}
    given = ", ".join(f"{k}={v:g}" for k, v in hyper.items())
    if state:
        given += ", preloaded " + ", ".join(sorted(state))
    # hard-coded eps or betas are a common slip: say which values this test passed
    start = f" (config: {given}; this test uses these values from config, not the defaults)"
    for k, ((d_got, cfg), (d_ref, st_ref)) in enumerate(zip(got, ref, strict=True), start=1):
        assert_close(d_got, d_ref, fn=rule, inputs=inputs, rtol=RTOL, atol=_atol(d_ref),
                     what=f"update next_w - w at step {k} of {len(grads)}{start}")
        if not check_state:
            continue
        for key, exp in st_ref.items():
            assert_true(key in cfg, f"{rule}: config has no state key {key!r} after step {k}")
            if key == "t":
                assert_true(cfg["t"] == exp,
                            f"{rule}: config['t'] is {cfg['t']!r} after step {k}, expected "
                            f"{int(exp)} (t counts the steps taken, incremented before use)")
            else:
                formula = STATE_FORMULA.get(key) or STATE_FORMULA[f"{rule}.{key}"]
                assert_close(cfg[key], exp, fn=rule, inputs=inputs, rtol=RTOL,
                             atol=_atol(exp),
                             what=f"config[{key!r}] (= {formula}) after step {k}{start}")


def _grad(rng: np.random.Generator, shape: tuple[int, ...], scale: float = 1.0) -> np.ndarray:
    """Random signs, magnitudes in [0.5, 1.5]*scale: no element so close to 0 that a default
    epsilon's placement would matter; the epsilon tests make it matter on purpose."""
    return scale * rng.choice([-1.0, 1.0], size=shape) * rng.uniform(0.5, 1.5, size=shape)


def _grads(rng: np.random.Generator, shape: tuple[int, ...], steps: int,
           scale: float = 1.0) -> list[np.ndarray]:
    return [_grad(rng, shape, scale) for _ in range(steps)]


# ---------------------------------------------------------------------------------------------
# SGD and momentum
# ---------------------------------------------------------------------------------------------


@pytest.mark.points(1)
def test_sgd_trajectory(student, rng):
    """sgd: 6 steps match torch.optim.SGD (lr=0.37)"""
    w0 = rng.standard_normal((4, 3))
    _compare(student, "sgd", {"learning_rate": 0.37}, w0, _grads(rng, w0.shape, 6))


@pytest.mark.points(3)
def test_sgd_momentum_trajectory_and_velocity(student, rng):
    """sgd_momentum: 8 steps match torch SGD(momentum=0.8), velocity = torch momentum buffer"""
    w0 = rng.standard_normal((5, 2))
    hyper = {"learning_rate": 0.05, "momentum": 0.8}
    _compare(student, "sgd_momentum", hyper, w0, _grads(rng, w0.shape, 8))


@pytest.mark.points(1)
def test_sgd_momentum_preloaded_velocity(student, rng):
    """sgd_momentum: continues from a given config['velocity'] as torch does from its buffer"""
    w0 = rng.standard_normal((3, 4))
    hyper = {"learning_rate": 0.1, "momentum": 0.6}
    state = {"velocity": rng.standard_normal(w0.shape)}
    _compare(student, "sgd_momentum", hyper, w0, _grads(rng, w0.shape, 3), state)


@pytest.mark.points(3)
def test_nesterov_trajectory_and_velocity(student, rng):
    """nesterov_momentum: 8 steps match torch SGD(momentum=0.7, nesterov=True), state too"""
    w0 = rng.standard_normal((6,))
    hyper = {"learning_rate": 0.05, "momentum": 0.7}
    _compare(student, "nesterov_momentum", hyper, w0, _grads(rng, w0.shape, 8))


@pytest.mark.points(1)
def test_nesterov_preloaded_velocity(student, rng):
    """nesterov_momentum: continues from a given config['velocity'] as torch does"""
    w0 = rng.standard_normal((2, 5))
    hyper = {"learning_rate": 0.2, "momentum": 0.5}
    state = {"velocity": rng.standard_normal(w0.shape)}
    _compare(student, "nesterov_momentum", hyper, w0, _grads(rng, w0.shape, 3), state)


# ---------------------------------------------------------------------------------------------
# AdaGrad and RMSProp
# ---------------------------------------------------------------------------------------------


@pytest.mark.points(2)
def test_adagrad_trajectory_and_cache(student, rng):
    """adagrad: 8 steps match torch.optim.Adagrad (lr=0.2), cache = torch's sum of squares"""
    w0 = rng.standard_normal((4, 4))
    hyper = {"learning_rate": 0.2, "epsilon": 1e-10}
    _compare(student, "adagrad", hyper, w0, _grads(rng, w0.shape, 8))


@pytest.mark.points(1)
def test_adagrad_epsilon_after_sqrt(student, rng):
    """adagrad: epsilon is added after the square root (large epsilon, tiny gradients)"""
    w0 = rng.standard_normal((3, 3))
    _compare(student, "adagrad", {"learning_rate": 0.1, "epsilon": 1e-1}, w0,
             _grads(rng, w0.shape, 4, scale=0.1), check_state=False)
    _compare(student, "adagrad", {"learning_rate": 0.1, "epsilon": 1e-7}, w0,
             _grads(rng, w0.shape, 4, scale=1e-6), check_state=False)


@pytest.mark.points(1)
def test_adagrad_preloaded_cache(student, rng):
    """adagrad: continues from a given config['cache'] as torch does from its sum"""
    w0 = rng.standard_normal((5,))
    state = {"cache": rng.uniform(0.5, 2.0, w0.shape)}
    _compare(student, "adagrad", {"learning_rate": 0.3, "epsilon": 1e-10}, w0,
             _grads(rng, w0.shape, 3), state)


@pytest.mark.points(2)
def test_rmsprop_trajectory_and_cache(student, rng):
    """rmsprop: 8 steps match torch.optim.RMSprop (alpha = decay_rate = 0.9), cache too"""
    w0 = rng.standard_normal((3, 5))
    hyper = {"learning_rate": 0.01, "decay_rate": 0.9, "epsilon": 1e-8}
    _compare(student, "rmsprop", hyper, w0, _grads(rng, w0.shape, 8))


@pytest.mark.points(1)
def test_rmsprop_epsilon_after_sqrt(student, rng):
    """rmsprop: epsilon is added after the square root (large epsilon, tiny gradients)"""
    w0 = rng.standard_normal((4, 2))
    _compare(student, "rmsprop", {"learning_rate": 0.01, "decay_rate": 0.95, "epsilon": 1e-1},
             w0, _grads(rng, w0.shape, 4, scale=0.1), check_state=False)
    _compare(student, "rmsprop", {"learning_rate": 0.01, "decay_rate": 0.95, "epsilon": 1e-8},
             w0, _grads(rng, w0.shape, 4, scale=1e-6), check_state=False)


@pytest.mark.points(1)
def test_rmsprop_preloaded_cache(student, rng):
    """rmsprop: continues from a given config['cache'] as torch does from its square_avg"""
    w0 = rng.standard_normal((2, 3))
    state = {"cache": rng.uniform(0.5, 2.0, w0.shape)}
    hyper = {"learning_rate": 0.05, "decay_rate": 0.8, "epsilon": 1e-8}
    _compare(student, "rmsprop", hyper, w0, _grads(rng, w0.shape, 3), state)


# ---------------------------------------------------------------------------------------------
# Adam
# ---------------------------------------------------------------------------------------------


@pytest.mark.points(3)
def test_adam_trajectory_and_moments(student, rng):
    """adam: 8 steps match torch.optim.Adam (betas 0.8, 0.95), with m, v and t"""
    w0 = rng.standard_normal((4, 3))
    hyper = {"learning_rate": 0.02, "beta1": 0.8, "beta2": 0.95, "epsilon": 1e-8}
    _compare(student, "adam", hyper, w0, _grads(rng, w0.shape, 8))


@pytest.mark.points(2)
def test_adam_epsilon_after_bias_corrected_sqrt(student, rng):
    """adam: epsilon is added to sqrt(v_hat), after bias correction (large eps, tiny gradients)"""
    w0 = rng.standard_normal((3, 4))
    _compare(student, "adam",
             {"learning_rate": 0.01, "beta1": 0.9, "beta2": 0.99, "epsilon": 1e-1},
             w0, _grads(rng, w0.shape, 4, scale=0.1), check_state=False)
    _compare(student, "adam",
             {"learning_rate": 0.01, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8},
             w0, _grads(rng, w0.shape, 4, scale=1e-6), check_state=False)


@pytest.mark.points(2)
def test_adam_preloaded_state(student, rng):
    """adam: continues from given m, v and t = 5 as torch does (bias correction uses t = 6, 7, 8)"""
    w0 = rng.standard_normal((5,))
    state = {"m": 0.3 * rng.standard_normal(w0.shape),
             "v": rng.uniform(0.05, 0.5, w0.shape), "t": 5}
    hyper = {"learning_rate": 0.05, "beta1": 0.7, "beta2": 0.9, "epsilon": 1e-8}
    _compare(student, "adam", hyper, w0, _grads(rng, w0.shape, 3), state)


# ---------------------------------------------------------------------------------------------
# Contract: defaults and no in-place modification
# ---------------------------------------------------------------------------------------------


@pytest.mark.points(1)
def test_config_none_fills_defaults(student, rng):
    """every rule: config=None fills in the course defaults, and the step uses them"""
    w0 = rng.standard_normal((3, 2))
    # Gradients ~10: large enough that the default epsilons' placement stays below rtol.
    g = _grad(rng, w0.shape, scale=10.0)
    for rule, defaults in DEFAULTS.items():
        next_w, config = getattr(student, rule)(w0.copy(), g.copy(), None)
        assert_true(isinstance(config, dict),
                    f"{rule}(w, dw, None) must return (next_w, config) with config a dict")
        for key, value in defaults.items():
            assert_true(key in config and config[key] == value,
                        f"{rule}(w, dw, None): config[{key!r}] should default to {value}, "
                        f"got {config.get(key, '<missing>')!r}")
        (d_ref, _), = _torch_run(rule, defaults, w0, [g])
        assert_close(next_w - w0, d_ref, fn=rule, inputs={"w": w0, "dw": g}, rtol=RTOL,
                     atol=_atol(d_ref), what="update next_w - w with default hyperparameters")


@pytest.mark.points(2)
def test_inputs_not_modified(student, rng):
    """every rule: w and dw are not modified in place (config is the only thing updated)"""
    for rule in DEFAULTS:
        config: dict[str, Any] | None = None
        for _ in range(2):  # the second call starts from existing state
            w = rng.standard_normal((4, 3))
            dw = rng.standard_normal(w.shape)
            _, config = getattr(student, rule)(w, dw, config)
            assert_inputs_unchanged(student, fn=rule, inputs={"w": w, "dw": dw})
