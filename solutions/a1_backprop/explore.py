# %% [markdown]
# ## Explore: what did the XOR network learn?
# These cells are not graded. They use your `train_xor` and `two_layer_net`.

# %%
import matplotlib.pyplot as plt
import numpy as np

X_XOR = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
Y_XOR = np.array([0.0, 1.0, 1.0, 0.0])

# %%
# Decision boundary: p(x) over a grid of the input plane for a few seeds. Each seed finds its
# own solution, but all of them bend the boundary around the two classes.
grid = np.linspace(-0.5, 1.5, 201)
gx, gy = np.meshgrid(grid, grid)
points = np.stack([gx.ravel(), gy.ravel()], axis=1)

fig, axes = plt.subplots(1, 3, figsize=(12, 4))
for ax, seed in zip(axes, (0, 1, 2), strict=True):
    params = train_xor(seed)  # noqa: F821 (defined in the graded cells above)
    p = two_layer_net(points, params).reshape(gx.shape)  # noqa: F821
    ax.contourf(gx, gy, p, levels=20, cmap="RdBu_r", vmin=0, vmax=1)
    ax.contour(gx, gy, p, levels=[0.5], colors="k")
    ax.scatter(X_XOR[:, 0], X_XOR[:, 1], c=Y_XOR, cmap="RdBu_r", edgecolors="k", s=120)
    ax.set_title(f"seed {seed}: p(x) and the boundary p = 0.5")
plt.tight_layout()
plt.show()

# %%
# Training curve: the loss of gradient descent step by step, with your gradients.
rng = np.random.default_rng(0)
params = {
    "W1": rng.standard_normal((2, 8)),
    "b1": np.zeros(8),
    "W2": rng.standard_normal((8, 1)),
    "b2": np.zeros(1),
}
losses = []
for _ in range(3000):
    loss, grads = two_layer_net(X_XOR, params, Y_XOR)  # noqa: F821
    losses.append(loss)
    params = {k: v - 2.0 * grads[k] for k, v in params.items()}
plt.semilogy(losses)
plt.xlabel("step")
plt.ylabel("mean binary cross-entropy")
plt.title("XOR training")
plt.show()

# %%
# What the hidden units compute: each one is a sigmoid neuron, a soft half-plane. The output
# neuron combines these half-planes into the XOR pattern.
params = train_xor(0)  # noqa: F821
hidden = 1 / (1 + np.exp(-(points @ params["W1"] + params["b1"])))
n_hidden = hidden.shape[1]
fig, axes = plt.subplots(1, n_hidden, figsize=(2.2 * n_hidden, 2.4))
for k, ax in enumerate(np.atleast_1d(axes)):
    ax.contourf(gx, gy, hidden[:, k].reshape(gx.shape), levels=20, cmap="viridis")
    ax.set_title(f"h{k}, w2={params['W2'][k, 0]:.1f}", fontsize=8)
    ax.set_xticks([])
    ax.set_yticks([])
plt.tight_layout()
plt.show()

# %%
# The lecture's sigmoid neuron with your Value class: compare with the table in the README.
w0, x0, w1, x1, w2 = (Value(v) for v in (2.0, -1.0, -3.0, -2.0, -3.0))  # noqa: F821
f = 1 / (1 + (-(w0 * x0 + w1 * x1 + w2)).exp())
f.backward()
for name, node in {"w0": w0, "x0": x0, "w1": w1, "x1": x1, "w2": w2}.items():
    print(f"df/d{name} = {node.grad:+.3f}")
