"""Speed of the a7_conv reference solution: fast (im2col) vs naive (loops) convolution.

Times forward + backward of both pairs on a CIFAR-like layer (default: a batch of 32 images
16 x 32 x 32, 32 filters of 3 x 3, stride 1, pad 1), checks that they agree, and prints the
best time of each over --repeat runs and the naive / fast ratio. Runs the solution directly
(no sandbox, no grader): it measures the assignment, not the grading.

Usage: python benchmarks/a7_conv_speed.py [--repeat 3] [--n 32] [--c 16] [--size 32] [--f 32]
"""

from __future__ import annotations

import argparse
import time
import types
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
SOLUTION = ROOT / "solutions" / "a7_conv" / "conv.py"


def load_solution() -> types.ModuleType:
    """The reference solution as a module (its marker lines are plain comments)."""
    module = types.ModuleType("conv")
    exec(compile(SOLUTION.read_text(), str(SOLUTION), "exec"), module.__dict__)
    return module


def best_time(step: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--n", type=int, default=32, help="batch size")
    parser.add_argument("--c", type=int, default=16, help="input channels")
    parser.add_argument("--size", type=int, default=32, help="image height and width")
    parser.add_argument("--f", type=int, default=32, help="filters")
    args = parser.parse_args()

    conv = load_solution()
    rng = np.random.default_rng(0)
    x = rng.standard_normal((args.n, args.c, args.size, args.size))
    w = rng.standard_normal((args.f, args.c, 3, 3))
    b = rng.standard_normal(args.f)
    param = {"stride": 1, "pad": 1}
    dout = rng.standard_normal((args.n, args.f, args.size, args.size))

    outputs: dict[str, tuple] = {}
    seconds: dict[str, float] = {}
    for kind in ("naive", "fast"):
        forward = getattr(conv, f"conv_forward_{kind}")
        backward = getattr(conv, f"conv_backward_{kind}")

        def step(forward: Callable = forward, backward: Callable = backward) -> tuple:
            out, cache = forward(x, w, b, param)
            return (out, *backward(dout, cache))

        outputs[kind] = step()
        seconds[kind] = best_time(step, args.repeat)
        print(f"{kind:5s}: forward + backward {seconds[kind]:8.3f} s (best of {args.repeat})")

    for got, want in zip(outputs["fast"], outputs["naive"], strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9)
    print(f"x {x.shape}, w {w.shape}, stride 1, pad 1: fast and naive agree; "
          f"naive / fast = {seconds['naive'] / seconds['fast']:.1f}x")

if __name__ == "__main__":
    main()
