"""Trusted-side settings and scoring of the a6_mnist accuracy tests.

Only the hidden suite (trusted process) uses this module: test labels and thresholds never
leave it. The options come from the assignment's ``options:`` block in grader.yaml, merged over
DEFAULTS (nested dicts merge key by key).

Partial credit. A model's accuracy earns ``TIERS`` equal slices of its points, tier k
(k = 1..TIERS) for reaching

    cutoff_k = floor + (threshold - floor) * k / TIERS,

so the credit grows linearly (in steps) from 0 at ``floor`` to full points at ``threshold``.
With the defaults (floor 0.5, four tiers) the Fashion-MNIST MLP (threshold 0.87) earns a quarter
of its accuracy points from 0.5925, half from 0.685, three quarters from 0.7775, all from 0.87.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import numpy as np

MODELS = ("mlp", "cnn")
DATASETS = ("mnist", "fashion_mnist")
MODES = ("checkpoint", "retrain")
TIERS = 4

DEFAULTS: dict[str, Any] = {
    "dataset": "fashion_mnist",
    "mode": "checkpoint",
    # Test accuracy for full points, per data set and model.
    "thresholds": {
        "mnist": {"mlp": 0.97, "cnn": 0.985},
        "fashion_mnist": {"mlp": 0.87, "cnn": 0.90},
    },
    # Accuracy at and below which the accuracy tests give nothing (a number, or one per data set).
    "partial_credit_floor": 0.5,
    "max_params": {"mlp": 1_000_000, "cnn": 1_000_000},
    "checkpoint_max_mb": 5.0,
    "retrain": {
        "epochs": 2,
        "train_subset": 20000,  # the first N training images (0: all of them)
        "time_budget_s": 240.0,  # per model; keep below the assignment's call_timeout_s
        "thresholds": {
            "mnist": {"mlp": 0.95, "cnn": 0.97},
            "fashion_mnist": {"mlp": 0.83, "cnn": 0.86},
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
        raise ValueError(f"{key}: expected an accuracy in (0, 1], got {value!r}")
    return float(value)


def _positive(value: Any, key: str, kind: type = float) -> Any:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise ValueError(f"{key}: expected a number > 0, got {value!r}")
    return kind(value)


def resolve_options(options: dict | None) -> MnistOptions:
    """Merge ``options`` over DEFAULTS and validate; errors name the key (``options.x.y``)."""
    merged = _merge(DEFAULTS, options or {})
    dataset = str(merged["dataset"]).lower().replace("-", "_")
    if dataset not in DATASETS:
        raise ValueError(f"options.dataset: expected one of {DATASETS}, got {merged['dataset']!r}")
    mode = merged["mode"]
    if mode not in MODES:
        raise ValueError(f"options.mode: expected one of {MODES}, got {mode!r}")
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
            raise ValueError(f"{floor_key}: {floor} is not below the {m} threshold {t}")
    retrain = merged["retrain"]
    subset = retrain["train_subset"]
    if isinstance(subset, bool) or not isinstance(subset, int) or subset < 0:
        raise ValueError(f"options.retrain.train_subset: expected an int >= 0, got {subset!r}")
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
