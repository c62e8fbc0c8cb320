"""First-order optimizers, learning-rate schedules and random hyperparameter search.

Every update rule has the signature

    rule(w, dw, config=None) -> (next_w, config)

- w:      parameters, an array of any shape.
- dw:     the gradient of the loss with respect to w, same shape as w.
- config: a dict of hyperparameters (learning rate, momentum, ...) and of the optimizer's
          state (velocity, caches, step count). Missing hyperparameters are filled with the
          defaults listed in each docstring; missing state starts at zeros. The rule stores
          the new state in config and returns it.

A rule never modifies w or dw in place: it returns a new array next_w. Only config is updated.

Each rule matches the PyTorch optimizer named in its docstring step for step (same
hyperparameters, same state), so you can check your work against torch.optim.
"""

from collections.abc import Callable
from typing import Any

import numpy as np

Config = dict[str, Any]


# ---------------------------------------------------------------------------------------------
# Update rules
# ---------------------------------------------------------------------------------------------


def sgd(w: np.ndarray, dw: np.ndarray, config: Config | None = None) -> tuple[np.ndarray, Config]:
    """Vanilla stochastic gradient descent (torch.optim.SGD).

    Shapes: w, dw (any, same shape) -> next_w (same shape).
    Formula: next_w = w - learning_rate * dw.

    config keys:
    - learning_rate: step size (default 1e-2).
    """
    if config is None:
        config = {}
    config.setdefault("learning_rate", 1e-2)

    # TODO: take one step against the gradient. Build a new array (no `w -= ...`).
    raise NotImplementedError  # then: return next_w, config


def sgd_momentum(
    w: np.ndarray, dw: np.ndarray, config: Config | None = None
) -> tuple[np.ndarray, Config]:
    """SGD with (heavy-ball) momentum (torch.optim.SGD(momentum=...)).

    The velocity accumulates an exponentially decaying sum of past gradients:

        velocity = momentum * velocity + dw        (velocity starts at zeros)
        next_w   = w - learning_rate * velocity

    This is PyTorch's convention (velocity is torch's `momentum_buffer`). Some texts store
    v' = -learning_rate * velocity and write w + v'; with a constant learning rate that gives
    the same trajectory, but it is not the state this API asks for.

    Shapes: w, dw (any, same shape) -> next_w (same shape); config["velocity"] like w.

    config keys:
    - learning_rate: step size (default 1e-2).
    - momentum: decay of the velocity, in [0, 1) (default 0.9).
    - velocity: state, same shape as w.
    """
    if config is None:
        config = {}
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("momentum", 0.9)

    # TODO: read the velocity from config (zeros when absent), update it with dw, step along
    # it, and store the new velocity in config["velocity"].
    raise NotImplementedError  # then: return next_w, config


def nesterov_momentum(
    w: np.ndarray, dw: np.ndarray, config: Config | None = None
) -> tuple[np.ndarray, Config]:
    """SGD with Nesterov momentum (torch.optim.SGD(momentum=..., nesterov=True)).

    Nesterov evaluates the momentum step from the look-ahead point. Written in terms of the
    current parameters (as PyTorch does), the step uses the gradient plus the momentum of the
    *updated* velocity:

        velocity = momentum * velocity + dw        (velocity starts at zeros)
        next_w   = w - learning_rate * (dw + momentum * velocity)

    Shapes: w, dw (any, same shape) -> next_w (same shape); config["velocity"] like w.

    config keys: learning_rate (1e-2), momentum (0.9), state velocity (as sgd_momentum).
    """
    if config is None:
        config = {}
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("momentum", 0.9)

    # TODO: update the velocity first, then step with dw + momentum * (new velocity).
    raise NotImplementedError  # then: return next_w, config


def adagrad(
    w: np.ndarray, dw: np.ndarray, config: Config | None = None
) -> tuple[np.ndarray, Config]:
    """AdaGrad: per-coordinate step sizes from the sum of squared gradients (torch.optim.Adagrad).

        cache  = cache + dw**2                      (cache starts at zeros)
        next_w = w - learning_rate * dw / (sqrt(cache) + epsilon)

    epsilon is added *after* the square root, as in PyTorch. Coordinates with large past
    gradients get small steps; the steps only ever shrink, since cache never decreases.

    Shapes: w, dw (any, same shape) -> next_w (same shape); config["cache"] like w.

    config keys:
    - learning_rate: base step size (default 1e-2).
    - epsilon: keeps the division finite (default 1e-10).
    - cache: state, same shape as w.
    """
    if config is None:
        config = {}
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("epsilon", 1e-10)

    # TODO: accumulate squared gradients in config["cache"] and scale the step by
    # 1 / (sqrt(cache) + epsilon).
    raise NotImplementedError  # then: return next_w, config


def rmsprop(
    w: np.ndarray, dw: np.ndarray, config: Config | None = None
) -> tuple[np.ndarray, Config]:
    """RMSProp: AdaGrad with a leaky (exponentially decaying) cache (torch.optim.RMSprop).

        cache  = decay_rate * cache + (1 - decay_rate) * dw**2     (cache starts at zeros)
        next_w = w - learning_rate * dw / (sqrt(cache) + epsilon)

    decay_rate is PyTorch's `alpha`; epsilon is added *after* the square root.

    Shapes: w, dw (any, same shape) -> next_w (same shape); config["cache"] like w.

    config keys:
    - learning_rate: step size (default 1e-2).
    - decay_rate: how much of the old cache is kept (default 0.99).
    - epsilon: keeps the division finite (default 1e-8).
    - cache: state, same shape as w.
    """
    if config is None:
        config = {}
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("decay_rate", 0.99)
    config.setdefault("epsilon", 1e-8)

    # TODO: update the moving average of squared gradients, then take the scaled step.
    raise NotImplementedError  # then: return next_w, config


def adam(w: np.ndarray, dw: np.ndarray, config: Config | None = None) -> tuple[np.ndarray, Config]:
    """Adam: momentum on the gradient plus RMSProp scaling, both bias-corrected (torch.optim.Adam).

        t      = t + 1                                   (t counts steps; 0 before the first)
        m      = beta1 * m + (1 - beta1) * dw            (first moment, starts at zeros)
        v      = beta2 * v + (1 - beta2) * dw**2         (second moment, starts at zeros)
        m_hat  = m / (1 - beta1**t)                      (bias correction: m, v start at 0)
        v_hat  = v / (1 - beta2**t)
        next_w = w - learning_rate * m_hat / (sqrt(v_hat) + epsilon)

    t is incremented *before* the bias correction uses it, so the first step uses t = 1.

    Shapes: w, dw (any, same shape) -> next_w (same shape); config["m"], config["v"] like w.

    config keys:
    - learning_rate: step size (default 1e-3).
    - beta1: decay of the first moment (default 0.9).
    - beta2: decay of the second moment (default 0.999).
    - epsilon: added after the square root of v_hat (default 1e-8).
    - m, v: state arrays like w; t: state, the number of steps taken (int).
    """
    if config is None:
        config = {}
    config.setdefault("learning_rate", 1e-3)
    config.setdefault("beta1", 0.9)
    config.setdefault("beta2", 0.999)
    config.setdefault("epsilon", 1e-8)

    # TODO: read m, v (zeros) and t (0) from config, apply the update above and store the new
    # m, v and t back in config.
    raise NotImplementedError  # then: return next_w, config


# ---------------------------------------------------------------------------------------------
# Learning-rate schedules: t is the 0-based step (or epoch); each returns the rate for step t.
# ---------------------------------------------------------------------------------------------


def step_decay(lr0: float, t: int, step_size: int, gamma: float = 0.1) -> float:
    """Step decay: multiply the rate by gamma every step_size steps (torch StepLR).

    Formula: lr(t) = lr0 * gamma ** floor(t / step_size).
    Example: step_size=3 -> steps 0,1,2 use lr0; steps 3,4,5 use lr0*gamma; ...
    """
    # TODO: count how many full periods of step_size have passed.
    raise NotImplementedError


def linear_decay(lr0: float, t: int, total_steps: int, end_factor: float = 0.0) -> float:
    """Linear decay from lr0 to end_factor * lr0 over total_steps steps, then constant.

    Formula: lr(t) = lr0 * (1 + (end_factor - 1) * min(t, total_steps) / total_steps).
    lr(0) = lr0 and lr(total_steps) = end_factor * lr0 (torch LinearLR with start_factor=1.0).
    """
    # TODO: interpolate linearly and clamp once total_steps is reached.
    raise NotImplementedError


def inverse_sqrt(lr0: float, t: int) -> float:
    """Inverse square-root decay.

    Formula: lr(t) = lr0 / sqrt(t + 1), so lr(0) = lr0.
    """
    # TODO: one line.
    raise NotImplementedError


def linear_warmup(lr0: float, t: int, warmup_steps: int) -> float:
    """Linear warmup: ramp up to lr0 over the first warmup_steps steps, then stay at lr0.

    Formula: lr(t) = lr0 * (t + 1) / warmup_steps for t < warmup_steps, else lr0.
    The first step already uses lr0 / warmup_steps (not 0, which would waste a step).
    """
    # TODO: two cases.
    raise NotImplementedError


# ---------------------------------------------------------------------------------------------
# Random hyperparameter search
# ---------------------------------------------------------------------------------------------


def sample_param(spec: Any, rng: np.random.Generator) -> Any:
    """Draw one value for one hyperparameter.

    spec is one of
    - ("log", low, high):     log-uniform on [low, high]: log(x) ~ U(log low, log high).
                              Use it for scale parameters (learning rate, weight decay), so
                              that 1e-4..1e-3 gets as many samples as 1e-2..1e-1.
    - ("uniform", low, high): x ~ U(low, high).
    - a list of choices:      one element of the list, each equally likely.
    """
    # TODO: tell the three cases apart and sample with rng (no global np.random).
    raise NotImplementedError


def random_search(
    objective: Callable[[dict[str, Any]], float],
    space: dict[str, Any],
    n_trials: int,
    seed: int,
) -> tuple[dict[str, Any], float]:
    """Random search: evaluate n_trials random configurations, keep the best (lowest) one.

    - objective(params) -> float, the value to minimize (e.g. a validation loss); params maps
      every name in space to a sampled value. It must be called exactly n_trials times.
    - space: name -> spec (see sample_param).
    - seed: the only source of randomness: the same seed gives the same trials.

    Returns (best_params, best_value) with best_value = objective(best_params) the smallest
    value seen.

    Why random rather than grid search: with a budget of n trials a grid tries only n**(1/d)
    distinct values of each of d hyperparameters, while random search tries n distinct values
    of every one of them, which pays off when only a few hyperparameters really matter.
    """
    # TODO: build a generator from seed, then sample, evaluate and keep the best n_trials times.
    raise NotImplementedError
