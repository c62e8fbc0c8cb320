"""Hidden tests of a6_mnist: what build_mlp() and build_cnn() build (no data, no training).

Decided on the trusted side from what comes back by value: the models are built and run inside
the worker (grader.worker_tasks.mnist), but only their state_dict (numpy copies) and the logits
of inputs this side sends return; shapes, counts and comparisons are made here. A convolution
is a 4-D weight (out, in, kh, kw) that the logits depend on: with those weights zeroed by this
side and sent back, the logits of the same images must change, and differently per image.
"""

from __future__ import annotations

import numpy as np
import pytest

from grader.mnist.scoring import MnistOptions
from grader.testing import assert_true

TASKS = "grader.worker_tasks.mnist"


def _inputs(rng: np.random.Generator, n: int) -> np.ndarray:
    """What normalized images look like: standard normal (n, 1, 28, 28) float32."""
    return rng.standard_normal((n, 1, 28, 28)).astype(np.float32)


def _logits(student, which: str, x: np.ndarray, state: dict | None = None) -> np.ndarray:
    got = student.worker_call(f"{TASKS}:model_logits", which, x, state)
    n = x.shape[0]
    assert_true(isinstance(got, np.ndarray) and got.shape == (n, 10),
                f"build_{which}() maps x ({n}, 1, 28, 28) to "
                f"{getattr(got, 'shape', type(got).__name__)}, expected logits ({n}, 10)")
    assert_true(np.isfinite(got).all(), f"build_{which}() returns NaN or inf for a normal input")
    return got


def _state(student, which: str) -> dict[str, np.ndarray]:
    state = student.worker_call(f"{TASKS}:model_state", which)
    assert_true(isinstance(state, dict) and all(
        isinstance(k, str) and isinstance(v, np.ndarray) and v.dtype.kind in "biuf"
        for k, v in state.items()),
        f"build_{which}().state_dict() must map names to tensors")
    return state


def _convolution_weights(state: dict[str, np.ndarray]) -> list[str]:
    return [k for k, v in state.items() if v.ndim == 4 and v.dtype.kind == "f"]


def _values(state: dict[str, np.ndarray]) -> int:
    return int(sum(v.size for v in state.values() if v.dtype.kind == "f"))


@pytest.mark.points(2)
def test_mlp_maps_images_to_ten_logits(student, rng):
    """build_mlp: (N, 1, 28, 28) -> (N, 10) logits, in eval mode"""
    _logits(student, "mlp", _inputs(rng, int(rng.integers(1, 33))))


@pytest.mark.points(2)
def test_cnn_maps_images_to_ten_logits(student, rng):
    """build_cnn: (N, 1, 28, 28) -> (N, 10) logits, in eval mode"""
    _logits(student, "cnn", _inputs(rng, int(rng.integers(1, 33))))


def _check_params(student, a6: MnistOptions, which: str) -> None:
    count = _values(_state(student, which))
    limit = a6.max_params[which]
    assert_true(count <= limit, f"build_{which}() has {count:,} parameters, over the "
                                f"assignment's limit of {limit:,} per model (counted as the "
                                "floating-point values of model.state_dict()): use fewer or "
                                "narrower layers")
    assert_true(count > 0, f"build_{which}() has no parameters to learn")


@pytest.mark.points(1)
def test_mlp_within_parameter_limit(student, a6):
    """build_mlp: at most the assignment's parameter limit"""
    _check_params(student, a6, "mlp")


@pytest.mark.points(1)
def test_cnn_within_parameter_limit(student, a6):
    """build_cnn: at most the assignment's parameter limit"""
    _check_params(student, a6, "cnn")


@pytest.mark.points(2)
def test_cnn_has_a_convolution(student, rng):
    """build_cnn: contains a convolution layer (torch.nn.Conv2d) that its logits depend on"""
    state = _state(student, "cnn")
    convs = _convolution_weights(state)
    assert_true(bool(convs), "build_cnn() has no convolution weight (a 4-D tensor (out_channels, "
                             "in_channels, kh, kw) in its state_dict); its weights: "
                + ", ".join(f"{k} {v.shape}" for k, v in list(state.items())[:8]))
    x = _inputs(rng, 16)
    logits = _logits(student, "cnn", x, state)
    ablated = {k: np.zeros_like(v) if k in convs else v for k, v in state.items()}
    change = logits - _logits(student, "cnn", x, ablated)
    # Zeroed convolutions leave the images nothing to pass on: a real CNN's logits change, and
    # by a different amount for each image.
    per_image = float(change.std(axis=0).max())
    assert_true(per_image > 1e-6 * (1.0 + float(np.abs(logits).max())),
                "build_cnn()'s logits do not depend on its convolution weights ("
                + ", ".join(convs[:4]) + "): with them zeroed, the logits of 16 images change "
                f"by at most {per_image:.3g} from one image to the next. The images must pass "
                "through the convolution on their way to the logits.")


@pytest.mark.points(1)
def test_mlp_is_fully_connected(student):
    """build_mlp: a multilayer perceptron, without convolution layers"""
    convs = _convolution_weights(_state(student, "mlp"))
    assert_true(not convs, "build_mlp() contains convolutions (4-D weights "
                           + ", ".join(convs[:4]) + "); an MLP is built from fully connected "
                           "(nn.Linear) layers")
