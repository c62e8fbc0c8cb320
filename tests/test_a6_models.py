"""a6_mnist: the worker tasks on the reference checkpoints and on broken ones, the scoring
scale, and retraining on a small subset. The worker tasks are called in-process here (the
sandbox path is covered by the grading tests); images and labels come from a Fashion-MNIST
root fetched from the Debian package's files.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
import torch
from torch import nn

from grader.mnist import data
from grader.mnist.scoring import (
    ModelAccuracy,
    accuracy,
    credit,
    resolve_options,
    scoring_images,
)
from grader.worker_tasks import mnist as tasks

ROOT = Path(__file__).resolve().parent.parent
SOLUTION = ROOT / "solutions" / "a6_mnist"
CHECKPOINTS = SOLUTION / "checkpoints" / "fashion_mnist"
FASHION_DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
MAX_BYTES = resolve_options({}).checkpoint_max_bytes

pytestmark = pytest.mark.skipif(
    not (FASHION_DEBIAN_DIR / "t10k-images-idx3-ubyte.gz").is_file(),
    reason=f"SKIPPED LOUDLY: Fashion-MNIST is not installed at {FASHION_DEBIAN_DIR} "
           "(apt-get install dataset-fashion-mnist)")


class NotAStateDict:
    """An arbitrary object a student might torch.save instead of a state_dict."""

    def __init__(self) -> None:
        self.weights = torch.zeros(3)


@pytest.fixture(scope="module")
def solution() -> ModuleType:
    spec = importlib.util.spec_from_file_location("a6_reference", SOLUTION / "mnist_models.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def fashion(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("fashion_root")
    report = data.fetch("fashion_mnist", root, source=FASHION_DEBIAN_DIR)
    assert report.present == ["train", "test"], data.describe(report)
    return root


@pytest.fixture(scope="module")
def test_split(fashion: Path) -> tuple[np.ndarray, np.ndarray]:
    images, labels = data.load_split("fashion_mnist", fashion, train=False)
    return images.numpy(), labels.numpy()


@pytest.fixture(scope="module")
def train_split(fashion: Path) -> tuple[np.ndarray, np.ndarray]:
    images, labels = data.load_split("fashion_mnist", fashion, train=True)
    return images.numpy(), labels.numpy()


@pytest.mark.parametrize("which", ["mlp", "cnn"])
def test_reference_checkpoint_reaches_full_points(solution, test_split, which: str) -> None:
    # Scored as the grader scores: on the perturbed copies; the clean images apart.
    options = resolve_options({})
    sets = scoring_images(*test_split, 1, options)
    acc = ModelAccuracy(*(s.accuracy(tasks.checkpoint_logits(
        solution, which, str(CHECKPOINTS / f"{which}.pt"), s.images, MAX_BYTES, "cpu"))
        for s in (sets.clean, sets.perturbed)))
    assert acc.perturbed >= options.thresholds[which], acc
    assert credit(acc.perturbed, options.thresholds[which], options.floor) == 1.0
    assert not acc.memorizing(options.memorization_gap), acc
    assert not acc.implausible(options.implausible_above[which]), acc


@pytest.mark.parametrize("which", ["mlp", "cnn"])
def test_reference_checkpoint_is_small(which: str) -> None:
    assert (CHECKPOINTS / f"{which}.pt").stat().st_size < 2 * 2**20


def test_briefly_trained_model_gets_partial_credit(solution, train_split, test_split) -> None:
    x, y = train_split
    images, labels = test_split
    torch.manual_seed(0)
    weak = solution.train(solution.build_mlp(), torch.from_numpy(x[:2000]),
                          torch.from_numpy(y[:2000]), epochs=1, device="cpu", seed=0)
    acc = accuracy(tasks.logits_of(solution, weak, images[:2000], "cpu"), labels[:2000])
    options = resolve_options({})
    share = credit(acc, options.thresholds["mlp"], options.floor)
    assert 0.0 < share < 1.0, (acc, share)


def save_state(tmp_path: Path, state: object, name: str = "mlp.pt") -> str:
    path = tmp_path / name
    torch.save(state, path)
    return str(path)


def load_error(solution: ModuleType, path: str, max_bytes: int = MAX_BYTES) -> str:
    images = np.zeros((2, 28, 28), np.uint8)
    with pytest.raises(tasks.CheckpointError) as err:
        tasks.checkpoint_logits(solution, "mlp", path, images, max_bytes, "cpu")
    return str(err.value)


def test_missing_checkpoint_says_how_to_save_one(solution, tmp_path: Path) -> None:
    message = load_error(solution, str(tmp_path / "mlp.pt"))
    assert "mlp.pt is missing" in message and "torch.save(model.state_dict()" in message


def test_checkpoint_with_renamed_keys_lists_them(solution, tmp_path: Path) -> None:
    state = {f"net.{k}": v for k, v in solution.build_mlp().state_dict().items()}
    message = load_error(solution, save_state(tmp_path, state))
    assert "missing keys '1.weight'" in message and "unexpected keys 'net.1.weight'" in message


def test_checkpoint_of_another_architecture_lists_shape_mismatches(solution, tmp_path) -> None:
    other = nn.Sequential(nn.Flatten(), nn.Linear(784, 64), nn.ReLU(), nn.Dropout(),
                          nn.Linear(64, 200), nn.ReLU(), nn.Dropout(), nn.Linear(200, 10))
    message = load_error(solution, save_state(tmp_path, other.state_dict()))
    assert "shape mismatches '1.weight': file (64, 784) vs model (400, 784)" in message


def test_pickled_custom_object_is_refused(solution, tmp_path: Path) -> None:
    message = load_error(solution, save_state(tmp_path, NotAStateDict()))
    assert "pickled" in message and "NotAStateDict" in message


def test_whole_saved_module_is_refused(solution, tmp_path: Path) -> None:
    message = load_error(solution, save_state(tmp_path, solution.build_mlp()))
    assert "pickled torch.nn.modules" in message and "state_dict()" in message


def test_state_dict_wrapped_in_a_dict_is_refused(solution, tmp_path: Path) -> None:
    wrapped = {"model_state_dict": solution.build_mlp().state_dict(), "epoch": 3}
    message = load_error(solution, save_state(tmp_path, wrapped))
    assert "'model_state_dict', 'epoch'" in message and "not tensors" in message


def test_oversized_checkpoint_is_refused_before_loading(solution, tmp_path: Path) -> None:
    path = save_state(tmp_path, solution.build_mlp().state_dict())
    message = load_error(solution, path, max_bytes=1000)
    assert "larger than the 0.00 MB limit" in message


def test_garbage_file_is_refused(solution, tmp_path: Path) -> None:
    path = tmp_path / "mlp.pt"
    path.write_bytes(b"this is not a checkpoint")
    assert "not a file torch.save wrote" in load_error(solution, str(path))


def test_model_state_is_the_fresh_models_state_dict_by_value(solution) -> None:
    state = tasks.model_state(solution, "cnn")
    want = solution.build_cnn().state_dict()
    assert set(state) == set(want)
    assert all(isinstance(v, np.ndarray) and v.shape == tuple(want[k].shape)
               for k, v in state.items())
    assert any(v.ndim == 4 for v in state.values())


def test_model_logits_use_the_state_they_are_given(solution) -> None:
    x = np.random.default_rng(0).standard_normal((3, 1, 28, 28)).astype(np.float32)
    state = tasks.model_state(solution, "cnn")
    zeroed = {k: np.zeros_like(v) if v.ndim == 4 else v for k, v in state.items()}
    logits = tasks.model_logits(solution, "cnn", x, state)
    assert logits.shape == (3, 10)
    assert np.array_equal(logits, tasks.model_logits(solution, "cnn", x))
    assert not np.allclose(logits, tasks.model_logits(solution, "cnn", x, zeroed))


def test_wrongly_shaped_normalize_is_reported(solution) -> None:
    class Flat:
        build_mlp = staticmethod(solution.build_mlp)

        @staticmethod
        def normalize(images: torch.Tensor) -> torch.Tensor:
            return images.float().reshape(len(images), -1)  # forgot the channel axis

    with pytest.raises(tasks.ModelContractError, match=r"expected floats \(4, 1, 28, 28\)"):
        tasks.logits_of(Flat, solution.build_mlp(), np.zeros((4, 28, 28), np.uint8), "cpu")


def test_retrain_on_a_small_subset_learns(solution, train_split, test_split) -> None:
    x, y = train_split
    images, labels = test_split
    out = tasks.retrain_logits(solution, "mlp", x[:3000], y[:3000], images[:1000], 2, 0, "cpu",
                               120.0)
    assert out["train_seconds"] > 0
    assert accuracy(out["logits"], labels[:1000]) > 0.7


def test_retrain_over_the_time_budget_is_an_error(solution, train_split) -> None:
    x, y = train_split
    with pytest.raises(tasks.TrainingBudgetError, match="over the 0 s budget"):
        tasks.retrain_logits(solution, "mlp", x[:256], y[:256], x[:10], 1, 0, "cpu", 1e-9)
