# %% [markdown]
# ## Explore: what filters see, and what vectorizing buys
# These cells are not graded. They use your `conv_forward_fast`, `conv_forward_naive` and
# `max_pool_forward`.

# %%
import time

import numpy as np


def show_maps(image: np.ndarray, maps: np.ndarray, titles: list[str]) -> None:
    """The input image next to one feature map per filter."""
    import matplotlib.pyplot as plt

    _, axes = plt.subplots(1, len(titles) + 1, figsize=(3 * (len(titles) + 1), 3))
    axes[0].imshow(image, cmap="gray")
    axes[0].set_title("input")
    for ax, fmap, title in zip(axes[1:], maps, titles, strict=True):
        ax.imshow(fmap, cmap="RdBu_r")
        ax.set_title(title)
    for ax in axes:
        ax.axis("off")
    plt.tight_layout()
    plt.show()


# %%
# Edge detectors by hand: Sobel filters respond to vertical and horizontal intensity changes.
# The image is a bright square on a dark background with a little noise.
rng = np.random.default_rng(0)
image = np.zeros((32, 32))
image[8:24, 8:24] = 1.0
image += 0.05 * rng.standard_normal(image.shape)
sobel_x = np.array([[1.0, 0.0, -1.0], [2.0, 0.0, -2.0], [1.0, 0.0, -1.0]])
filters = np.stack([sobel_x, sobel_x.T, np.full((3, 3), 1 / 9)])[:, None]  # (3, 1, 3, 3)
maps, _ = conv_forward_fast(image[None, None], filters, np.zeros(3),  # noqa: F821
                            {"stride": 1, "pad": 1})
show_maps(image, maps[0], ["vertical edges", "horizontal edges", "3 x 3 blur"])

# %%
# Max pooling keeps the strongest response of each 2 x 2 window: the edges survive at half
# the resolution.
pooled, _ = max_pool_forward(np.abs(maps), {"pool_height": 2, "pool_width": 2,  # noqa: F821
                                            "stride": 2})
show_maps(image, pooled[0], ["|vertical| pooled", "|horizontal| pooled", "blur pooled"])

# %%
# Naive vs fast: the loop version runs one Python iteration per output position, so its time
# grows with the image area; the vectorized one hands all positions to numpy at once.
w = rng.standard_normal((16, 8, 3, 3))
for size in (8, 16, 32):
    x = rng.standard_normal((16, 8, size, size))
    times = {}
    for kind, forward in (("naive", conv_forward_naive), ("fast", conv_forward_fast)):  # noqa: F821
        t0 = time.perf_counter()
        forward(x, w, np.zeros(16), {"stride": 1, "pad": 1})
        times[kind] = time.perf_counter() - t0
    print(f"{size:2d} x {size:2d}: naive {times['naive']:.3f} s, fast {times['fast']:.3f} s")
