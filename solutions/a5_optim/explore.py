# %% [markdown]
# ## Explore: the optimizers on a 2-D landscape
#
# We run every update rule from the same starting point on two functions of (x, y):
#
# - an ill-conditioned quadratic valley, 50 times steeper across than along, where plain SGD
#   zig-zags and momentum / adaptive methods shine;
# - the Rosenbrock function, f = (1 - x)**2 + 100 (y - x**2)**2, a curved, flat-bottomed valley
#   with its minimum at (1, 1).
#
# These cells are not graded. They use your update rules, schedules and `random_search` from
# the graded cells above. Try other learning rates, momentum values and starting points.

# %%
import matplotlib.pyplot as plt
import numpy as np

# Your update rules, defined in the graded cells above.
RULES = {
    "sgd": sgd,  # noqa: F821
    "sgd_momentum": sgd_momentum,  # noqa: F821
    "nesterov_momentum": nesterov_momentum,  # noqa: F821
    "adagrad": adagrad,  # noqa: F821
    "rmsprop": rmsprop,  # noqa: F821
    "adam": adam,  # noqa: F821
}


def valley(p: np.ndarray) -> tuple[float, np.ndarray]:
    """f(x, y) = 0.5 * (x**2 + 50 * y**2); returns (f, gradient of shape (2,))."""
    x, y = p
    return 0.5 * (x**2 + 50.0 * y**2), np.array([x, 50.0 * y])


def rosenbrock(p: np.ndarray) -> tuple[float, np.ndarray]:
    """f(x, y) = (1 - x)**2 + 100 (y - x**2)**2; returns (f, gradient of shape (2,))."""
    x, y = p
    f = (1.0 - x) ** 2 + 100.0 * (y - x**2) ** 2
    grad = np.array([-2.0 * (1.0 - x) - 400.0 * x * (y - x**2), 200.0 * (y - x**2)])
    return f, grad


def trajectory(rule, fn, start, config, steps: int) -> tuple[np.ndarray, np.ndarray]:
    """Run `steps` updates; returns the points (steps+1, 2) and the losses (steps+1,)."""
    p, config = np.array(start, dtype=float), dict(config)
    points, losses = [p], [fn(p)[0]]
    for _ in range(steps):
        _, grad = fn(p)
        p, config = rule(p, grad, config)
        points.append(p)
        losses.append(fn(p)[0])
    return np.array(points), np.array(losses)


# %%
# Hyperparameters picked by hand so that every method gets somewhere in the step budget.
SETTINGS = {
    "valley": (valley, (-9.0, 1.5), 100, {
        "sgd": {"learning_rate": 0.035},
        "sgd_momentum": {"learning_rate": 0.01, "momentum": 0.8},
        "nesterov_momentum": {"learning_rate": 0.01, "momentum": 0.8},
        "adagrad": {"learning_rate": 1.5},
        "rmsprop": {"learning_rate": 0.1},
        "adam": {"learning_rate": 0.5},
    }),
    "rosenbrock": (rosenbrock, (-1.2, 1.0), 3000, {
        "sgd": {"learning_rate": 1e-3},
        "sgd_momentum": {"learning_rate": 1e-4, "momentum": 0.9},
        "nesterov_momentum": {"learning_rate": 1e-4, "momentum": 0.9},
        "adagrad": {"learning_rate": 0.5},
        "rmsprop": {"learning_rate": 1e-3},
        "adam": {"learning_rate": 2e-2},
    }),
}

fig, axes = plt.subplots(2, 2, figsize=(13, 10))
for row, (name, (fn, start, steps, configs)) in enumerate(SETTINGS.items()):
    ax_path, ax_loss = axes[row]
    xs = np.linspace(-10, 3, 300) if name == "valley" else np.linspace(-2, 2, 300)
    ys = np.linspace(-2, 2, 300) if name == "valley" else np.linspace(-1, 3, 300)
    X, Y = np.meshgrid(xs, ys)
    Z = np.vectorize(lambda a, b, f=fn: f(np.array([a, b]))[0])(X, Y)
    ax_path.contour(X, Y, np.log1p(Z), levels=30, cmap="Greys", linewidths=0.6)
    for rule_name, config in configs.items():
        pts, losses = trajectory(RULES[rule_name], fn, start, config, steps)
        ax_path.plot(pts[:, 0], pts[:, 1], ".-", ms=2, lw=1, label=rule_name)
        ax_loss.semilogy(losses + 1e-16, label=rule_name)
    ax_path.set_title(f"{name}: paths from {start}")
    ax_path.set_xlim(xs[0], xs[-1])
    ax_path.set_ylim(ys[0], ys[-1])
    ax_path.legend(fontsize=8)
    ax_loss.set_title(f"{name}: loss per step")
    ax_loss.set_xlabel("step")
    ax_loss.legend(fontsize=8)
plt.tight_layout()
plt.show()

# %% [markdown]
# Questions to think about:
# - Why does SGD need a tiny learning rate on the valley, and what limits it?
# - Momentum overshoots and spirals: which hyperparameter controls that?
# - AdaGrad slows down over time on Rosenbrock: why, and how does RMSProp fix it?
# - Adam's first steps all have length about `learning_rate` per coordinate: why?

# %%
# Schedules: the learning rate over 100 steps.
t = np.arange(100)
schedules = {
    "step_decay (30, 0.5)": [step_decay(1.0, s, 30, 0.5) for s in t],  # noqa: F821
    "linear_decay (80, 0.1)": [linear_decay(1.0, s, 80, 0.1) for s in t],  # noqa: F821
    "inverse_sqrt": [inverse_sqrt(1.0, s) for s in t],  # noqa: F821
    "linear_warmup (10)": [linear_warmup(1.0, s, 10) for s in t],  # noqa: F821
}
plt.figure(figsize=(7, 4))
for label, lrs in schedules.items():
    plt.plot(t, lrs, label=label)
plt.xlabel("step t")
plt.ylabel("learning rate / lr0")
plt.legend()
plt.show()

# %%
# Random search on the Rosenbrock problem: which (learning rate, momentum) pairs reach a low
# loss with momentum SGD in 500 steps? Note the log scale on the learning rate axis.
def rosenbrock_loss(params: dict) -> float:
    _, losses = trajectory(RULES["sgd_momentum"], rosenbrock, (-1.2, 1.0),
                           {"learning_rate": params["lr"], "momentum": params["momentum"]}, 500)
    last = losses[-1]
    return float(last) if np.isfinite(last) else 1e6


seen = []


def recorded(params: dict) -> float:
    value = rosenbrock_loss(params)
    seen.append((params["lr"], params["momentum"], value))
    return value


with np.errstate(over="ignore", invalid="ignore"):
    best, best_value = random_search(  # noqa: F821
        recorded, {"lr": ("log", 1e-6, 1e-2), "momentum": ("uniform", 0.0, 0.99)}, 60, seed=0)
print("best:", best, "loss:", best_value)
lr_s, mom_s, val_s = map(np.array, zip(*seen, strict=True))
plt.figure(figsize=(6, 4))
plt.scatter(lr_s, mom_s, c=np.log10(np.minimum(val_s, 1e6)), cmap="viridis")
plt.xscale("log")
plt.colorbar(label="log10 loss after 500 steps")
plt.xlabel("learning rate")
plt.ylabel("momentum")
plt.show()
