"""Hidden tests of a6_mnist: test-set accuracy of the MLP and the CNN, with partial credit.

Each model's accuracy points come in TIERS tests of equal worth; tier k passes when the accuracy
reaches floor + (threshold - floor) * k / TIERS (grader.mnist_scoring), so the score rises
linearly in steps from the floor to the threshold. The tests are generated below so that each
has its own title in the feedback.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from grader.mnist_scoring import MODELS, TIERS, MnistOptions

POINTS_PER_TIER = 3
LABELS = {"mlp": "MLP", "cnn": "CNN"}
SOURCE = {
    "checkpoint": "your {which}.pt loaded into build_{which}()",
    "retrain": "build_{which}() trained by your train() on the grader's training subset",
}


def _make_tier_test(which: str, tier: int) -> Callable:
    @pytest.mark.points(POINTS_PER_TIER)
    def test(graded_accuracy: Callable[[str], float], a6: MnistOptions) -> None:
        acc = graded_accuracy(which)
        cutoffs = a6.cutoffs(which)
        need = cutoffs[tier - 1]
        assert acc >= need, (
            f"{LABELS[which]} test accuracy {acc:.4f} ({SOURCE[a6.mode].format(which=which)}, "
            f"{a6.dataset}) is below {need:.4f}, the cutoff of tier {tier} of {TIERS}. Cutoffs: "
            + ", ".join(f"{c:.4f}" for c in cutoffs)
            + f"; full points from {a6.thresholds[which]:.4f}.")

    test.__name__ = f"test_{which}_accuracy_tier_{tier}"
    test.__doc__ = (f"{LABELS[which]} test accuracy, tier {tier} of {TIERS}: at least {tier}/"
                    f"{TIERS} of the way from the partial-credit floor to the threshold")
    return test


for _which in MODELS:
    for _tier in range(1, TIERS + 1):
        _test = _make_tier_test(_which, _tier)
        globals()[_test.__name__] = _test
del _which, _tier, _test
