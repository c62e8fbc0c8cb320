"""Fixtures of the a6_mnist hidden suite: options, data and the graded accuracies.

Everything here runs in the trusted process. Test images go to the worker, test labels stay
here; the worker returns logits and the accuracy is computed on this side. The graded images are
a perturbed copy of the test images drawn from the run seed, shuffled
(grader.mnist.scoring.scoring_images); the clean images are scored for comparison only, in a
worker of their own (the one before is ended), so that no student process ever holds an image
and its perturbed copy at once (it could pair them and answer from a table). A data set that is
not provisioned, or an unusable private test set, is the grader's fault, not the student's, so
it stops the suite (pytest.exit) instead of failing tests.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from grader.grading.proxy import StudentError
from grader.mnist.data import DatasetMissingError, load_split
from grader.mnist.scoring import (
    MODELS,
    MnistOptions,
    ModelAccuracy,
    PrivateTestSetError,
    ScoringImages,
    load_private_test_set,
    private_test_set_path,
    resolve_options,
    scoring_images,
)

TASKS = "grader.worker_tasks.mnist"


def _grader_fault(message: str) -> None:
    pytest.exit(f"a6_mnist cannot be graded: {message}", returncode=pytest.ExitCode.INTERNAL_ERROR)


@pytest.fixture(scope="session")
def a6(assignment_config: dict) -> MnistOptions:
    """The resolved ``options:`` of the assignment (defaults filled in)."""
    try:
        return resolve_options(assignment_config.get("options"))
    except ValueError as exc:
        _grader_fault(f"grader.yaml: assignments.a6_mnist.{exc}")
        raise  # unreachable: pytest.exit raises


def _split(a6: MnistOptions, assignment_config: dict, train: bool) -> tuple[np.ndarray, ...]:
    try:
        images, labels = load_split(a6.dataset, assignment_config["data_root"], train=train)
    except DatasetMissingError as exc:
        mode = f" (options.mode is {a6.mode!r})" if train else ""
        _grader_fault(f"{exc}{mode}")
        raise
    return images.numpy(), labels.numpy()


@pytest.fixture(scope="session")
def test_split(a6: MnistOptions, assignment_config: dict) -> tuple[np.ndarray, np.ndarray]:
    """Test images (N, 28, 28) uint8 and labels (N,) int64: the instructor's private test set
    when one is configured, else the configured data set's public test split."""
    private = private_test_set_path(a6, assignment_config["data_root"])
    if private is None:
        return _split(a6, assignment_config, train=False)
    try:
        return load_private_test_set(private)
    except PrivateTestSetError as exc:
        _grader_fault(f"grader.yaml: assignments.a6_mnist.{exc}")
        raise


@pytest.fixture(scope="session")
def scored_images(test_split, a6: MnistOptions, run_seed: int) -> ScoringImages:
    """Clean and perturbed test images in this run's random order (replay: the run seed)."""
    images, labels = test_split
    return scoring_images(images, labels, run_seed, a6)


@pytest.fixture(scope="session")
def graded_accuracy(student, a6: MnistOptions, assignment_config: dict,
                    scored_images: ScoringImages, run_seed: int,
                    device: str) -> Callable[[str], ModelAccuracy]:
    """``accuracy_of("mlp" | "cnn")``: clean and perturbed test accuracy of the student's
    model, computed once for both models at the first request.

    Checkpoint mode loads ``<model>.pt`` from the submission; retrain mode runs the student's
    ``train`` on the first ``train_subset`` training images in a worker that sees no test
    image, and scores the trained weights it sends back, loaded into a fresh build_<model>() in
    a fresh worker: what is scored is the state_dict whose parameters were counted, never a
    model the training worker kept (layers hidden from state_dict(), test images seen during
    training). Both models score the perturbed images first; then the worker is replaced and
    the new one scores the clean images (no worker ever holds both). A failure (missing
    checkpoint, wrong keys, over budget...) is kept and raised again for every test of that
    model.
    """
    perturbed, clean = scored_images.perturbed, scored_images.clean
    results: dict[str, ModelAccuracy | Exception] = {}
    train: list[tuple[np.ndarray, np.ndarray]] = []  # loaded once, on first need

    def graded_run(which: str, states: dict[str, Any]) -> float | None:
        if a6.mode == "checkpoint":
            logits = student.worker_call(f"{TASKS}:checkpoint_logits", which, f"{which}.pt",
                                         perturbed.images, a6.checkpoint_max_bytes, device)
            return perturbed.accuracy(logits)
        if not train:
            x_train, y_train = _split(a6, assignment_config, train=True)
            cut = a6.train_subset or None
            train.append((x_train[:cut], y_train[:cut]))
        x_train, y_train = train[0]
        # The budget is this side's clock around the whole call (building, training, scoring
        # the images): the worker's own measure of train() runs next to the student's code,
        # which can stop its clock (time.perf_counter patched) and train on past the budget.
        start = time.monotonic()
        out = student.worker_call(f"{TASKS}:retrain_logits", which, x_train, y_train,
                                  perturbed.images[:0], a6.epochs, run_seed, device,
                                  a6.time_budget_s)
        elapsed = time.monotonic() - start
        if elapsed > a6.time_budget_s:
            raise StudentError(
                f"train({which})", f"building and training build_{which}() took "
                f"{elapsed:.0f} s by the grader's clock, over the {a6.time_budget_s:.0f} s "
                "budget: make an epoch cheaper (larger batches, a smaller model, no per-batch "
                "Python work)")
        states[which] = out["state"]
        return None  # scored from the state, in a fresh worker

    def state_run(which: str, states: dict[str, Any]) -> float:
        logits = student.worker_call(f"{TASKS}:weights_logits", which, states[which],
                                     perturbed.images, device)
        return perturbed.accuracy(logits)

    def clean_run(which: str, states: dict[str, Any]) -> float:
        if a6.mode == "checkpoint":
            logits = student.worker_call(f"{TASKS}:checkpoint_logits", which, f"{which}.pt",
                                         clean.images, a6.checkpoint_max_bytes, device)
        else:
            logits = student.worker_call(f"{TASKS}:weights_logits", which, states[which],
                                         clean.images, device)
        return clean.accuracy(logits)

    def evaluate() -> None:
        graded: dict[str, float | Exception] = {}
        states: dict[str, Any] = {}
        for which in MODELS:
            try:
                graded[which] = graded_run(which, states)
            except Exception as exc:  # the student's failure: every tier test reports it
                graded[which] = exc
        if a6.mode == "retrain":  # the trained states are scored by a worker of their own
            student.fresh_worker()
            for which in MODELS:
                if not isinstance(graded[which], Exception):
                    try:
                        graded[which] = state_run(which, states)
                    except Exception as exc:
                        graded[which] = exc
        student.fresh_worker()  # the clean images go to a worker of their own
        for which in MODELS:
            if isinstance(graded[which], Exception):
                results[which] = graded[which]
                continue
            try:
                results[which] = ModelAccuracy(clean=clean_run(which, states),
                                               perturbed=graded[which])
            except Exception as exc:
                results[which] = exc

    def accuracy_of(which: str) -> ModelAccuracy:
        if not results:
            evaluate()
        result = results[which]
        if isinstance(result, Exception):
            raise result
        return result

    return accuracy_of
