"""a6_mnist reference models: test accuracy and training time on this machine's CPU.

Trains the reference MLP and CNN (solutions/a6_mnist/train_reference.py, the recipe that wrote
the committed checkpoints) on the full Fashion-MNIST training set and prints, per model, the
test accuracy, the training wall time and CPU seconds, and the load average while it ran (on a
shared machine the wall time depends on it). With --checkpoints it only evaluates the committed
checkpoints (seconds instead of minutes).

Usage: python benchmarks/a6_reference.py [--root data] [--threads 2] [--checkpoints]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOLUTION = ROOT / "solutions" / "a6_mnist"
DATASET = "fashion_mnist"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=ROOT / "data", help="data root")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    parser.add_argument("--checkpoints", action="store_true",
                        help="evaluate the committed checkpoints instead of training")
    args = parser.parse_args()
    sys.path.insert(0, str(SOLUTION))
    import torch
    import train_reference as ref  # puts the solution module and the grader package on the path

    from grader.mnist.scoring import accuracy, resolve_options
    from grader.worker_tasks.mnist import checkpoint_logits

    if not ref.available(DATASET, args.root):
        return 1
    torch.set_num_threads(args.threads)
    thresholds = resolve_options({"dataset": DATASET}).thresholds
    print(f"{DATASET}, torch {torch.__version__}, {args.threads} threads, "
          f"{os.cpu_count()} CPUs, load average before: {os.getloadavg()[0]:.1f}")
    for which in ("mlp", "cnn"):
        if args.checkpoints:
            x, y = ref.data.load_split(DATASET, args.root, train=False)
            path = SOLUTION / "checkpoints" / DATASET / f"{which}.pt"
            logits = checkpoint_logits(ref.mnist_models, which, str(path), x.numpy(),
                                       path.stat().st_size, "cpu")
            acc = accuracy(logits, y.numpy())
            print(f"{which}: committed checkpoint, test accuracy {acc:.4f} "
                  f"(full points from {thresholds[which]})")
            continue
        result = ref.train_one(DATASET, which, args.root, out_dir=None, threads=args.threads)
        print(f"{which}: test accuracy {result.test_accuracy:.4f} (full points from "
              f"{thresholds[which]}), {result.params:,} params, train {result.train_wall_s:.1f} s "
              f"wall, {result.train_cpu_s:.1f} s CPU, load average after: "
              f"{os.getloadavg()[0]:.1f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
