# %% [markdown]
# ## Explore: cross-entropy versus mean squared error
# These cells are not graded. They use your `bce_with_logits_loss` and `mse_loss`.

# %%
import matplotlib.pyplot as plt
import numpy as np

# %%
# Loss and gradient with respect to the logit z for a positive example (y = 1), p = sigmoid(z).
# Cross-entropy keeps pushing when the model is confidently wrong (z << 0); MSE through the
# sigmoid saturates there: its gradient 2 (p - y) p (1 - p) vanishes.
z = np.linspace(-10, 10, 401)
p = 1 / (1 + np.exp(-z))
one = np.ones(1)
ce, d_ce, mse, d_mse = [], [], [], []
for zi, pi in zip(z, p, strict=True):
    loss, dz = bce_with_logits_loss(np.array([zi]), one)  # noqa: F821 (graded cells above)
    ce.append(loss)
    d_ce.append(dz[0])
    loss, dp = mse_loss(np.array([pi]), one)  # noqa: F821
    mse.append(loss)
    d_mse.append(dp[0] * pi * (1 - pi))  # chain rule through the sigmoid: dp/dz = p (1 - p)

fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
ax1.plot(z, ce, label="cross-entropy")
ax1.plot(z, mse, label="MSE on sigmoid(z)")
ax1.set_xlabel("logit z (label y = 1)")
ax1.set_title("loss")
ax1.legend()
ax2.plot(z, d_ce, label="cross-entropy: p - y")
ax2.plot(z, d_mse, label="MSE: 2 (p - y) p (1 - p)")
ax2.set_xlabel("logit z (label y = 1)")
ax2.set_title("gradient with respect to z")
ax2.legend()
plt.tight_layout()
plt.show()

# %%
# Temperature: softmax(x / T) is sharp for small T and flat for large T; its entropy goes from
# 0 (one-hot) to log C (uniform).
scores = np.array([[2.0, 1.0, 0.5, -1.0, 0.0]])
temps = np.logspace(-2, 2, 100)
ents = [entropy(softmax(scores / t)[0]) for t in temps]  # noqa: F821
plt.semilogx(temps, ents)
plt.axhline(np.log(scores.shape[1]), color="k", ls="--", label="log C")
plt.xlabel("temperature T")
plt.ylabel("entropy of softmax(x / T) [nats]")
plt.legend()
plt.show()

# %%
# KL is not symmetric: compare KL(p || q) and KL(q || p) for two distributions.
p = np.array([0.7, 0.2, 0.1, 0.0])
q = np.array([0.25, 0.25, 0.25, 0.25])
print(f"KL(p || q) = {kl_divergence(p, q):.4f} nats")  # noqa: F821
with np.errstate(divide="ignore"):
    kl_qp = kl_divergence(q, p)  # noqa: F821
print(f"KL(q || p) = {kl_qp:.4f} nats  (inf: q puts mass where p has none)")
h_p, kl_pq = entropy(p), kl_divergence(p, q)  # noqa: F821
print(f"H(p) = {h_p:.4f}, cross-entropy H(p, q) = H(p) + KL(p || q) = {h_p + kl_pq:.4f}")
