"""Hidden tests of a6_mnist: what build_mlp() and build_cnn() build (no data, no training).

The models are built and run inside the worker (grader.worker_tasks.mnist.model_summary);
only counts, layer type names and shapes come back.
"""

from __future__ import annotations

import pytest

from grader.mnist.scoring import MnistOptions
from grader.testing import assert_true

SUMMARY = "grader.worker_tasks.mnist:model_summary"


def _check_output(student, which: str, n: int) -> None:
    s = student.worker_call(SUMMARY, which, n)
    assert_true(s["output_type"] == "Tensor",
                f"build_{which}()(x) returned a {s['output_type']}, expected a logits tensor")
    assert_true(s["output_shape"] == [n, 10], f"build_{which}() maps x ({n}, 1, 28, 28) to "
                                              f"{tuple(s['output_shape'])}, expected ({n}, 10)")
    assert_true(s["output_finite"], f"build_{which}() returns NaN or inf for a normal input")


@pytest.mark.points(2)
def test_mlp_maps_images_to_ten_logits(student, rng):
    """build_mlp: (N, 1, 28, 28) -> (N, 10) logits, in eval mode"""
    _check_output(student, "mlp", int(rng.integers(1, 33)))


@pytest.mark.points(2)
def test_cnn_maps_images_to_ten_logits(student, rng):
    """build_cnn: (N, 1, 28, 28) -> (N, 10) logits, in eval mode"""
    _check_output(student, "cnn", int(rng.integers(1, 33)))


def _check_params(student, a6: MnistOptions, which: str) -> None:
    s = student.worker_call(SUMMARY, which)
    limit = a6.max_params[which]
    assert_true(s["params"] <= limit, f"build_{which}() has {s['params']:,} parameters, over "
                                      f"the assignment's limit of {limit:,} per model (counted as "
                                      "sum(p.numel() for p in model.parameters())): use fewer "
                                      "or narrower layers")
    assert_true(s["params"] > 0, f"build_{which}() has no parameters to learn")


@pytest.mark.points(1)
def test_mlp_within_parameter_limit(student, a6):
    """build_mlp: at most the assignment's parameter limit"""
    _check_params(student, a6, "mlp")


@pytest.mark.points(1)
def test_cnn_within_parameter_limit(student, a6):
    """build_cnn: at most the assignment's parameter limit"""
    _check_params(student, a6, "cnn")


@pytest.mark.points(2)
def test_cnn_has_a_convolution(student):
    """build_cnn: contains a convolution layer (torch.nn.Conv2d)"""
    s = student.worker_call(SUMMARY, "cnn")
    assert_true(s["has_conv"], "build_cnn() contains no convolution layer (layers: "
                               + ", ".join(dict.fromkeys(s["layers"])) + ")")


@pytest.mark.points(1)
def test_mlp_is_fully_connected(student):
    """build_mlp: a multilayer perceptron, without convolution layers"""
    s = student.worker_call(SUMMARY, "mlp")
    assert_true(not s["has_conv"], "build_mlp() contains convolutions ("
                                   + ", ".join(s["conv_layers"]) + "); an MLP is built from "
                                   "fully connected (nn.Linear) layers")
