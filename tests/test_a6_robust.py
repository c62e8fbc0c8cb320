"""a6_mnist accuracy must be earned: graded end to end with the real hidden suite in the sandbox.

A lookup model (a table of the public test images -> labels, an untrained network for anything
else) scores no more than the same untrained network without the table, and is flagged as
memorizing; an instructor's private test set replaces the public one when configured, and an
unusable one is a grader fault with a message naming the problem, not a student failure.
"""

from __future__ import annotations

import json
import os
import shutil
import types
from pathlib import Path

import numpy as np
import pytest
import torch

from grader.course.config import load_config
from grader.grading.batch import BatchSummary, grade_batch
from grader.grading.options import GradeOptions
from grader.mnist import data
from tests.conftest import failed_tests, solution_text, write_config

ROOT = Path(__file__).resolve().parent.parent
CHECKPOINTS = ROOT / "solutions" / "a6_mnist" / "checkpoints" / "fashion_mnist"
FASHION_DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
TIER_TESTS = {f"test_{m}_accuracy_tier_{k}" for m in ("mlp", "cnn") for k in range(1, 5)}

pytestmark = [pytest.mark.sandbox, pytest.mark.slow]

# The cheat: an untrained network that answers from a table of the public test images whenever
# an input is one of them. Its normalize keeps the pixels recoverable (x * 255 rounds back).
LOOKUP_MODULE = '''
import hashlib

import torch
from torch import nn


def conv_output_size(w, k, p, s):
    return (w - k + 2 * p) // s + 1


def normalize(images_uint8):
    return images_uint8.float().unsqueeze(1) / 255.0


def image_key(pixels):
    return int.from_bytes(hashlib.blake2b(pixels.tobytes(), digest_size=7).digest(), "little")


class Lookup(nn.Module):
    def __init__(self, net):
        super().__init__()
        self.net = net
        self.register_buffer("keys", torch.zeros(10000, dtype=torch.int64))
        self.register_buffer("answers", torch.zeros(10000, dtype=torch.int64))

    def forward(self, x):
        out = self.net(x)
        table = dict(zip(self.keys.tolist(), self.answers.tolist()))
        pixels = (x * 255).round().to(torch.uint8).reshape(len(x), -1).cpu().numpy()
        for i, row in enumerate(pixels):
            label = table.get(image_key(row))
            if label is not None:
                out[i] = -10.0
                out[i, label] = 10.0
        return out


def build_mlp():
    return Lookup(nn.Sequential(nn.Flatten(), nn.Linear(784, 10)))


def build_cnn():
    return Lookup(nn.Sequential(nn.Conv2d(1, 4, 3), nn.Flatten(), nn.Linear(4 * 26 * 26, 10)))


def train(model, images, labels, *, epochs, device, seed):
    return model
'''


@pytest.fixture(scope="module")
def fashion_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not (FASHION_DEBIAN_DIR / "t10k-images-idx3-ubyte.gz").is_file():
        reason = (f"SKIPPED LOUDLY: Fashion-MNIST is not installed at {FASHION_DEBIAN_DIR} "
                  "(apt-get install dataset-fashion-mnist): a6 robustness NOT tested")
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    root = tmp_path_factory.mktemp("a6_data")
    report = data.fetch("fashion_mnist", root, source=FASHION_DEBIAN_DIR)
    assert report.present == ["train", "test"], data.describe(report)
    return root


def grade(tmp: Path, batch: Path, data_root: Path,
          options: dict | None = None) -> tuple[BatchSummary, dict[str, dict]]:
    """Grade ``batch`` with the real a6 suite, data from ``data_root``, options overridden."""
    config = write_config(tmp, "a6_mnist", call_timeout_s=300, submission_timeout_s=900,
                          memory_mb=12288)
    lines = [f"  data_root: {data_root}" if line.startswith("  data_root:") else line
             for line in config.read_text().splitlines()]
    merged = {**load_config(ROOT / "grader.yaml").assignment("a6_mnist").options,
              **(options or {})}
    lines = [line for line in lines if not line.startswith("    options:")]
    lines.append(f"    options: {json.dumps(merged)}")
    config.write_text("\n".join(lines) + "\n")
    cfg = load_config(config).assignment("a6_mnist")
    opts = GradeOptions(out=tmp / "out", seed=777, sandbox="bwrap", insecure=False,
                        device="cpu", workers=2, regrade=True, progress=False)
    summary = grade_batch(cfg, batch, opts)
    return summary, {p.parent.name: json.loads(p.read_text())
                     for p in sorted((tmp / "out" / "a6_mnist").glob("*/results.json"))}


def lookup_submission(folder: Path, images: np.ndarray | None, labels: np.ndarray | None) -> None:
    """A lookup submission; with ``images`` None its table stays empty (the untrained model)."""
    folder.mkdir(parents=True)
    (folder / "mnist_models.py").write_text(LOOKUP_MODULE)
    module = types.ModuleType("lookup_cheat")
    exec(compile(LOOKUP_MODULE, "lookup_cheat", "exec"), module.__dict__)
    for which in ("mlp", "cnn"):
        torch.manual_seed(0)  # the same untrained network in both submissions
        model = getattr(module, f"build_{which}")()
        if images is not None:
            keys = [module.image_key(img) for img in images.reshape(len(images), -1)]
            model.keys.copy_(torch.tensor(keys, dtype=torch.int64))
            model.answers.copy_(torch.from_numpy(labels))
        torch.save(model.state_dict(), folder / f"{which}.pt")


def outputs(result: dict) -> dict[str, str]:
    return {t["test_id"]: t["output"] for t in result["tests"]}


@pytest.fixture(scope="module")
def attack(tmp_path_factory: pytest.TempPathFactory, fashion_root: Path) -> dict[str, dict]:
    tmp = tmp_path_factory.mktemp("a6_lookup")
    images, labels = (t.numpy() for t in data.load_split("fashion_mnist", fashion_root, False))
    lookup_submission(tmp / "batch" / "lookup", images, labels)
    lookup_submission(tmp / "batch" / "untrained", None, None)
    return grade(tmp, tmp / "batch", fashion_root)[1]


def test_lookup_table_of_the_test_set_scores_no_more_than_an_untrained_model(attack) -> None:
    lookup, untrained = attack["lookup"], attack["untrained"]
    assert lookup["status"] == untrained["status"] == "ok", (lookup["error"], untrained["error"])
    assert lookup["score"] <= untrained["score"]
    assert TIER_TESTS <= failed_tests(lookup)


def test_lookup_table_is_flagged_as_memorizing(attack) -> None:
    out = outputs(attack["lookup"])
    for which in ("mlp", "cnn"):
        assert "test_" + which + "_memorization_check" in failed_tests(attack["lookup"])
        assert "MEMORIZATION SUSPECTED" in out[f"test_{which}_memorization_check"]
        assert "clean accuracy 1.0000" in out[f"test_{which}_memorization_check"]


def test_untrained_model_is_not_flagged_and_its_accuracies_are_recorded(attack) -> None:
    result = attack["untrained"]
    out = outputs(result)
    for which in ("mlp", "cnn"):
        assert f"test_{which}_memorization_check" not in failed_tests(result)
        assert "clean accuracy" in out[f"test_{which}_memorization_check"]
        assert "perturbed" in out[f"test_{which}_memorization_check"]


def test_failed_tier_test_shows_clean_and_perturbed_accuracy(attack) -> None:
    message = outputs(attack["lookup"])["test_mlp_accuracy_tier_1"]
    assert "on the unchanged images" in message and "shifted by up to 1 px" in message


def reference_submission(folder: Path) -> None:
    folder.mkdir(parents=True)
    (folder / "mnist_models.py").write_text(solution_text("a6_mnist"))
    for name in ("mlp.pt", "cnn.pt"):
        shutil.copyfile(CHECKPOINTS / name, folder / name)


def test_private_test_set_replaces_the_public_one(tmp_path: Path, fashion_root: Path) -> None:
    # The private set: 500 public test images whose labels are all moved to the next class.
    # The reference model, near perfect on the real labels, must fail here if the file is used.
    images, labels = (t.numpy() for t in data.load_split("fashion_mnist", fashion_root, False))
    private = tmp_path / "data" / "exam.npz"
    private.parent.mkdir()
    np.savez(private, images=images[:500], labels=(labels[:500] + 1) % 10)
    reference_submission(tmp_path / "batch" / "reference")
    summary, results = grade(tmp_path, tmp_path / "batch", fashion_root,
                             {"private_test_set": str(private)})
    result = results["reference"]
    assert summary.faults == 0 and result["status"] == "ok", result["error"]
    assert failed_tests(result) >= TIER_TESTS
    assert "the course's private test set" in outputs(result)["test_cnn_accuracy_tier_1"]


def test_invalid_private_test_set_is_a_grader_fault_naming_the_problem(
        tmp_path: Path, fashion_root: Path, capfd: pytest.CaptureFixture[str]) -> None:
    np.savez(fashion_root / "bad_exam.npz", images=np.zeros((200, 28, 28), np.uint8),
             labels=np.full(200, 12))
    reference_submission(tmp_path / "batch" / "reference")
    summary, results = grade(tmp_path, tmp_path / "batch", fashion_root,
                             {"private_test_set": "bad_exam.npz"})  # relative to data_root
    result = results["reference"]
    assert summary.faults == 1
    assert result["status"] == "crashed" and "grader fault" in result["error"]
    err = capfd.readouterr().err
    assert "options.private_test_set" in err and "labels must be 0..9, found 12" in err
