"""Trusted-side settings and scoring of the a6_mnist accuracy tests.

Only the hidden suite (trusted process) uses this module: test labels and thresholds never
leave it. The options come from the assignment's ``options:`` block in grader.yaml, merged over
DEFAULTS (nested dicts merge key by key).

Partial credit. A model's accuracy earns ``TIERS`` equal slices of its points, tier k
(k = 1..TIERS) for reaching

    cutoff_k = floor + (threshold - floor) * k / TIERS,

so the credit grows linearly (in steps) from 0 at ``floor`` to full points at ``threshold``.
With the defaults (floor 0.5, four tiers) the Fashion-MNIST MLP (threshold 0.80) earns a quarter
of its accuracy points from 0.575, half from 0.65, three quarters from 0.725, all from 0.80.

Perturbed scoring. The accuracy that earns points is measured on a copy of the test images drawn
per run from the run seed: each image shifted by up to ``max_shift`` pixels along each axis (zero
fill) plus Gaussian noise of ``noise_std`` grey levels, in a random order. A table of the public
test images (or their order) then matches nothing, while a model that learned the classes barely
notices. The clean images are scored too, in a separate worker (never with their perturbed
copies, which a student could pair with them); a large gap between the two flags memorization,
and an accuracy above ``implausible_above`` (more than this kind of model reaches) flags a search
over the test set itself, which no perturbation of public images can defeat. Flags are for a
person; they cost no points. What the public test set can prove, and why a graded course scores
an instructor's private test set (an ``.npz``, ``private_test_set``): docs/SECURITY.md.
"""

from __future__ import annotations

import copy
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from grader.course.options import OptionError, reject_unknown

MODELS = ("mlp", "cnn")
DATASETS = ("mnist", "fashion_mnist")
MODES = ("checkpoint", "retrain")
TIERS = 4
IMAGE_SHAPE = (28, 28)
NUM_CLASSES = 10
MAX_SHIFT_LIMIT = 3  # px; larger shifts push Fashion-MNIST garments off the 28x28 frame
MAX_NOISE_STD = 32.0  # grey levels
PRIVATE_MIN_IMAGES = 100  # fewer make the accuracy a coin toss (one image = 1 % at N = 100)
PRIVATE_MAX_IMAGES = 100_000
# Mixed with the run seed so the perturbation's draws are independent of the tests' rng streams.
PERTURBATION_STREAM = 0xA6_5EED

DEFAULTS: dict[str, Any] = {
    "dataset": "fashion_mnist",
    "mode": "checkpoint",
    # Perturbed test accuracy for full points, per data set and model. Fashion-MNIST: the
    # reference's clean accuracy minus 0.03 (0.87, 0.90), lowered by the drop measured on the
    # reference checkpoints under the default perturbation (MLP 0.068, CNN 0.035:
    # benchmarks/a6_perturbation.py). MNIST: not measured (no training set offline).
    "thresholds": {
        "mnist": {"mlp": 0.97, "cnn": 0.985},
        "fashion_mnist": {"mlp": 0.80, "cnn": 0.865},
    },
    # Accuracy at and below which the accuracy tests give nothing (a number, or one per data set).
    "partial_credit_floor": 0.5,
    "max_params": {"mlp": 1_000_000, "cnn": 1_000_000},
    "checkpoint_max_mb": 5.0,
    # Scored images: each shifted by -max_shift..max_shift px per axis, plus N(0, noise_std^2)
    # grey levels. max_shift 0 and noise_std 0 score the images as they are (in random order).
    "perturbation": {"max_shift": 1, "noise_std": 8.0},
    # Clean minus perturbed accuracy above which a model is flagged as memorizing the test set;
    # the reference models lose 0.03-0.09 (benchmarks/a6_perturbation.py, both modes).
    "memorization_gap": 0.12,
    # Accuracy (clean or perturbed) above which a model is flagged as implausible for its kind:
    # above what MLPs / small CNNs reach on the data set (published results, Fashion-MNIST
    # MLPs about 0.90, CNNs under a million parameters about 0.93; the reference models 0.90 and
    # 0.93 clean). A nearest-neighbour search over the public test set scores 1.0.
    "implausible_above": {
        "mnist": {"mlp": 0.99, "cnn": 0.997},
        "fashion_mnist": {"mlp": 0.93, "cnn": 0.96},
    },
    # An .npz with images uint8 (N, 28, 28) and labels (N,) in 0..9, scored instead of the
    # public test set; a relative path is taken from data_root. None: the public test set.
    "private_test_set": None,
    "retrain": {
        "epochs": 2,
        "train_subset": 20000,  # the first N training images (0: all of them)
        "time_budget_s": 240.0,  # per model; keep below the assignment's call_timeout_s
        # Fashion-MNIST: the clean bars (0.83, 0.86) lowered by the reference's measured drop
        # when trained in retrain mode (MLP 0.083, CNN 0.033).
        "thresholds": {
            "mnist": {"mlp": 0.95, "cnn": 0.97},
            "fashion_mnist": {"mlp": 0.745, "cnn": 0.825},
        },
    },
}


@dataclass(frozen=True)
class MnistOptions:
    """The resolved options of one grading run."""

    dataset: str
    mode: str
    thresholds: dict[str, float]  # model -> accuracy for full points (of this mode and data set)
    floor: float
    max_params: dict[str, int]
    checkpoint_max_bytes: int
    epochs: int
    train_subset: int
    time_budget_s: float
    max_shift: int
    noise_std: float
    memorization_gap: float
    implausible_above: dict[str, float]  # model -> accuracy flagged as implausible
    private_test_set: str | None

    def cutoffs(self, which: str) -> list[float]:
        """Accuracy needed for each tier of model ``which``, lowest first."""
        return tier_cutoffs(self.thresholds[which], self.floor)


def _merge(base: dict, over: dict) -> dict:
    out = copy.deepcopy(base)
    for key, value in over.items():
        if isinstance(out.get(key), dict) and isinstance(value, dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _fraction(value: Any, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 1:
        raise OptionError(f"{key}: expected an accuracy in (0, 1], got {value!r}")
    return float(value)


def _positive(value: Any, key: str, kind: type = float) -> Any:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise OptionError(f"{key}: expected a number > 0, got {value!r}")
    return kind(value)


def resolve_options(options: dict | None) -> MnistOptions:
    """Merge ``options`` over DEFAULTS and validate; errors name the key (``options.x.y``).

    The options schema of a6 (``options_schema`` in grader.yaml): grader.yaml is checked with it
    on load, so a typo is a config error naming the line, not a fault of every grading run.
    """
    if options is not None and not isinstance(options, dict):
        raise OptionError(f"options: expected a mapping, got {options!r}")
    reject_unknown(options or {}, DEFAULTS)
    merged = _merge(DEFAULTS, options or {})
    dataset = str(merged["dataset"]).lower().replace("-", "_")
    if dataset not in DATASETS:
        raise OptionError(f"options.dataset: expected one of {DATASETS}, got {merged['dataset']!r}")
    mode = merged["mode"]
    if mode not in MODES:
        raise OptionError(f"options.mode: expected one of {MODES}, got {mode!r}")
    table, prefix = ((merged["retrain"]["thresholds"], "options.retrain.thresholds")
                     if mode == "retrain" else (merged["thresholds"], "options.thresholds"))
    thresholds = {m: _fraction(table.get(dataset, {}).get(m), f"{prefix}.{dataset}.{m}")
                  for m in MODELS}
    floor_value = merged["partial_credit_floor"]
    floor_key = "options.partial_credit_floor"
    if isinstance(floor_value, dict):
        floor_value, floor_key = floor_value.get(dataset), f"{floor_key}.{dataset}"
    floor = _fraction(floor_value, floor_key)
    for m, t in thresholds.items():
        if floor >= t:
            raise OptionError(f"{floor_key}: {floor} is not below the {m} threshold {t}")
    perturbation = merged["perturbation"]
    if not isinstance(perturbation, dict):
        raise OptionError("options.perturbation: expected a mapping {max_shift: ..., "
                         f"noise_std: ...}}, got {perturbation!r}")
    shift = perturbation.get("max_shift")
    if isinstance(shift, bool) or not isinstance(shift, int) or not 0 <= shift <= MAX_SHIFT_LIMIT:
        raise OptionError(f"options.perturbation.max_shift: expected an int in 0..{MAX_SHIFT_LIMIT}"
                         f" (pixels), got {shift!r}")
    noise = perturbation.get("noise_std")
    if isinstance(noise, bool) or not isinstance(noise, (int, float)) \
            or not 0 <= noise <= MAX_NOISE_STD:
        raise OptionError("options.perturbation.noise_std: expected a number in "
                         f"0..{MAX_NOISE_STD:g} (grey levels of 255), got {noise!r}")
    ceilings = {m: _fraction(merged["implausible_above"].get(dataset, {}).get(m),
                             f"options.implausible_above.{dataset}.{m}") for m in MODELS}
    for m, t in thresholds.items():
        if ceilings[m] <= t:
            raise OptionError(f"options.implausible_above.{dataset}.{m}: {ceilings[m]} is not "
                              f"above the {m} threshold {t}")
    private = merged["private_test_set"]
    if private is not None and (not isinstance(private, str) or not private.strip()):
        raise OptionError("options.private_test_set: expected the path of an .npz file "
                         f"(or null for the public test set), got {private!r}")
    retrain = merged["retrain"]
    subset = retrain["train_subset"]
    if isinstance(subset, bool) or not isinstance(subset, int) or subset < 0:
        raise OptionError(f"options.retrain.train_subset: expected an int >= 0, got {subset!r}")
    return MnistOptions(
        dataset=dataset,
        mode=mode,
        thresholds=thresholds,
        floor=floor,
        max_params={m: _positive(merged["max_params"].get(m), f"options.max_params.{m}", int)
                    for m in MODELS},
        checkpoint_max_bytes=int(_positive(merged["checkpoint_max_mb"],
                                           "options.checkpoint_max_mb") * 2**20),
        epochs=_positive(retrain["epochs"], "options.retrain.epochs", int),
        train_subset=subset,
        time_budget_s=_positive(retrain["time_budget_s"], "options.retrain.time_budget_s"),
        max_shift=shift,
        noise_std=float(noise),
        memorization_gap=_fraction(merged["memorization_gap"], "options.memorization_gap"),
        implausible_above=ceilings,
        private_test_set=private,
    )


def tier_cutoffs(threshold: float, floor: float, tiers: int = TIERS) -> list[float]:
    """The accuracies that earn tier 1..tiers: evenly spaced above ``floor``, the last one
    exactly ``threshold`` (so reaching the threshold is always full marks)."""
    steps = [floor + (threshold - floor) * k / tiers for k in range(1, tiers)]
    return [*steps, threshold]


def credit(acc: float, threshold: float, floor: float, tiers: int = TIERS) -> float:
    """Fraction of the accuracy points earned by accuracy ``acc``: tiers reached / tiers."""
    return sum(acc >= c for c in tier_cutoffs(threshold, floor, tiers)) / tiers


def accuracy(logits: np.ndarray, labels: np.ndarray) -> float:
    """Share of rows whose largest logit is at the true label.

    Raises AssertionError (shown to the student) when the logits are not (N, 10) or hold NaN
    or inf, since an argmax over those would score noise.
    """
    logits = np.asarray(logits)
    labels = np.asarray(labels)
    if logits.shape != (labels.shape[0], 10):
        raise AssertionError(f"expected logits of shape ({labels.shape[0]}, 10), "
                             f"got {logits.shape}")
    bad = ~np.isfinite(logits).all(axis=1)
    if bad.any():
        raise AssertionError(f"the logits of {int(bad.sum())} of {len(labels)} test images "
                             "contain NaN or inf")
    return float((logits.argmax(axis=1) == labels).mean())


@dataclass(frozen=True)
class ModelAccuracy:
    """A model's test accuracy on the unchanged images and on the perturbed ones (graded)."""

    clean: float
    perturbed: float

    @property
    def gap(self) -> float:
        """How much better the model does on the public images than on their perturbed copies."""
        return self.clean - self.perturbed

    def memorizing(self, max_gap: float) -> bool:
        """Whether the gap is larger than a model that learned the classes shows."""
        return self.gap > max_gap

    def implausible(self, ceiling: float) -> bool:
        """Whether either accuracy is above what this kind of model reaches on the data set
        (a search over the test set itself scores 1.0 on both and shows no gap)."""
        return max(self.clean, self.perturbed) > ceiling


class PrivateTestSetError(ValueError):
    """The configured private test set is unusable (a grader fault: the instructor's file)."""


def perturb(images: np.ndarray, seed: int, max_shift: int, noise_std: float) -> np.ndarray:
    """A label-preserving perturbation of ``images`` (N, 28, 28) uint8, the same for one seed.

    Image i is translated by (dy_i, dx_i), each drawn uniformly from -max_shift..max_shift,
    with zero fill at the edges it leaves; then noise ~ N(0, noise_std^2) is added and the result
    rounded and clipped back to uint8 0..255. Image i stays at position i.
    """
    images = np.asarray(images)
    rng = np.random.default_rng([seed, PERTURBATION_STREAM])
    offsets = rng.integers(-max_shift, max_shift + 1, size=(len(images), 2))
    shifted = np.zeros_like(images)
    height, width = images.shape[1:]
    for dy, dx in {tuple(o) for o in offsets.tolist()}:
        rows = np.flatnonzero((offsets[:, 0] == dy) & (offsets[:, 1] == dx))
        src = images[rows, max(0, -dy):height - max(0, dy), max(0, -dx):width - max(0, dx)]
        shifted[rows, max(0, dy):height - max(0, -dy), max(0, dx):width - max(0, -dx)] = src
    if noise_std == 0:
        return shifted
    noisy = shifted + rng.normal(0.0, noise_std, size=shifted.shape)
    return np.clip(np.rint(noisy), 0, 255).astype(np.uint8)


@dataclass(frozen=True)
class ShuffledSet:
    """Test images in a random order: ``images[k]`` is test image ``order[k]``, so neither a
    position nor a batch tells the model which test image it is looking at."""

    images: np.ndarray  # (N, 28, 28) uint8, sent to the worker
    order: np.ndarray  # (N,) int, the permutation applied
    labels: np.ndarray  # (N,) int64 in test-set order, never sent

    def accuracy(self, logits: np.ndarray) -> float:
        """Accuracy from the worker's logits (N, 10) of ``images``."""
        logits = np.asarray(logits)
        n = len(self.labels)
        if logits.shape != (n, NUM_CLASSES):
            raise AssertionError(f"expected logits of shape ({n}, 10), got {logits.shape}")
        return accuracy(logits, self.labels[self.order])


@dataclass(frozen=True)
class ScoringImages:
    """The run's two image sets. The perturbed copies earn the points; the clean images are
    only compared with them (the memorization flag). They are never sent together: the clean
    set goes to a worker of its own (autotests/a6_mnist/conftest.py), so no process of the
    student ever holds an image and its perturbed copy to pair them."""

    perturbed: ShuffledSet
    clean: ShuffledSet


def _shuffled(images: np.ndarray, labels: np.ndarray, seed: int, stream: int) -> ShuffledSet:
    order = np.random.default_rng([seed, PERTURBATION_STREAM, stream]).permutation(len(images))
    return ShuffledSet(images=images[order], order=order, labels=np.asarray(labels, np.int64))


def scoring_images(images: np.ndarray, labels: np.ndarray, seed: int,
                   options: MnistOptions) -> ScoringImages:
    """The run's scoring images for test set (images, labels), drawn from the run ``seed``:
    perturbed copies and the clean images, each set in its own random order."""
    perturbed = perturb(images, seed, options.max_shift, options.noise_std)
    return ScoringImages(perturbed=_shuffled(perturbed, labels, seed, 1),
                         clean=_shuffled(np.asarray(images), labels, seed, 2))


def private_test_set_path(options: MnistOptions, data_root: str | Path) -> Path | None:
    """The configured private test set, relative paths taken from ``data_root``; None if unset."""
    if options.private_test_set is None:
        return None
    return Path(data_root) / Path(options.private_test_set).expanduser()


def load_private_test_set(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Read and check an instructor's test set: an ``.npz`` (numpy.savez) holding ``images``,
    uint8 (N, 28, 28), and ``labels``, integers (N,) in 0..9, with PRIVATE_MIN_IMAGES <= N <=
    PRIVATE_MAX_IMAGES. Returns (images, labels as int64); raises PrivateTestSetError saying
    what is wrong. Nothing is unpickled (allow_pickle=False).
    """
    where = f"options.private_test_set {path}"
    try:
        with np.load(path, allow_pickle=False) as npz:
            missing = {"images", "labels"} - set(npz.files)
            if missing:
                raise PrivateTestSetError(f"{where}: no array {sorted(missing)} in the file "
                                          f"(it holds {sorted(npz.files)}); save it with "
                                          "numpy.savez(path, images=..., labels=...)")
            images, labels = npz["images"], npz["labels"]
    except PrivateTestSetError:
        raise
    except FileNotFoundError:
        raise PrivateTestSetError(f"{where}: no such file") from None
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise PrivateTestSetError(f"{where}: not a readable .npz of plain arrays ({exc})") \
            from None
    if images.dtype != np.uint8 or images.ndim != 3 or images.shape[1:] != IMAGE_SHAPE:
        raise PrivateTestSetError(f"{where}: images must be uint8 (N, 28, 28), got "
                                  f"{images.dtype} {images.shape}")
    n = images.shape[0]
    if not PRIVATE_MIN_IMAGES <= n <= PRIVATE_MAX_IMAGES:
        raise PrivateTestSetError(f"{where}: {n} images; expected {PRIVATE_MIN_IMAGES:,} to "
                                  f"{PRIVATE_MAX_IMAGES:,}")
    if labels.shape != (n,) or not np.issubdtype(labels.dtype, np.integer):
        raise PrivateTestSetError(f"{where}: labels must be integers of shape ({n},), got "
                                  f"{labels.dtype} {labels.shape}")
    if labels.min() < 0 or labels.max() >= NUM_CLASSES:
        raise PrivateTestSetError(f"{where}: labels must be 0..9, found {labels.min()} to "
                                  f"{labels.max()}")
    return images, labels.astype(np.int64)
