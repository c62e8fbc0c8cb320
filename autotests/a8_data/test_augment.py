"""Hidden tests: hflip, random_crop and cutout against torchvision.transforms.v2.functional.

Every call gets a copy of the test's images, so the references below always see the
original inputs (in-place changes are charged once, in test_inputs.py). The random functions
may consume rng in any order, so exactness is tested by recovering each
image's crop offset or cutout box from the output and comparing with the torchvision
reference at that position; the positions themselves are tested statistically: each count is
Binomial(n, 1/k) over k equally likely positions, and the band is SIGMAS standard deviations
(a correct implementation fails with probability ~1e-9 per position)."""

import math

import numpy as np
import pytest
import torch
import torchvision.transforms.v2.functional as TF

from grader.testing import assert_close, assert_true

SIGMAS = 6.0


def _images(rng, shape):
    """No zeros anywhere: out == 0 marks exactly the erased (or padded) pixels."""
    return rng.uniform(0.5, 2.0, shape) * rng.choice([-1.0, 1.0], shape)


def _seed(rng) -> int:
    return int(rng.integers(2**31))


def _check_counts(counts: np.ndarray, what: str, call: str) -> None:
    n, k = int(counts.sum()), counts.size
    p = 1.0 / k
    band = SIGMAS * math.sqrt(n * p * (1 - p))
    worst = np.unravel_index(int(np.argmax(np.abs(counts - n * p))), counts.shape)
    assert_true(bool(np.all(np.abs(counts - n * p) <= band)),
                f"{call}: over {n} images, {what} {tuple(int(i) for i in worst)} came up "
                f"{int(counts[worst])} times; each of the {k} possible values should come up "
                f"about {n * p:.0f} times (+- {band:.0f}), both ends included")


# ----------------------------------------------------------------------------- hflip


@pytest.mark.points(2)
def test_hflip_matches_torchvision(student, rng):
    """hflip: mirrors the width axis of (N, C, H, W) images"""
    x = rng.standard_normal((int(rng.integers(1, 5)), 3, int(rng.integers(1, 6)),
                             int(rng.integers(2, 8))))
    expected = TF.horizontal_flip(torch.tensor(x))
    assert_close(student.hflip(x), expected, fn="hflip", inputs={"x": x}, rtol=0, atol=0)


@pytest.mark.points(1)
def test_hflip_on_a_single_image(student, rng):
    """hflip: reverses the last axis whatever the rank, e.g. one (H, W) image"""
    x = rng.standard_normal((int(rng.integers(1, 6)), int(rng.integers(2, 8))))
    expected = TF.horizontal_flip(torch.tensor(x))
    assert_close(student.hflip(x), expected, fn="hflip", inputs={"x": x}, rtol=0, atol=0)


# ----------------------------------------------------------------------------- random_crop


def _crop_offsets(x, out, padding, h, w) -> np.ndarray:
    """(N, 2) offsets (top, left) at which out[n] is a crop of padded x[n]; -1 where none."""
    padded = TF.pad(torch.tensor(x), [padding]).numpy()
    offsets = np.full((len(x), 2), -1)
    for top in range(padded.shape[2] - h + 1):
        for left in range(padded.shape[3] - w + 1):
            match = np.all(padded[:, :, top:top + h, left:left + w] == out, axis=(1, 2, 3))
            offsets[match & (offsets[:, 0] < 0)] = (top, left)
    return offsets


def _check_crop(student, x, size, padding, seed):
    h, w = (size, size) if isinstance(size, int) else size
    call = f"random_crop(x, size={size}, padding={padding}, rng)"
    out = np.asarray(student.random_crop(x.copy(), size, padding, np.random.default_rng(seed)))
    assert_true(out.shape == (x.shape[0], x.shape[1], h, w),
                f"{call} with x of shape {x.shape}: output shape {out.shape}, expected "
                f"{(x.shape[0], x.shape[1], h, w)}")
    offsets = _crop_offsets(x, out, padding, h, w)
    missing = np.flatnonzero(offsets[:, 0] < 0)
    assert_true(missing.size == 0,
                f"{call}: image {missing[:1].tolist()} of the output is not a {h}x{w} window "
                f"of the zero-padded image at any position ({missing.size} of {len(x)} images)")
    padded = TF.pad(torch.tensor(x), [padding])
    expected = torch.stack([TF.crop(padded[i], int(t), int(left), h, w)
                            for i, (t, left) in enumerate(offsets)])
    assert_close(out, expected, fn="random_crop", inputs={"x": x}, rtol=0, atol=0)
    return offsets


@pytest.mark.points(3)
def test_random_crop_is_a_window_of_the_padded_image(student, rng):
    """random_crop: each output image equals TF.crop(TF.pad(img, [padding]), top, left, s, s)"""
    x = _images(rng, (int(rng.integers(4, 12)), int(rng.integers(1, 4)), 7, 8))
    padding = int(rng.integers(1, 4))  # > 0: the padding itself is what this test is about
    size = int(rng.integers(3, 8))
    _check_crop(student, x, size, padding, _seed(rng))


@pytest.mark.points(1)
def test_random_crop_rectangular_size(student, rng):
    """random_crop: size (h, w) cuts h x w windows"""
    x = _images(rng, (6, 2, 8, 9))
    h = int(rng.integers(2, 8))
    size = (h, int(rng.choice([v for v in range(2, 9) if v != h])))  # h != w: a swap shows
    _check_crop(student, x, size, int(rng.integers(0, 3)), _seed(rng))


@pytest.mark.points(3)
def test_random_crop_offsets_uniform_over_all_positions(student, rng):
    """random_crop: every (top, left) in 0..H+2p-h x 0..W+2p-w equally likely, ends included"""
    n, padding, size = 2000, 2, 6
    x = _images(rng, (n, 1, 6, 6))
    gen = np.random.default_rng(_seed(rng))
    out = np.asarray(student.random_crop(x.copy(), size, padding, gen))
    call = f"random_crop(x: {x.shape}, size={size}, padding={padding}, rng)"
    assert_true(out.shape == (n, 1, size, size), f"{call}: output shape {out.shape}")
    offsets = _crop_offsets(x, out, padding, size, size)
    assert_true(bool(np.all(offsets >= 0)), f"{call}: some outputs are not windows of the "
                                            "zero-padded image")
    counts = np.zeros((5, 5))
    np.add.at(counts, (offsets[:, 0], offsets[:, 1]), 1)
    _check_counts(counts, "the offset (top, left)", call)


@pytest.mark.points(1)
def test_random_crop_offsets_independent_per_image(student, rng):
    """random_crop: every image gets its own offset (not one offset for the whole batch)"""
    x = _images(rng, (30, 1, 8, 8))
    out = np.asarray(student.random_crop(x.copy(), 8, 4, np.random.default_rng(_seed(rng))))
    offsets = _crop_offsets(x, out, 4, 8, 8)
    # 81 positions: 30 images share one offset with probability 81**-29
    assert_true(len({tuple(o) for o in offsets}) > 1,
                "random_crop(x: (30, 1, 8, 8), size=8, padding=4, rng): all 30 images were "
                "cropped at the same offset; draw a separate (top, left) for every image")


@pytest.mark.points(1)
def test_random_crop_replays_with_the_same_generator_state(student, rng):
    """random_crop: same rng state -> same crops, another seed -> other crops"""
    x, seed = _images(rng, (20, 1, 8, 8)), _seed(rng)
    a, b, c = (np.asarray(student.random_crop(x.copy(), 6, 2, np.random.default_rng(s)))
               for s in (seed, seed, seed + 1))
    assert_true(np.array_equal(a, b), "random_crop: two calls with generators in the same "
                                      "state gave different crops; draw only from rng")
    assert_true(not np.array_equal(a, c), "random_crop: generators with different seeds gave "
                                          "the same crops of 20 images; draw from rng")


# ----------------------------------------------------------------------------- cutout


def _allowed_boxes(h, w, size) -> dict[tuple[int, int, int, int], tuple[int, int]]:
    """(top, left, height, width) of the erased box -> its center, for every center."""
    boxes = {}
    for cy in range(h):
        for cx in range(w):
            top, left = max(cy - size // 2, 0), max(cx - size // 2, 0)
            bottom, right = min(cy - size // 2 + size, h), min(cx - size // 2 + size, w)
            boxes[(top, left, bottom - top, right - left)] = (cy, cx)
    return boxes


def _erased_box(out_img) -> tuple[int, int, int, int] | None:
    """Bounding box (top, left, height, width) of the zeros of one (C, H, W) image."""
    zero = np.any(out_img == 0, axis=0)
    if not zero.any():
        return None
    rows, cols = np.flatnonzero(zero.any(axis=1)), np.flatnonzero(zero.any(axis=0))
    return (int(rows[0]), int(cols[0]), int(rows[-1] - rows[0] + 1),
            int(cols[-1] - cols[0] + 1))


def _odd_and_even_sizes(rng, h, w) -> list[int]:
    """One odd size >= 3 (where code that ends the square at cy + size//2 erases one row too
    few) and one even size, both at most min(h, w)."""
    top = min(h, w)
    return [int(rng.choice(np.arange(3, top + 1, 2))), int(rng.choice(np.arange(2, top + 1, 2)))]


@pytest.mark.points(3)
def test_cutout_erases_a_clipped_square(student, rng):
    """cutout: each image equals TF.erase(img, top, left, h, w, v=0) on an allowed box"""
    h = int(rng.integers(5, 11))
    w = int(rng.choice([v for v in range(5, 11) if v != h]))  # H != W: a swap shows
    for size in _odd_and_even_sizes(rng, h, w):
        x = _images(rng, (40, int(rng.integers(2, 4)), h, w))  # C >= 2: every channel erased
        call = f"cutout(x: {x.shape}, size={size}, rng)"
        out = np.asarray(student.cutout(x.copy(), size, np.random.default_rng(_seed(rng))))
        assert_true(out.shape == x.shape,
                    f"{call}: output shape {out.shape}, expected {x.shape}")
        allowed = _allowed_boxes(h, w, size)
        for i in range(len(x)):
            box = _erased_box(out[i])
            assert_true(box in allowed,
                        f"{call}: image {i}: the zeroed pixels span (top, left, height, width)"
                        f" = {box}, which is not the {size}x{size} square around any center "
                        "clipped at the borders (rows max(cy - size//2, 0) .. min(cy - size//2"
                        " + size, H) - 1, columns likewise). For an odd size the square is "
                        "still size x size: a slice ending at cy + size//2 erases one row and "
                        "one column too few")
            expected = TF.erase(torch.tensor(x[i]), *box,
                                v=torch.tensor(0.0, dtype=torch.float64))
            assert_close(out[i], expected, fn=f"cutout (image {i})", inputs={"x": x},
                         rtol=0, atol=0)


def _center(box, size, extent, h, w) -> tuple[int, int] | None:
    """The center whose square, starting size//2 before it and ``extent`` (height, width)
    long, clipped at the borders, is ``box``; None if no center gives ``box``."""
    if box is None:
        return None
    center = []
    for start, length, k, limit in ((box[0], box[2], extent[0], h),
                                    (box[1], box[3], extent[1], w)):
        # a clipped start hides the center: read it from the (unclipped) end instead
        c = start + size // 2 if start > 0 else start + length - k + size // 2
        lo = c - size // 2
        if not (0 <= c < limit and (max(lo, 0), min(lo + k, limit) - max(lo, 0))
                == (start, length)):
            return None
        center.append(c)
    return center[0], center[1]


@pytest.mark.points(3)
def test_cutout_centers_uniform_over_all_pixels(student, rng):
    """cutout: the center is uniform over all H*W pixels, border pixels included"""
    n, h, w, size = 3200, 8, 8, 3
    x = _images(rng, (n, 1, h, w))
    call = f"cutout(x: {x.shape}, size={size}, rng)"
    out = np.asarray(student.cutout(x.copy(), size, np.random.default_rng(_seed(rng))))
    assert_true(out.shape == x.shape, f"{call}: output shape {out.shape}, expected {x.shape}")
    boxes = [_erased_box(out[i]) for i in range(n)]
    # The square's own extent is taken as given (its exact size is the erase test's): the
    # largest erased height and width, those of the squares clipped at no border.
    extent = tuple(max((b[k] for b in boxes if b is not None), default=0) for k in (2, 3))
    counts = np.zeros((h, w))
    for i, box in enumerate(boxes):
        center = _center(box, size, extent, h, w)
        assert_true(center is not None,
                    f"{call}: image {i}: the zeroed pixels span (top, left, height, width) = "
                    f"{box}, not one {extent[0]}x{extent[1]} square starting size//2 before a "
                    "center pixel, clipped at the borders")
        counts[center] += 1
    _check_counts(counts, "the center (cy, cx)", call)


@pytest.mark.points(1)
def test_cutout_replays_with_the_same_generator_state(student, rng):
    """cutout: same rng state -> same output, another seed -> another"""
    x, seed = _images(rng, (20, 2, 8, 8)), _seed(rng)
    a, b, c = (np.asarray(student.cutout(x.copy(), 3, np.random.default_rng(s)))
               for s in (seed, seed, seed + 1))
    assert_true(np.array_equal(a, b), "cutout: two calls with generators in the same state "
                                      "gave different outputs; draw only from rng")
    assert_true(not np.array_equal(a, c), "cutout: generators with different seeds erased "
                                          "the same squares in 20 images; draw from rng")
