# %% [markdown]
# ## Exploration: activation statistics in a 7-layer network
#
# The lecture's experiment: unit-Gaussian inputs go through 7 fully connected layers of 500
# units, no biases, with tanh or relu, and we look at the distribution of every layer's
# activations for four initializations: all zeros, too small (0.01·N(0, 1)), Xavier and He.
# Nothing here is graded; it uses the functions you wrote above.

# %%
import numpy as np

if "layer_stats" not in globals():  # run as a script: take the functions from the module
    from activations import he_normal, layer_stats, relu_forward, tanh_forward, xavier_normal

N_INPUTS, WIDTH, DEPTH = 1000, 500, 7
rng = np.random.default_rng(0)
x0 = rng.standard_normal((N_INPUTS, WIDTH))

INITS = {
    "zeros": lambda fi, fo: np.zeros((fi, fo)),
    "0.01·N(0,1)": lambda fi, fo: 0.01 * rng.standard_normal((fi, fo)),
    "Xavier": lambda fi, fo: xavier_normal(fi, fo, rng),
    "He": lambda fi, fo: he_normal(fi, fo, rng),
}
ACTIVATIONS = {"tanh": tanh_forward, "relu": relu_forward}


def activations_per_layer(weights: list[np.ndarray], forward) -> list[np.ndarray]:
    """h_{l+1} = f(h_l @ W_l) for every layer, starting from x0; returns [h_1, ..., h_L]."""
    hs, h = [], x0
    for w in weights:
        h, _ = forward(h @ w)
        hs.append(h)
    return hs


# %% [markdown]
# Mean and standard deviation of every layer (your `layer_stats`). Before running: which
# initialization do you expect to keep the standard deviation roughly constant for tanh? For relu?

# %%
weights = {name: [init(WIDTH, WIDTH) for _ in range(DEPTH)] for name, init in INITS.items()}
for act in ACTIVATIONS:
    for name, ws in weights.items():
        stats = layer_stats(x0, ws, act)
        print(f"{act:5s} {name:12s} std per layer:", " ".join(f"{s:8.2e}" for _, s in stats))

# %% [markdown]
# Histograms: one row per initialization, one column per layer, on a common x-range per
# activation. Zeros are excluded from the relu histograms (about half of the units are exactly
# 0); the fraction of zeros is in each title.

# %%
def plot_layer_histograms(act: str, forward) -> None:
    """One row per initialization, one column per layer: histograms of h_l for activation act."""
    # Imported here, not at the top: a graded notebook keeps top-level imports, and grading
    # must not load matplotlib.
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(INITS), DEPTH, figsize=(2.2 * DEPTH, 2.0 * len(INITS)),
                             sharey="row")
    for row, (name, ws) in enumerate(weights.items()):
        for layer, h in enumerate(activations_per_layer(ws, forward)):
            ax = axes[row, layer]
            values = h.ravel()
            zero_frac = np.mean(values == 0)
            if act == "relu":
                values = values[values != 0]
            # One x-range per activation, so that shrinking or saturating layers show as such.
            ax.hist(values, bins=50, range=(-1, 1) if act == "tanh" else (0, 3))
            ax.set_title(f"L{layer + 1} std={h.std():.1e}\n0s: {zero_frac:.0%}", fontsize=8)
            ax.tick_params(labelsize=6)
        axes[row, 0].set_ylabel(name)
    fig.suptitle(f"{act}: activations per layer ({DEPTH} layers of {WIDTH} units)")
    fig.tight_layout()
    plt.show()


for act, forward in ACTIVATIONS.items():
    plot_layer_histograms(act, forward)

# %% [markdown]
# Questions to think about:
# 1. With zero weights every activation is 0 for tanh (and relu): why does gradient descent
#    never break this symmetry?
# 2. With 0.01·N(0, 1) the std shrinks by about sqrt(500)·0.01 ≈ 0.22 per layer. What happens to
#    the gradients of the first layers' weights (hint: dW_l = h_{l-1}ᵀ · dh_l)?
# 3. Why does Xavier keep tanh healthy but let relu activations shrink, and what does the
#    factor 2 of He initialization compensate for?
