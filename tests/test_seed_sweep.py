"""The variants whose kills depend on the draws are killed on every one of 20 run seeds, and
a slip whose cost is one convention costs exactly that on every seed. One combined
submission per assignment (slips in different functions, tests that only meet their own
slip) keeps this to two small batches per seed; the full sweep over every
variant of every assignment, one submission each, is benchmarks/seed_sweep.py."""

from __future__ import annotations

import pytest

from tests.variants.sweep import combined, pick, sweep

pytestmark = pytest.mark.sandbox

SEEDS = range(1000, 1020)


def test_a7_swapped_output_sizes_are_killed_on_every_seed(tmp_path) -> None:
    """H and W swapped in an output size gives the right values whenever H' == W': every
    forward test of the convolution and pooling layers draws H' != W'. (The slips whose kills
    do not depend on the draw, and the one-sided padding that the stride-and-padding test's
    draw now always exposes, are swept by benchmarks/seed_sweep.py.)"""
    swaps = combined("output_sizes_swap_h_and_w", pick("a7_conv", [
        "naive_output_size_swaps_h_and_w", "fast_output_size_swaps_h_and_w",
        "max_pool_output_size_swaps_h_and_w", "avg_pool_output_size_swaps_h_and_w"]))
    missed = [o.describe() for o in sweep("a7_conv", [swaps], SEEDS, tmp_path) if not o.killed]
    assert not missed, missed


def test_a0_tie_rule_and_xor_hidden_layer_cost_their_own_points_on_every_seed(tmp_path) -> None:
    """A perceptron firing at z >= 0 (in step and in training) loses only step(0)'s point, a
    sigmoid hidden layer in xor_forward only the random-parameter test, on every seed."""
    slips = combined("tie_rule_and_sigmoid_hidden_layer", pick("a0_perceptron", [
        "perceptron_predicts_with_greater_equal", "xor_forward_sigmoid_hidden_layer"]))
    missed = [o.describe() for o in sweep("a0_perceptron", [slips], SEEDS, tmp_path)
              if not o.killed]
    assert not missed, missed
