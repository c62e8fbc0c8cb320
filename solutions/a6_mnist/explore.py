# %% [markdown]
# ## Exploration: training, loss curves and mistakes
#
# Nothing here is graded. These cells load Fashion-MNIST with torchvision, train your models
# with a hand-written loop that also tracks a validation set, plot the loss curves (watch for
# overfitting: the validation loss turning up while the training loss keeps falling), show the
# test images your CNN gets wrong, and save the checkpoints you submit.

# %%
import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F
import torchvision

if "build_cnn" not in globals():  # run as a script: take the functions from the module
    from mnist_models import build_cnn, build_mlp, normalize

torch.set_num_threads(max(1, torch.get_num_threads()))
DEVICE = "cuda" if torch.cuda.is_available() else "cpu"
train_set = torchvision.datasets.FashionMNIST("data", train=True, download=True)
test_set = torchvision.datasets.FashionMNIST("data", train=False, download=True)
CLASSES = train_set.classes

# Hold out the last 5,000 training images for validation; the test set stays untouched.
x_train, y_train = train_set.data[:55000], train_set.targets[:55000]
x_val, y_val = train_set.data[55000:], train_set.targets[55000:]
x_test, y_test = test_set.data, test_set.targets
print(x_train.shape, x_train.dtype, y_train[:10], CLASSES)

# %%
fig, axes = plt.subplots(2, 8, figsize=(12, 3.4))
for ax, img, label in zip(axes.flat, x_train, y_train, strict=False):
    ax.imshow(img, cmap="gray")
    ax.set_title(CLASSES[label], fontsize=8)
    ax.axis("off")
plt.tight_layout()
plt.show()


# %% [markdown]
# A training loop skeleton with a validation pass after every epoch. Before running it: which
# model do you expect to overfit sooner, the MLP or the CNN, and why?

# %%
@torch.no_grad()
def evaluate(model: torch.nn.Module, images: torch.Tensor, labels: torch.Tensor,
             batch: int = 1000) -> tuple[float, float]:
    """Mean cross-entropy and accuracy of ``model`` (eval mode) on uint8 images."""
    model.eval()
    loss, correct = 0.0, 0
    for i in range(0, len(images), batch):
        logits = model(normalize(images[i:i + batch]).to(DEVICE))
        y = labels[i:i + batch].to(DEVICE)
        loss += F.cross_entropy(logits, y, reduction="sum").item()
        correct += (logits.argmax(1) == y).sum().item()
    return loss / len(images), correct / len(images)


def fit(model: torch.nn.Module, epochs: int = 10, lr: float = 1e-3,
        batch_size: int = 128, seed: int = 0) -> dict[str, list[float]]:
    """Adam on shuffled minibatches; returns per-epoch train/validation loss and accuracy."""
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    model.to(DEVICE)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    x_all = normalize(x_train)
    curves: dict[str, list[float]] = {"train_loss": [], "val_loss": [], "val_acc": []}
    for epoch in range(epochs):
        model.train()
        order = torch.randperm(len(x_all), generator=gen)
        total = 0.0
        for start in range(0, len(order), batch_size):
            idx = order[start:start + batch_size]
            x, y = x_all[idx].to(DEVICE), y_train[idx].to(DEVICE)
            loss = F.cross_entropy(model(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(idx)
        val_loss, val_acc = evaluate(model, x_val, y_val)
        curves["train_loss"].append(total / len(x_all))
        curves["val_loss"].append(val_loss)
        curves["val_acc"].append(val_acc)
        print(f"epoch {epoch + 1}: train loss {total / len(x_all):.4f}, "
              f"val loss {val_loss:.4f}, val acc {val_acc:.4f}")
    return curves


mlp, cnn = build_mlp(), build_cnn()
mlp_curves = fit(mlp, epochs=10)
cnn_curves = fit(cnn, epochs=5)

# %% [markdown]
# Loss curves. Where does the validation loss stop falling? What would early stopping do here?

# %%
fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
for ax, (name, curves) in zip(axes, [("MLP", mlp_curves), ("CNN", cnn_curves)], strict=True):
    epochs = range(1, len(curves["train_loss"]) + 1)
    ax.plot(epochs, curves["train_loss"], "o-", label="train")
    ax.plot(epochs, curves["val_loss"], "s-", label="validation")
    ax.set(title=f"{name} cross-entropy", xlabel="epoch", ylabel="loss")
    ax.legend()
plt.tight_layout()
plt.show()
mlp_acc, cnn_acc = evaluate(mlp, x_test, y_test)[1], evaluate(cnn, x_test, y_test)[1]
print(f"test accuracy: MLP {mlp_acc:.4f}, CNN {cnn_acc:.4f}")

# %% [markdown]
# The CNN's mistakes: a grid of misclassified test images, true and predicted class. Which
# classes does it confuse, and would you have done better?

# %%
with torch.no_grad():
    cnn.eval()
    predicted = torch.cat([cnn(normalize(x_test[i:i + 1000]).to(DEVICE)).argmax(1).cpu()
                           for i in range(0, len(x_test), 1000)])
wrong = torch.nonzero(predicted != y_test).flatten()
fig, axes = plt.subplots(4, 8, figsize=(12, 6.5))
for ax, i in zip(axes.flat, wrong[:32].tolist(), strict=False):
    ax.imshow(x_test[i], cmap="gray")
    ax.set_title(f"{CLASSES[y_test[i]]}\n-> {CLASSES[predicted[i]]}", fontsize=7)
    ax.axis("off")
plt.suptitle(f"{len(wrong)} of {len(x_test)} test images misclassified (true -> predicted)")
plt.tight_layout()
plt.show()

# %% [markdown]
# Save what you submit (the state_dicts only), and check they load into fresh models.

# %%
torch.save(mlp.state_dict(), "mlp.pt")
torch.save(cnn.state_dict(), "cnn.pt")
build_mlp().load_state_dict(torch.load("mlp.pt", weights_only=True))
build_cnn().load_state_dict(torch.load("cnn.pt", weights_only=True))
