"""Hidden tests of a6_mnist: conv_output_size and normalize."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from grader.testing import assert_inputs_unchanged, assert_true


def _random_conv_shapes(rng: np.random.Generator, n: int) -> list[tuple[int, int, int, int]]:
    """(w, k, p, s) with a kernel that fits the padded input (k <= w + 2p)."""
    shapes = []
    for _ in range(n):
        w = int(rng.integers(1, 257))
        p = int(rng.integers(0, 4))
        k = int(rng.integers(1, min(w + 2 * p, 12) + 1))
        s = int(rng.integers(1, 6))
        shapes.append((w, k, p, s))
    return shapes


@pytest.mark.points(3)
def test_conv_output_size_matches_formula(student, rng):
    """conv_output_size: floor((w - k + 2p) / s) + 1 on 200 random shapes, strides up to 5"""
    for w, k, p, s in [(28, 5, 0, 1), (28, 3, 1, 1), (28, 2, 0, 2), (7, 3, 1, 2),
                       *_random_conv_shapes(rng, 200)]:
        got = student.conv_output_size(w, k, p, s)
        want = (w - k + 2 * p) // s + 1
        assert_true(got == want, f"conv_output_size(w={w}, k={k}, p={p}, s={s}) returned {got!r}, "
                                 f"expected floor(({w} - {k} + 2*{p}) / {s}) + 1 = {want}")


@pytest.mark.points(1)
def test_conv_output_size_returns_int(student):
    """conv_output_size: returns a Python int (not a float), e.g. 24 for (28, 5, 0, 1)"""
    got = student.conv_output_size(28, 5, 0, 1)
    assert_true(type(got) is int, f"conv_output_size(28, 5, 0, 1) returned {got!r} of type "
                                  f"{type(got).__name__}; layer sizes must be ints (use //)")


@pytest.mark.points(2)
def test_normalize_gives_float_images_with_channel_axis(student, rng):
    """normalize: uint8 (N, 28, 28) -> float tensor (N, 1, 28, 28) with finite values"""
    n = int(rng.integers(1, 17))
    images = torch.from_numpy(rng.integers(0, 256, (n, 28, 28), dtype=np.uint8))
    out = student.normalize(images)
    assert_true(isinstance(out, torch.Tensor),
                f"normalize(uint8 ({n}, 28, 28)) returned {type(out).__name__}, not a tensor")
    assert_true(tuple(out.shape) == (n, 1, 28, 28),
                f"normalize(uint8 ({n}, 28, 28)) returned shape {tuple(out.shape)}, "
                f"expected ({n}, 1, 28, 28)")
    assert_true(out.is_floating_point(),
                f"normalize returned dtype {out.dtype}; expected a float dtype (float32)")
    assert_true(bool(torch.isfinite(out).all()), "normalize returned NaN or inf values")


@pytest.mark.points(1)
def test_normalize_is_batch_independent_and_keeps_input(student, rng):
    """normalize: each image is normalized on its own (same result alone or in a batch); the
    input is not modified"""
    images = torch.from_numpy(rng.integers(0, 256, (6, 28, 28), dtype=np.uint8))
    batch = student.normalize(images)
    assert_inputs_unchanged(student, fn="normalize", inputs={"images_uint8": images})
    for i in (0, 5):
        alone = student.normalize(images[i:i + 1].clone())
        diff = float((alone[0] - batch[i]).abs().max())
        assert_true(diff <= 1e-5, f"normalize(images)[{i}] differs from normalize(images[{i}:"
                                  f"{i + 1}])[0] by up to {diff:.3g}: normalize with fixed "
                                  "constants, not statistics of the batch at hand")
