# %% [markdown]
# ## Explore: what the augmentations look like
# These cells are not graded. They use your `random_crop`, `cutout`, `hflip` and `mixup` on a
# synthetic image (a smiley), so that nothing has to be downloaded.

# %%
import numpy as np


def smiley(size: int = 28) -> np.ndarray:
    """A (1, 1, size, size) test image: a face with two eyes and a mouth."""
    yy, xx = np.mgrid[0:size, 0:size] / (size - 1) * 2 - 1
    face = (xx**2 + yy**2 < 0.8).astype(float)
    eyes = ((xx - 0.3) ** 2 + (yy + 0.3) ** 2 < 0.02) | ((xx + 0.3) ** 2 + (yy + 0.3) ** 2 < 0.02)
    mouth = (np.abs(xx**2 + (yy - 0.1) ** 2 - 0.2) < 0.04) & (yy > 0.3)
    return (face - eyes - mouth).clip(0, 1)[None, None]


def show_row(images: np.ndarray, title: str) -> None:
    """Plot the first channel of every image of a (N, C, H, W) batch side by side."""
    import matplotlib.pyplot as plt

    _, axes = plt.subplots(1, len(images), figsize=(2 * len(images), 2.3))
    for ax, img in zip(axes, images, strict=True):
        ax.imshow(img[0], cmap="gray", vmin=0, vmax=1)
        ax.axis("off")
    plt.suptitle(title)
    plt.show()


# %%
rng = np.random.default_rng(0)
batch = np.repeat(smiley(), 6, axis=0)
show_row(random_crop(batch, 28, 4, rng), "random_crop(size=28, padding=4)")  # noqa: F821
show_row(cutout(batch, 12, rng), "cutout(size=12)")  # noqa: F821
show_row(hflip(random_crop(batch, 28, 4, rng)), "hflip after random_crop")  # noqa: F821

# %%
# mixup of the smiley with its flipped copy: watch lam for a small and a large alpha.
pair = np.concatenate([smiley(), hflip(smiley())[:, :, ::-1]])  # noqa: F821
labels = np.eye(2)
for alpha in (0.2, 4.0):
    lams = [mixup(pair, labels, alpha, rng)[2] for _ in range(2000)]  # noqa: F821
    print(f"alpha={alpha}: lam quantiles", np.round(np.quantile(lams, [0.1, 0.5, 0.9]), 3))
