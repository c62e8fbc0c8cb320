"""grader.mnist.scoring: the per-run perturbation of the a6 test images, the shuffled scoring
batch, the memorization flag and the instructor's private test set (no data set needed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from grader.mnist.scoring import (
    ModelAccuracy,
    PrivateTestSetError,
    load_private_test_set,
    perturb,
    private_test_set_path,
    resolve_options,
    scoring_images,
)

OPTIONS = resolve_options({})


def images(n: int = 64, seed: int = 0) -> np.ndarray:
    """Random uint8 images with no zero pixel, so an edge left by a shift is recognizable."""
    return np.random.default_rng(seed).integers(1, 256, (n, 28, 28), dtype=np.uint8)


def shift(image: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """``image`` translated by (dy, dx) with zero fill, written independently of perturb."""
    out = np.zeros_like(image)
    for r in range(28):
        for c in range(28):
            if 0 <= r - dy < 28 and 0 <= c - dx < 28:
                out[r, c] = image[r - dy, c - dx]
    return out


def test_same_seed_replays_the_same_perturbed_images() -> None:
    x = images()
    assert np.array_equal(perturb(x, 7, 1, 8.0), perturb(x, 7, 1, 8.0))


def test_another_seed_draws_other_perturbed_images() -> None:
    x = images()
    assert not np.array_equal(perturb(x, 7, 1, 8.0), perturb(x, 8, 1, 8.0))


def test_perturbation_keeps_the_input_unchanged() -> None:
    x = images()
    before = x.copy()
    perturb(x, 3, 2, 8.0)
    assert np.array_equal(x, before)


def test_each_image_stays_in_place_shifted_by_at_most_max_shift() -> None:
    # Without noise every output is its own input translated by some (dy, dx) in range: the
    # image, hence its label, stays at the same index.
    x = images(40)
    out = perturb(x, 11, 2, 0.0)
    offsets = [(dy, dx) for dy in range(-2, 3) for dx in range(-2, 3)]
    found = [next((o for o in offsets if np.array_equal(out[i], shift(x[i], *o))), None)
             for i in range(len(x))]
    assert None not in found, found
    assert len(set(found)) > 5  # the offsets are drawn, not one fixed shift


def test_no_shift_and_no_noise_leaves_images_as_they_are() -> None:
    x = images()
    assert np.array_equal(perturb(x, 5, 0, 0.0), x)


def test_noise_has_the_configured_spread_and_stays_uint8() -> None:
    x = np.full((50, 28, 28), 128, np.uint8)  # mid grey: no clipping
    out = perturb(x, 5, 0, 8.0)
    assert out.dtype == np.uint8
    assert abs(float((out.astype(float) - 128).std()) - 8.0) < 0.2


def test_noise_is_clipped_to_the_pixel_range() -> None:
    x = np.concatenate([np.zeros((10, 28, 28), np.uint8), np.full((10, 28, 28), 255, np.uint8)])
    out = perturb(x, 5, 0, 30.0)
    assert out[:10].min() == 0 and out[10:].max() == 255
    assert out[:10].max() > 0 and out[10:].min() < 255  # the noise did move pixels


def test_scoring_images_are_perturbed_copies_and_clean_images_in_separate_sets() -> None:
    x, labels = images(30), np.arange(30) % 10
    sets = scoring_images(x, labels, 9, OPTIONS)
    perturbed = perturb(x, 9, OPTIONS.max_shift, OPTIONS.noise_std)
    for shuffled, source in ((sets.perturbed, perturbed), (sets.clean, x)):
        assert shuffled.images.shape == (30, 28, 28) and shuffled.images.dtype == np.uint8
        assert sorted(shuffled.order.tolist()) == list(range(30))
        assert not np.array_equal(shuffled.order, np.arange(30))
        assert np.array_equal(shuffled.images, source[shuffled.order])
    clean = {img.tobytes() for img in x}
    assert not any(img.tobytes() in clean for img in sets.perturbed.images)


def test_the_two_sets_are_shuffled_differently() -> None:
    sets = scoring_images(images(30), np.arange(30) % 10, 9, OPTIONS)
    assert not np.array_equal(sets.perturbed.order, sets.clean.order)


def test_scoring_images_replay_from_the_seed() -> None:
    x, labels = images(30), np.arange(30) % 10
    a, b = scoring_images(x, labels, 21, OPTIONS), scoring_images(x, labels, 21, OPTIONS)
    for one, two in ((a.perturbed, b.perturbed), (a.clean, b.clean)):
        assert np.array_equal(one.images, two.images) and np.array_equal(one.order, two.order)


def test_scoring_accuracy_undoes_the_shuffle() -> None:
    # Right on the first 20 test images, wrong on the last 10, whatever order they were sent in.
    x, labels = images(30), np.arange(30) % 10
    shuffled = scoring_images(x, labels, 4, OPTIONS).perturbed
    answers = np.where(np.arange(30) < 20, labels, (labels + 1) % 10)
    assert shuffled.accuracy(np.eye(10)[answers][shuffled.order]) == pytest.approx(20 / 30)


def test_scoring_accuracy_rejects_logits_for_another_number_of_images() -> None:
    shuffled = scoring_images(images(30), np.arange(30) % 10, 4, OPTIONS).clean
    with pytest.raises(AssertionError, match=r"shape \(30, 10\)"):
        shuffled.accuracy(np.zeros((60, 10)))


def test_perturbed_images_match_no_entry_of_a_table_of_the_clean_ones() -> None:
    x = images(500)
    table = {img.tobytes() for img in x}
    assert not any(img.tobytes() in table for img in perturb(x, 2, 1, 8.0))


def test_accuracy_above_the_ceiling_is_implausible_even_without_a_gap() -> None:
    assert ModelAccuracy(clean=1.0, perturbed=1.0).implausible(0.96)
    assert ModelAccuracy(clean=0.90, perturbed=0.97).implausible(0.96)
    assert not ModelAccuracy(clean=0.93, perturbed=0.90).implausible(0.96)


def test_memorization_is_flagged_only_above_the_gap() -> None:
    assert ModelAccuracy(clean=0.99, perturbed=0.10).memorizing(0.10)
    assert not ModelAccuracy(clean=0.90, perturbed=0.83).memorizing(0.10)


def test_private_test_set_path_is_taken_from_data_root(tmp_path: Path) -> None:
    options = resolve_options({"private_test_set": "exam/test.npz"})
    assert private_test_set_path(options, tmp_path) == tmp_path / "exam" / "test.npz"
    assert private_test_set_path(OPTIONS, tmp_path) is None


def save_npz(tmp_path: Path, **arrays: np.ndarray) -> Path:
    path = tmp_path / "private.npz"
    np.savez(path, **arrays)
    return path


def test_valid_private_test_set_loads(tmp_path: Path) -> None:
    x, y = images(120), (np.arange(120) % 10).astype(np.uint8)
    got_x, got_y = load_private_test_set(save_npz(tmp_path, images=x, labels=y))
    assert np.array_equal(got_x, x)
    assert got_y.dtype == np.int64 and np.array_equal(got_y, y)


@pytest.mark.parametrize(("arrays", "message"), [
    ({"images": images(120)}, r"no array \['labels'\]"),
    ({"images": images(120).astype(np.float32), "labels": np.zeros(120, int)}, "uint8"),
    ({"images": np.zeros((120, 32, 32), np.uint8), "labels": np.zeros(120, int)},
     r"\(N, 28, 28\), got uint8 \(120, 32, 32\)"),
    ({"images": images(50), "labels": np.zeros(50, int)}, "50 images; expected 100"),
    ({"images": images(120), "labels": np.zeros(119, int)}, r"shape \(120,\)"),
    ({"images": images(120), "labels": np.zeros(120)}, "labels must be integers"),
    ({"images": images(120), "labels": np.full(120, 10)}, "labels must be 0..9"),
    ({"images": images(120), "labels": np.array([object()] * 120)}, r"not a readable \.npz"),
])
def test_invalid_private_test_set_is_refused_with_what_is_wrong(
        tmp_path: Path, arrays: dict, message: str) -> None:
    path = save_npz(tmp_path, **arrays)
    with pytest.raises(PrivateTestSetError, match=message) as err:
        load_private_test_set(path)
    assert str(err.value).startswith(f"options.private_test_set {path}")


def test_missing_private_test_set_is_refused(tmp_path: Path) -> None:
    with pytest.raises(PrivateTestSetError, match="no such file"):
        load_private_test_set(tmp_path / "absent.npz")


def test_private_test_set_that_is_not_an_npz_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "test.npz"
    path.write_text("images,labels\n")
    with pytest.raises(PrivateTestSetError, match=r"not a readable \.npz"):
        load_private_test_set(path)
