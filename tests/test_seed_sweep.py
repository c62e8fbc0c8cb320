"""The variants whose kills depend on the draws are killed on every one of 20 run seeds, and
a slip whose cost is one convention costs exactly that on every seed. One combined
submission per assignment keeps this to two small batches per seed; the full sweep over every
variant of every assignment, one submission each, is benchmarks/seed_sweep.py."""

from __future__ import annotations

import pytest

from tests.variants.sweep import combined, pick, sweep

pytestmark = pytest.mark.sandbox

SEEDS = range(1000, 1020)


def test_a7_output_size_and_pad_slips_are_killed_on_every_seed(tmp_path) -> None:
    """H and W swapped in an output size passes on square outputs, a [pad:-pad] crop on pad
    > 0, padding only the top and left when the last window stops short of the far padding:
    every forward and backward test draws so that each of these shows."""
    swaps = combined("output_size_swaps_and_fast_crop", pick("a7_conv", [
        "naive_output_size_swaps_h_and_w", "fast_output_size_swaps_h_and_w",
        "max_pool_output_size_swaps_h_and_w", "avg_pool_output_size_swaps_h_and_w",
        "fast_backward_crop_with_negative_index"]))
    pads = combined("one_sided_padding_and_naive_crop", pick("a7_conv", [
        "naive_pads_only_top_left", "naive_backward_crop_with_negative_index"]))
    missed = [o.describe() for o in sweep("a7_conv", [swaps, pads], SEEDS, tmp_path)
              if not o.killed]
    assert not missed, missed


def test_a0_tie_rule_and_xor_hidden_layer_cost_their_own_points_on_every_seed(tmp_path) -> None:
    """A perceptron firing at z >= 0 (in step and in training) loses only step(0)'s point, a
    sigmoid hidden layer in xor_forward only the random-parameter test, on every seed."""
    slips = combined("tie_rule_and_sigmoid_hidden_layer", pick("a0_perceptron", [
        "perceptron_predicts_with_greater_equal", "xor_forward_sigmoid_hidden_layer"]))
    missed = [o.describe() for o in sweep("a0_perceptron", [slips], SEEDS, tmp_path)
              if not o.killed]
    assert not missed, missed
