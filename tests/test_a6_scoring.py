"""grader.mnist.scoring: a6_mnist options, accuracy and the partial-credit scale."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from grader.course.config import load_config
from grader.mnist.scoring import (
    TIERS,
    accuracy,
    credit,
    resolve_options,
    tier_cutoffs,
)

ROOT = Path(__file__).resolve().parent.parent


def test_defaults_are_the_course_thresholds() -> None:
    options = resolve_options({})
    assert (options.dataset, options.mode) == ("fashion_mnist", "checkpoint")
    assert options.thresholds == {"mlp": 0.80, "cnn": 0.865}


def test_mnist_thresholds_apply_when_the_dataset_is_mnist() -> None:
    assert resolve_options({"dataset": "mnist"}).thresholds == {"mlp": 0.97, "cnn": 0.985}


def test_retrain_mode_uses_its_own_thresholds() -> None:
    options = resolve_options({"mode": "retrain"})
    assert options.thresholds == {"mlp": 0.745, "cnn": 0.825}


def test_one_nested_override_keeps_the_other_defaults() -> None:
    options = resolve_options({"thresholds": {"fashion_mnist": {"cnn": 0.91}}})
    assert options.thresholds == {"mlp": 0.80, "cnn": 0.91}


def test_floor_may_be_given_per_dataset() -> None:
    options = resolve_options({"dataset": "mnist",
                               "partial_credit_floor": {"mnist": 0.8, "fashion_mnist": 0.6}})
    assert options.floor == 0.8


@pytest.mark.parametrize(("options", "key"), [
    ({"mode": "cheat"}, "options.mode"),
    ({"dataset": "cifar10"}, "options.dataset"),
    ({"thresholds": {"fashion_mnist": {"mlp": 87}}}, "options.thresholds.fashion_mnist.mlp"),
    ({"partial_credit_floor": 0.95}, "options.partial_credit_floor"),
    ({"retrain": {"train_subset": -1}}, "options.retrain.train_subset"),
    ({"max_params": {"cnn": 0}}, "options.max_params.cnn"),
    ({"perturbation": 2}, "options.perturbation"),
    ({"perturbation": {"max_shift": 1.5}}, "options.perturbation.max_shift"),
    ({"perturbation": {"max_shift": 8}}, "options.perturbation.max_shift"),
    ({"perturbation": {"noise_std": -1}}, "options.perturbation.noise_std"),
    ({"memorization_gap": 0}, "options.memorization_gap"),
    ({"implausible_above": {"fashion_mnist": {"cnn": 1.5}}},
     "options.implausible_above.fashion_mnist.cnn"),
    ({"implausible_above": {"fashion_mnist": {"mlp": 0.75}}},  # not above its threshold 0.80
     "options.implausible_above.fashion_mnist.mlp"),
    ({"private_test_set": ""}, "options.private_test_set"),
    ({"private_test_set": 7}, "options.private_test_set"),
])
def test_invalid_options_name_the_key(options: dict, key: str) -> None:
    with pytest.raises(ValueError, match=key.replace(".", r"\.")):
        resolve_options(options)


def test_grader_yaml_options_resolve() -> None:
    course = load_config(ROOT / "grader.yaml").assignment("a6_mnist")
    options = resolve_options(course.options)
    assert options.dataset in ("mnist", "fashion_mnist")


def test_last_cutoff_is_exactly_the_threshold() -> None:
    cutoffs = tier_cutoffs(0.87, 0.5)
    assert len(cutoffs) == TIERS and cutoffs[-1] == 0.87
    assert np.allclose(np.diff([0.5, *cutoffs]), (0.87 - 0.5) / TIERS)


@pytest.mark.parametrize(("acc", "share"), [
    (0.87, 1.0), (0.95, 1.0), (0.8699, 0.75), (0.7775, 0.75), (0.70, 0.5), (0.60, 0.25),
    (0.59, 0.0), (0.1, 0.0),
])
def test_credit_grows_in_steps_from_floor_to_threshold(acc: float, share: float) -> None:
    assert credit(acc, 0.87, 0.5) == share


def test_threshold_reached_by_a_count_of_correct_images_earns_full_points() -> None:
    labels = np.arange(10000) % 10
    predicted = labels.copy()
    predicted[8700:] = (labels[8700:] + 1) % 10  # exactly 8,700 right
    logits = np.eye(10)[predicted]
    assert accuracy(logits, labels) == 0.87
    assert credit(accuracy(logits, labels), 0.87, 0.5) == 1.0


def test_accuracy_rejects_non_finite_logits() -> None:
    logits = np.zeros((4, 10))
    logits[2, 3] = np.nan
    with pytest.raises(AssertionError, match="1 of 4 test images contain NaN"):
        accuracy(logits, np.zeros(4, int))


def test_accuracy_rejects_wrongly_shaped_logits() -> None:
    with pytest.raises(AssertionError, match=r"shape \(4, 10\)"):
        accuracy(np.zeros((4, 9)), np.zeros(4, int))
