"""Speed of the a7_conv reference solution: fast (im2col) vs naive (loops) convolution.

Times forward + backward of both pairs on two realistic layers (the first layer of an MNIST
CNN: 64 images 1 x 28 x 28, 16 filters 5 x 5, pad 2; a middle layer of a CIFAR CNN: 32 images
16 x 32 x 32, 32 filters 3 x 3, pad 1; stride 1), checks that both pairs agree, and prints the
best time of each over --repeat runs and the naive / fast ratio. The reference naive pair loops
over output positions only (one tensordot over N, C, F each); the textbook naive pair with four
nested loops (the correct variant ``naive_four_nested_loops`` of tests/variants/a7_conv.py) is
timed once too, as most students write it. Runs the solutions directly (no sandbox, no
grader): it measures the assignment, not the grading.

With --ratios it calibrates the hidden suite's "vectorized" check instead: it grades every
variant of tests/variants/measured_a7.py (honest vectorized pairs, and loops over output positions
driven by for, map, threads, ...) with the real suite in the sandbox (needs bubblewrap and
cgroups, i.e. root) and prints, per variant and input shape, the ratio of the worker's CPU time
(kernel-measured) to the trusted reference's, next to the allowed MAX_CPU_RATIO.

Usage: python benchmarks/a7_conv_speed.py [--repeat 3] [--ratios]
"""

from __future__ import annotations

import argparse
import sys
import time
import types
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SOLUTION = ROOT / "solutions" / "a7_conv" / "conv.py"

from tests.variants.a7_conv import CORRECT  # noqa: E402
from tests.variants.mutate import apply  # noqa: E402


@dataclass(frozen=True)
class Layer:
    name: str
    x_shape: tuple[int, int, int, int]
    w_shape: tuple[int, int, int, int]
    pad: int


LAYERS = [
    Layer("MNIST conv1", (64, 1, 28, 28), (16, 1, 5, 5), pad=2),
    Layer("CIFAR conv2", (32, 16, 32, 32), (32, 16, 3, 3), pad=1),
]


def load_solution(variant: str | None = None) -> types.ModuleType:
    """The reference solution as a module (its marker lines are plain comments), optionally
    with one of the correct variants applied."""
    source = SOLUTION.read_text()
    if variant is not None:
        source = apply(source, next(v for v in CORRECT if v.name == variant).changes)
    module = types.ModuleType("conv")
    exec(compile(source, str(SOLUTION), "exec"), module.__dict__)
    return module


def best_time(step: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    return min(times)


def bench(conv: types.ModuleType, loops: types.ModuleType, layer: Layer, repeat: int) -> None:
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal(layer.x_shape), rng.standard_normal(layer.w_shape)
    b = rng.standard_normal(layer.w_shape[0])
    param = {"stride": 1, "pad": layer.pad}
    outputs: dict[str, tuple] = {}
    seconds: dict[str, float] = {}
    for kind in ("naive", "fast"):
        forward = getattr(conv, f"conv_forward_{kind}")
        backward = getattr(conv, f"conv_backward_{kind}")

        def step(forward: Callable = forward, backward: Callable = backward) -> tuple:
            out, cache = forward(x, w, b, param)
            return (out, *backward(np.ones_like(out), cache))

        outputs[kind] = step()
        seconds[kind] = best_time(step, repeat)
    textbook = best_time(lambda: loops.conv_backward_naive(
        np.ones(outputs["naive"][0].shape), loops.conv_forward_naive(x, w, b, param)[1]), 1)
    for got, want in zip(outputs["fast"], outputs["naive"], strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9)
    print(f"{layer.name}: x {layer.x_shape}, w {layer.w_shape}, stride 1, pad {layer.pad}; "
          f"forward + backward, best of {repeat}: naive {seconds['naive']:.3f} s, "
          f"fast {seconds['fast']:.3f} s, naive / fast = "
          f"{seconds['naive'] / seconds['fast']:.1f}x; four nested loops {textbook:.2f} s, "
          f"loops / fast = {textbook / seconds['fast']:.0f}x")


def graded_ratios() -> None:
    """Grade each speed variant with the real suite; print the measured CPU-time ratios."""
    import re
    import tempfile

    from tests.conftest import grade_folder, solution_text
    from tests.variants.measured_a7 import HONEST, LOOPS, VECTORIZED_TESTS

    suite = (ROOT / "autotests" / "a7_conv" / "test_conv.py").read_text()
    limit = float(re.search(r"^MAX_CPU_RATIO = ([\d.]+)", suite, re.M).group(1))
    solution = solution_text("a7_conv")
    with tempfile.TemporaryDirectory() as tmp:
        batch = Path(tmp) / "batch"
        batch.mkdir()
        for variant in HONEST + LOOPS:
            (batch / f"{variant.name}.py").write_text(apply(solution, variant.changes))
        results = grade_folder(Path(tmp), "a7_conv", batch)
    print(f"CPU time of the worker / the reference's, per input shape (allowed: "
          f"{limit:g}x)")
    for kind, variants in (("honest", HONEST), ("loop", LOOPS)):
        for variant in variants:
            tests = {t["test_id"]: t for t in results[variant.name]["tests"]}
            cells = []
            for test_id in VECTORIZED_TESTS:
                text = tests[test_id]["output"]
                pairs = re.findall(r"x \(([\d, ]+)\)[^;]*?\(([\d.]+)x;", text)
                cells.append(f"{test_id.split('_')[2]}: " + ", ".join(
                    f"{ratio}x" for _, ratio in pairs) + f" ({tests[test_id]['status']})")
            print(f"{kind:6} {variant.name:36} " + "; ".join(cells))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--ratios", action="store_true",
                        help="calibrate the hidden suite's vectorized check instead")
    args = parser.parse_args()
    if args.ratios:
        graded_ratios()
        return
    conv, loops = load_solution(), load_solution("naive_four_nested_loops")
    for layer in LAYERS:
        bench(conv, loops, layer, args.repeat)


if __name__ == "__main__":
    main()
