"""a6_mnist: clean versus perturbed test accuracy of the committed reference checkpoints.

The graded accuracy is measured on a per-run perturbation of the test images (shifts of up to
``max_shift`` px and Gaussian noise, grader.mnist.scoring.perturb). This prints, per model and
per run seed, the accuracy on the unchanged and on the perturbed images as the grader computes
them (the same images, order and logits path), then the worst perturbed accuracy over the seeds
next to the full-points threshold, so the margin the thresholds leave is visible. With
--retrain the models are not the committed checkpoints but the solution's ``train`` run as the
grader's retrain mode runs it (first ``train_subset`` images, ``epochs``, default arguments),
scored against the retrain thresholds.

Usage: python benchmarks/a6_perturbation.py [--root data] [--seeds 1 2 3] [--threads 2]
       [--max-shift 1] [--noise-std 8] [--retrain]
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOLUTION = ROOT / "solutions" / "a6_mnist"
DATASET = "fashion_mnist"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=ROOT / "data", help="data root")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3], help="run seeds")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    parser.add_argument("--max-shift", type=int, default=None, help="override (px)")
    parser.add_argument("--noise-std", type=float, default=None, help="override (grey levels)")
    parser.add_argument("--retrain", action="store_true",
                        help="score models trained as in retrain mode, not the checkpoints")
    args = parser.parse_args()
    sys.path.insert(0, str(SOLUTION))
    import torch
    import train_reference as ref  # puts the solution module and the grader package on the path

    from grader.mnist.scoring import ModelAccuracy, resolve_options, scoring_images
    from grader.worker_tasks.mnist import load_checkpoint, logits_of

    if not ref.available(DATASET, args.root):
        return 1
    torch.set_num_threads(args.threads)
    options = resolve_options({"dataset": DATASET,
                               "mode": "retrain" if args.retrain else "checkpoint"})
    if args.max_shift is not None:
        options = replace(options, max_shift=args.max_shift)
    if args.noise_std is not None:
        options = replace(options, noise_std=args.noise_std)
    x, y = ref.data.load_split(DATASET, args.root, train=False)
    if args.retrain:
        x_train, y_train = ref.data.load_split(DATASET, args.root, train=True)
        cut = options.train_subset or None
        x_train, y_train = x_train[:cut], y_train[:cut]
    print(f"{'retrain mode' if args.retrain else 'committed checkpoints'}: "
          f"{DATASET} test set, perturbation: shifts up to {options.max_shift} px per axis, "
          f"noise std {options.noise_std:g} grey levels; memorization flag above a gap of "
          f"{options.memorization_gap}")
    for which in ("mlp", "cnn"):
        if args.retrain:
            torch.manual_seed(0)
            model = ref.mnist_models.train(getattr(ref.mnist_models, f"build_{which}")(),
                                           x_train, y_train, epochs=options.epochs,
                                           device="cpu", seed=0)
        else:
            path = SOLUTION / "checkpoints" / DATASET / f"{which}.pt"
            model = load_checkpoint(ref.mnist_models, which, str(path), path.stat().st_size,
                                    "cpu")
        worst = 1.0
        for seed in args.seeds:
            sets = scoring_images(x.numpy(), y.numpy(), seed, options)
            acc = ModelAccuracy(*(s.accuracy(logits_of(ref.mnist_models, model, s.images, "cpu"))
                                  for s in (sets.clean, sets.perturbed)))
            worst = min(worst, acc.perturbed)
            print(f"{which} seed {seed}: clean {acc.clean:.4f}, perturbed {acc.perturbed:.4f}, "
                  f"drop {acc.gap:.4f}", flush=True)
        print(f"{which}: worst perturbed {worst:.4f}, full points from "
              f"{options.thresholds[which]} (margin {worst - options.thresholds[which]:+.4f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
