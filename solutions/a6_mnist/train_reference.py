"""Train the reference MLP and CNN and write their checkpoints (state_dicts).

    python solutions/a6_mnist/train_reference.py [--root data] [--dataset fashion_mnist]

For every data set whose training split is in the data root (Fashion-MNIST is fetched from
the Debian package's folder when it is missing; MNIST's training split only exists online),
trains both models with the recipe below on the CPU and writes
``checkpoints/<dataset>/{mlp,cnn}.pt`` next to this file, printing test accuracy and times.
The checkpoints are committed: keep the models small (< 2 MB each).
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
sys.path[:0] = [str(HERE), str(REPO)]  # the solution module and the grader package

import mnist_models  # noqa: E402

from grader.mnist import data  # noqa: E402
from grader.mnist.scoring import accuracy  # noqa: E402
from grader.worker_tasks.mnist import logits_of  # noqa: E402

# Per data set and model: keyword arguments of mnist_models.train. Horizontal flips suit
# clothes, not digits.
RECIPES: dict[str, dict[str, dict]] = {
    "fashion_mnist": {
        "mlp": {"epochs": 30, "batch_size": 256, "lr": 2e-3, "hflip": True},
        "cnn": {"epochs": 10, "batch_size": 256, "lr": 3e-3, "hflip": True},
    },
    "mnist": {
        "mlp": {"epochs": 10, "batch_size": 256, "lr": 2e-3},
        "cnn": {"epochs": 4, "batch_size": 256, "lr": 3e-3},
    },
}
SEED = 0


@dataclass
class Result:
    dataset: str
    which: str
    params: int
    test_accuracy: float
    train_wall_s: float
    train_cpu_s: float
    checkpoint: Path | None


def train_one(dataset: str, which: str, root: Path, out_dir: Path | None,
              threads: int = 2) -> Result:
    """Train one reference model on the full training split; evaluate it on the test split."""
    torch.set_num_threads(threads)
    x_train, y_train = data.load_split(dataset, root, train=True)
    x_test, y_test = data.load_split(dataset, root, train=False)
    torch.manual_seed(SEED)
    model = mnist_models.build_mlp() if which == "mlp" else mnist_models.build_cnn()
    wall, cpu = time.perf_counter(), time.process_time()
    mnist_models.train(model, x_train, y_train, device="cpu", seed=SEED,
                       **RECIPES[dataset][which])
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    acc = accuracy(logits_of(mnist_models, model, x_test.numpy(), "cpu"), y_test.numpy())
    path = None
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        path = out_dir / f"{which}.pt"
        torch.save(model.state_dict(), path)
    params = sum(p.numel() for p in model.parameters())
    return Result(dataset, which, params, acc, wall, cpu, path)


def available(dataset: str, root: Path) -> bool:
    """Whether the training split of ``dataset`` is (or can be made) present under ``root``."""
    report = data.fetch(dataset, root)  # reuses the root, or a known local copy
    if "train" not in report.present:
        print(data.describe(report), file=sys.stderr)
        return False
    return True


def describe(r: Result) -> str:
    where = f" -> {r.checkpoint.relative_to(REPO)} ({r.checkpoint.stat().st_size / 2**20:.2f} MB)" \
        if r.checkpoint else ""
    return (f"{r.dataset:13s} {r.which}: test accuracy {r.test_accuracy:.4f}, {r.params:,} params, "
            f"train {r.train_wall_s:.0f} s wall / {r.train_cpu_s:.0f} s CPU{where}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=REPO / "data", help="data root")
    parser.add_argument("--dataset", choices=[*RECIPES, "all"], default="all")
    parser.add_argument("--model", choices=["mlp", "cnn", "both"], default="both")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    parser.add_argument("--no-save", action="store_true", help="measure only")
    args = parser.parse_args(argv)
    datasets = list(RECIPES) if args.dataset == "all" else [args.dataset]
    models = ["mlp", "cnn"] if args.model == "both" else [args.model]
    done = 0
    for dataset in datasets:
        if not available(dataset, args.root):
            print(f"{dataset}: training split missing, skipped", file=sys.stderr)
            continue
        out_dir = None if args.no_save else HERE / "checkpoints" / dataset
        for which in models:
            print(describe(train_one(dataset, which, args.root, out_dir, args.threads)),
                  flush=True)
            done += 1
    return 0 if done else 1


if __name__ == "__main__":
    sys.exit(main())
