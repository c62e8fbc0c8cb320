"""a6_mnist end to end: the real hidden suite grades submission folders in the sandbox.

The reference solution with its committed checkpoints gets full marks; a submission with a
pickled model object for mlp.pt and no cnn.pt keeps its non-accuracy points and gets clear
messages. The data root is a temporary one fetched from the Debian Fashion-MNIST files.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

from grader import data
from grader.config import load_config
from grader.runner import GradeOptions, grade_batch
from tests.conftest import failed_tests, solution_text, write_config

ROOT = Path(__file__).resolve().parent.parent
CHECKPOINTS = ROOT / "solutions" / "a6_mnist" / "checkpoints" / "fashion_mnist"
FASHION_DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not (FASHION_DEBIAN_DIR / "t10k-images-idx3-ubyte.gz").is_file(),
                       reason=f"SKIPPED LOUDLY: Fashion-MNIST is not installed at "
                              f"{FASHION_DEBIAN_DIR} (apt-get install dataset-fashion-mnist)"),
]


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    tmp = tmp_path_factory.mktemp("a6_grading")
    report = data.fetch("fashion_mnist", tmp / "data", source=FASHION_DEBIAN_DIR)
    assert "test" in report.present, data.describe(report)

    batch = tmp / "batch"
    good, broken = batch / "good", batch / "broken"
    for sub in (good, broken):
        sub.mkdir(parents=True)
        (sub / "mnist_models.py").write_text(solution_text("a6_mnist"))
    for name in ("mlp.pt", "cnn.pt"):
        shutil.copyfile(CHECKPOINTS / name, good / name)
    # The classic mistake: torch.save(model) instead of its state_dict; and a forgotten file.
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(784, 10))
    torch.save(model, broken / "mlp.pt")

    config = write_config(tmp, "a6_mnist", call_timeout_s=300, submission_timeout_s=900,
                          memory_mb=12288)
    text = config.read_text().replace(f"data_root: {ROOT / 'data'}",
                                      f"data_root: {tmp / 'data'}")
    config.write_text(text)
    cfg = load_config(config).assignment("a6_mnist")
    opts = GradeOptions(out=tmp / "out", seed=4242, sandbox="bwrap", insecure=False,
                        device="cpu", workers=2, regrade=True, progress=False)
    grade_batch(cfg, batch, opts)
    return {p.parent.name: json.loads(p.read_text())
            for p in sorted((tmp / "out" / "a6_mnist").glob("*/results.json"))}


def test_reference_submission_gets_full_marks(results: dict[str, dict]) -> None:
    result = results["good"]
    assert result["status"] == "ok", result["error"]
    assert result["max_score"] == 40
    assert result["score"] == 40, {t["test_id"]: t["output"] for t in result["tests"]
                                   if t["status"] != "passed"}


def test_unusable_checkpoints_fail_only_the_accuracy_tests(results: dict[str, dict]) -> None:
    result = results["broken"]
    failed = failed_tests(result)
    assert failed == {f"test_{m}_accuracy_tier_{k}" for m in ("mlp", "cnn") for k in range(1, 5)}
    assert result["score"] == 16


def test_unusable_checkpoints_are_explained(results: dict[str, dict]) -> None:
    outputs = {t["test_id"]: t["output"] for t in results["broken"]["tests"]}
    assert "pickled torch.nn.modules" in outputs["test_mlp_accuracy_tier_1"]
    assert "cnn.pt is missing" in outputs["test_cnn_accuracy_tier_4"]
