"""Hidden tests of a6_mnist: test-set accuracy of the MLP and the CNN, with partial credit.

Each model's accuracy points come in TIERS tests of equal worth; tier k passes when the accuracy
on the run's perturbed test images reaches floor + (threshold - floor) * k / TIERS
(grader.mnist.scoring), so the score rises linearly in steps from the floor to the threshold.
The tests are generated below so that each has its own title in the feedback. A 0-point hidden
test per model records clean and perturbed accuracy for the instructor and fails (flags, for a
person to look at) when the clean accuracy is far above the perturbed one (a model memorizing the
test images) or when either is implausibly high for this kind of model (a search over the test
set itself, which perturbing public images cannot defeat). On the public test set such a flag is
all the grader can offer: accuracy points are earned for sure only on a private test set
(options.private_test_set; docs/SECURITY.md).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from grader.mnist.scoring import MODELS, TIERS, MnistOptions, ModelAccuracy

POINTS_PER_TIER = 3
LABELS = {"mlp": "MLP", "cnn": "CNN"}
SOURCE = {
    "checkpoint": "your {which}.pt loaded into build_{which}()",
    "retrain": "build_{which}() trained by your train() on the grader's training subset",
}


def _perturbation(a6: MnistOptions) -> str:
    return (f"each shifted by up to {a6.max_shift} px and with noise of std {a6.noise_std:g} "
            "grey levels")


def _test_set(a6: MnistOptions) -> str:
    return "the course's private test set" if a6.private_test_set else f"{a6.dataset} test set"


def _make_tier_test(which: str, tier: int) -> Callable:
    @pytest.mark.points(POINTS_PER_TIER)
    def test(graded_accuracy: Callable[[str], ModelAccuracy], a6: MnistOptions) -> None:
        acc = graded_accuracy(which)
        cutoffs = a6.cutoffs(which)
        need = cutoffs[tier - 1]
        source = SOURCE[a6.mode].format(which=which)
        assert acc.perturbed >= need, (
            f"{LABELS[which]} test accuracy {acc.perturbed:.4f} ({source}, {_test_set(a6)}, "
            f"images {_perturbation(a6)}; {acc.clean:.4f} on the unchanged images) "
            f"is below {need:.4f}, the cutoff of tier {tier} of {TIERS}. Cutoffs: "
            + ", ".join(f"{c:.4f}" for c in cutoffs)
            + f"; full points from {a6.thresholds[which]:.4f}.")

    test.__name__ = f"test_{which}_accuracy_tier_{tier}"
    test.__doc__ = (f"{LABELS[which]} test accuracy, tier {tier} of {TIERS}: at least {tier}/"
                    f"{TIERS} of the way from the partial-credit floor to the threshold")
    return test


def _make_memorization_check(which: str) -> Callable:
    @pytest.mark.points(0)
    @pytest.mark.visibility("hidden")
    def test(graded_accuracy: Callable[[str], ModelAccuracy], a6: MnistOptions,
             record_property: Callable[[str, object], None]) -> None:
        try:
            acc = graded_accuracy(which)
        except Exception as exc:  # charged by the tier tests; nothing to compare here
            record_property("output", f"{LABELS[which]}: not checked, the model could not be "
                                      f"evaluated ({type(exc).__name__})")
            return
        ceiling = a6.implausible_above[which]
        summary = (f"{LABELS[which]}: clean accuracy {acc.clean:.4f}, perturbed {acc.perturbed:.4f}"
                   f" (graded), gap {acc.gap:+.4f}; flagged for a gap above "
                   f"{a6.memorization_gap:.4f} or an accuracy above {ceiling:.4f}; scored on "
                   f"{_test_set(a6)}")
        record_property("output", summary)  # shown in the results even when the test passes
        assert not acc.memorizing(a6.memorization_gap), (
            f"MEMORIZATION SUSPECTED. {summary}. A model that learned the classes loses little "
            f"on test images {_perturbation(a6)}; one this far apart likely recognizes the "
            "public test images themselves (a lookup table, training on the test set).")
        assert not acc.implausible(ceiling), (
            f"IMPLAUSIBLE ACCURACY. {summary}. No {LABELS[which]} of this size is known to reach "
            f"this on {a6.dataset}: the model may search the test set itself (which the "
            "perturbation cannot hide). Look at the submission; on a private test set this "
            "cannot earn points.")

    test.__name__ = f"test_{which}_memorization_check"
    test.__doc__ = (f"{LABELS[which]}: clean vs perturbed test accuracy, flagged when far apart "
                    "(instructor check, 0 points)")
    return test


for _which in MODELS:
    for _tier in range(1, TIERS + 1):
        _test = _make_tier_test(_which, _tier)
        globals()[_test.__name__] = _test
    _test = _make_memorization_check(_which)
    globals()[_test.__name__] = _test
del _which, _tier, _test
