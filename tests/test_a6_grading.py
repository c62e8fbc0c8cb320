"""a6_mnist end to end: the real hidden suite grades submission folders in the sandbox.

The reference solution with its committed checkpoints gets full marks; a submission with a
pickled model object for mlp.pt and no cnn.pt keeps its non-accuracy points and gets clear
messages; in retrain mode the solution's own train() runs in the sandbox. The data root is a
temporary one fetched from the Debian Fashion-MNIST files.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

from grader.course.config import load_config
from grader.grading.batch import grade_batch
from grader.grading.options import GradeOptions
from grader.mnist import data
from tests.conftest import failed_tests, solution_text, write_config

ROOT = Path(__file__).resolve().parent.parent
CHECKPOINTS = ROOT / "solutions" / "a6_mnist" / "checkpoints" / "fashion_mnist"
FASHION_DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")

pytestmark = [
    pytest.mark.sandbox,
    pytest.mark.slow,
    pytest.mark.skipif(not (FASHION_DEBIAN_DIR / "t10k-images-idx3-ubyte.gz").is_file(),
                       reason=f"SKIPPED LOUDLY: Fashion-MNIST is not installed at "
                              f"{FASHION_DEBIAN_DIR} (apt-get install dataset-fashion-mnist)"),
]


@pytest.fixture(scope="module")
def fashion_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("a6_data")
    report = data.fetch("fashion_mnist", root, source=FASHION_DEBIAN_DIR)
    assert report.present == ["train", "test"], data.describe(report)
    return root


def grade(tmp: Path, batch: Path, data_root: Path, options: dict | None = None) -> dict[str, dict]:
    """Grade ``batch`` with the real a6 suite, data from ``data_root``, options overridden."""
    config = write_config(tmp, "a6_mnist", call_timeout_s=300, submission_timeout_s=900,
                          memory_mb=12288)
    lines = [f"  data_root: {data_root}" if line.startswith("  data_root:") else line
             for line in config.read_text().splitlines()]
    if options is not None:
        merged = {**load_config(ROOT / "grader.yaml").assignment("a6_mnist").options, **options}
        lines = [line for line in lines if not line.startswith("    options:")]
        lines.append(f"    options: {json.dumps(merged)}")
    config.write_text("\n".join(lines) + "\n")
    cfg = load_config(config).assignment("a6_mnist")
    opts = GradeOptions(out=tmp / "out", seed=4242, sandbox="bwrap", insecure=False,
                        device="cpu", workers=2, regrade=True, progress=False)
    grade_batch(cfg, batch, opts)
    return {p.parent.name: json.loads(p.read_text())
            for p in sorted((tmp / "out" / "a6_mnist").glob("*/results.json"))}


def submission(folder: Path) -> Path:
    folder.mkdir(parents=True)
    (folder / "mnist_models.py").write_text(solution_text("a6_mnist"))
    return folder


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory, fashion_root: Path) -> dict[str, dict]:
    tmp = tmp_path_factory.mktemp("a6_checkpoint")
    good, broken = submission(tmp / "batch" / "good"), submission(tmp / "batch" / "broken")
    for name in ("mlp.pt", "cnn.pt"):
        shutil.copyfile(CHECKPOINTS / name, good / name)
    # The classic mistake: torch.save(model) instead of its state_dict; and a forgotten file.
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(784, 10))
    torch.save(model, broken / "mlp.pt")
    return grade(tmp, tmp / "batch", fashion_root)


def test_reference_submission_gets_full_marks(results: dict[str, dict]) -> None:
    result = results["good"]
    assert result["status"] == "ok", result["error"]
    assert result["max_score"] == 40
    assert result["score"] == 40, {t["test_id"]: t["output"] for t in result["tests"]
                                   if t["status"] != "passed"}


def test_reference_submission_is_not_flagged_and_records_both_accuracies(
        results: dict[str, dict]) -> None:
    outputs = {t["test_id"]: (t["status"], t["output"]) for t in results["good"]["tests"]}
    for which in ("mlp", "cnn"):
        status, output = outputs[f"test_{which}_memorization_check"]
        assert status == "passed", output
        assert "clean accuracy 0.8" in output or "clean accuracy 0.9" in output, output
        assert "perturbed 0.8" in output, output


def test_unusable_checkpoints_fail_only_the_accuracy_tests(results: dict[str, dict]) -> None:
    result = results["broken"]
    failed = failed_tests(result)
    assert failed == {f"test_{m}_accuracy_tier_{k}" for m in ("mlp", "cnn") for k in range(1, 5)}
    assert result["score"] == 16


def test_unusable_checkpoints_are_explained(results: dict[str, dict]) -> None:
    outputs = {t["test_id"]: t["output"] for t in results["broken"]["tests"]}
    assert "pickled torch.nn.modules" in outputs["test_mlp_accuracy_tier_1"]
    assert "cnn.pt is missing" in outputs["test_cnn_accuracy_tier_4"]


def test_retrain_mode_trains_the_submission_in_the_sandbox(tmp_path: Path, fashion_root) -> None:
    # A small subset and low bars: this checks the retrain path, not the recipe's accuracy.
    options = {"mode": "retrain", "partial_credit_floor": 0.3,
               "retrain": {"epochs": 1, "train_subset": 3000, "time_budget_s": 240,
                           "thresholds": {"fashion_mnist": {"mlp": 0.6, "cnn": 0.6}}}}
    result = grade(tmp_path, submission(tmp_path / "batch" / "solution").parent, fashion_root,
                   options)["solution"]
    assert result["status"] == "ok", result["error"]
    assert result["score"] == 40, {t["test_id"]: t["output"] for t in result["tests"]
                                   if t["status"] != "passed"}
