"""Public tests for mnist_models.py: shapes, dtypes and known values. No data set needed.

Run them with `pytest tests/` (or `grader check a6_mnist`). The graded tests also check the
parameter limits and measure your models' test accuracy (see the README).
"""

from __future__ import annotations

import mnist_models as M
import pytest
import torch


@pytest.mark.parametrize(("w", "k", "p", "s", "expected"), [
    (28, 5, 0, 1, 24),   # "valid" 5x5 convolution
    (28, 3, 1, 1, 28),   # "same" 3x3 convolution
    (28, 2, 0, 2, 14),   # 2x2 max pooling, stride 2
    (7, 3, 1, 2, 4),     # floor((7 - 3 + 2) / 2) + 1 = 3 + 1
    (32, 5, 2, 3, 11),   # floor(31 / 3) + 1 = 10 + 1
    (1, 1, 0, 1, 1),
])
def test_conv_output_size_known_values(w: int, k: int, p: int, s: int, expected: int) -> None:
    assert M.conv_output_size(w, k, p, s) == expected


def test_conv_output_size_returns_an_int() -> None:
    assert type(M.conv_output_size(28, 5, 0, 1)) is int


def random_images(n: int, seed: int = 0) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (n, 28, 28), generator=gen, dtype=torch.uint8)


def test_normalize_shape_and_dtype() -> None:
    out = M.normalize(random_images(5))
    assert tuple(out.shape) == (5, 1, 28, 28)
    assert out.is_floating_point()
    assert torch.isfinite(out).all()


def test_normalize_leaves_its_input_unchanged() -> None:
    images = random_images(3)
    before = images.clone()
    M.normalize(images)
    assert torch.equal(images, before)


def test_normalize_does_not_depend_on_the_batch() -> None:
    images = random_images(4)
    assert torch.allclose(M.normalize(images)[2], M.normalize(images[2:3])[0])


@pytest.mark.parametrize("build", [M.build_mlp, M.build_cnn], ids=["mlp", "cnn"])
@pytest.mark.parametrize("n", [1, 7])
def test_model_maps_a_batch_to_ten_logits(build, n: int) -> None:
    model = build().eval()
    with torch.no_grad():
        out = model(M.normalize(random_images(n)))
    assert tuple(out.shape) == (n, 10)


def test_cnn_has_a_convolution_and_mlp_has_none() -> None:
    def convs(model: torch.nn.Module) -> int:
        return sum(isinstance(m, torch.nn.Conv2d) for m in model.modules())

    assert convs(M.build_cnn()) >= 1
    assert convs(M.build_mlp()) == 0


def test_train_returns_a_model_that_learns_a_tiny_problem() -> None:
    # Two classes told apart by brightness: a few epochs must fit them.
    gen = torch.Generator().manual_seed(0)
    dark = torch.randint(0, 60, (64, 28, 28), generator=gen, dtype=torch.uint8)
    bright = torch.randint(190, 256, (64, 28, 28), generator=gen, dtype=torch.uint8)
    images = torch.cat([dark, bright])
    labels = torch.cat([torch.zeros(64), torch.ones(64)]).long()
    model = M.train(M.build_mlp(), images, labels, epochs=3, device="cpu", seed=0)
    assert isinstance(model, torch.nn.Module)
    with torch.no_grad():
        predicted = model.eval()(M.normalize(images)).argmax(1)
    assert (predicted == labels).float().mean() >= 0.95
