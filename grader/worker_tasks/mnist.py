"""a6_mnist work done inside the sandboxed worker, next to the student's code.

Called by the hidden suite as ``student.worker_call("grader.worker_tasks.mnist:<fn>", ...)``;
the worker passes the student's module as the first argument. These functions receive images
(and, for retraining, training labels) but never test labels: they return logits and
state_dicts as numpy arrays, and the trusted side computes accuracies and decides what the
model is (autotests/a6_mnist). Nothing they return is trusted beyond being values to check.
Errors are raised with messages written for the student (the worker forwards the exception's
type and text).
"""

from __future__ import annotations

import io
import re
import time
from types import ModuleType
from typing import Any

import numpy as np
import torch
from torch import nn

BUILDERS = {"mlp": "build_mlp", "cnn": "build_cnn"}
EVAL_BATCH = 500
IMAGE_SHAPE = (28, 28)
NUM_CLASSES = 10


class CheckpointError(ValueError):
    """A submitted checkpoint cannot be used; the message says how to save a usable one."""


class ModelContractError(ValueError):
    """A student model or ``normalize`` does not honour the assignment's shapes and types."""


class TrainingBudgetError(RuntimeError):
    """The student's ``train`` ran past the grader's time budget."""


def _device(device: str) -> torch.device:
    if device.startswith("cuda") and not torch.cuda.is_available():
        # A grader configuration fault, not the student's: the worker sees no GPU.
        raise RuntimeError(f"the grader asked for device {device!r} but the worker sees no GPU")
    return torch.device(device)


def build(student_module: ModuleType, which: str) -> nn.Module:
    """``build_mlp()`` or ``build_cnn()`` of the student, checked to be a torch Module."""
    if which not in BUILDERS:
        raise ValueError(f"unknown model {which!r}; expected one of {sorted(BUILDERS)}")
    name = BUILDERS[which]
    model = getattr(student_module, name)()
    if not isinstance(model, nn.Module):
        raise ModelContractError(f"{name}() returned a {type(model).__name__}, "
                                 "not a torch.nn.Module")
    return model


def _images(images: Any) -> torch.Tensor:
    x = torch.as_tensor(np.asarray(images))
    if x.dtype != torch.uint8 or x.ndim != 3 or tuple(x.shape[1:]) != IMAGE_SHAPE:
        raise ValueError(f"expected uint8 images (N, 28, 28), got {x.dtype} {tuple(x.shape)}")
    return x


def _fmt_mb(n: int) -> str:
    return f"{n / 2**20:.2f} MB"


def _list(keys: list[str], limit: int = 8) -> str:
    more = f", ... ({len(keys) - limit} more)" if len(keys) > limit else ""
    return ", ".join(repr(k) for k in keys[:limit]) + more


def _mismatch(model: nn.Module, state: dict, builder: str, filename: str) -> str:
    """Which keys and shapes of ``state`` disagree with ``model.state_dict()``."""
    expected = model.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    shapes = [f"{k!r}: file {tuple(state[k].shape)} vs model {tuple(v.shape)}"
              for k, v in expected.items() if k in state and state[k].shape != v.shape]
    parts = []
    if missing:
        parts.append(f"missing keys {_list(missing)}")
    if unexpected:
        parts.append(f"unexpected keys {_list(unexpected)}")
    if shapes:
        parts.append("shape mismatches " + "; ".join(shapes[:6]))
    return (f"{filename} does not fit {builder}(): " + ("; ".join(parts) or "see torch's error")
            + f". Save model.state_dict() of the very architecture {builder}() builds.")


def load_checkpoint(student_module: ModuleType, which: str, path: str, max_bytes: int,
                    device: str) -> nn.Module:
    """Build the student's model and load the state_dict in ``path`` into it (strictly).

    The file is read with a size cap and unpickled with ``weights_only=True``, which refuses
    anything but tensors and plain containers (a saved model object or any custom class).
    """
    builder = BUILDERS.get(which, "build_?")
    filename = path.rsplit("/", 1)[-1]
    try:
        with open(path, "rb") as fh:  # regular files only: open() of a folder fails
            data = fh.read(max_bytes + 1)
    except FileNotFoundError:
        raise CheckpointError(
            f"{filename} is missing from the submission: save it next to your module with "
            f"torch.save(model.state_dict(), {filename!r})") from None
    except OSError as exc:
        raise CheckpointError(f"{filename} cannot be read: {exc}") from None
    if len(data) > max_bytes:
        raise CheckpointError(f"{filename} is larger than the {_fmt_mb(max_bytes)} limit: "
                              "use a smaller model (fewer or narrower layers)")
    target = _device(device)
    try:
        state = torch.load(io.BytesIO(data), map_location=target, weights_only=True)
    except Exception as exc:
        # torch's own text suggests weights_only=False, which is no option here: say what
        # the file holds instead.
        pickled = re.search(r"GLOBAL ([\w.]+)", str(exc))
        why = (f"it contains a pickled {pickled.group(1)} object" if pickled
               else "it is not a file torch.save wrote, or it is damaged")
        raise CheckpointError(
            f"{filename} cannot be loaded as weights only: {why}. Save only the weights: "
            f"torch.save(model.state_dict(), {filename!r}), not the model object") from None
    if not isinstance(state, dict):
        raise CheckpointError(f"{filename} holds a {type(state).__name__}, not a state_dict: "
                              f"save model.state_dict()")
    not_tensors = [str(k) for k, v in state.items()
                   if not isinstance(k, str) or not isinstance(v, torch.Tensor)]
    if not_tensors:
        raise CheckpointError(
            f"{filename} holds a dict whose entries {_list(not_tensors)} are not tensors: "
            "it must be model.state_dict() itself, not a dict wrapping it")
    model = build(student_module, which)
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError:
        raise CheckpointError(_mismatch(model, state, builder, filename)) from None
    return model.to(target).eval()


def _normalized(student_module: ModuleType, images: torch.Tensor) -> torch.Tensor:
    # A copy, so a normalize that works in place cannot corrupt the next use of the batch.
    x = student_module.normalize(images.clone())
    n = images.shape[0]
    if not isinstance(x, torch.Tensor):
        raise ModelContractError(f"normalize returned a {type(x).__name__}, not a torch.Tensor")
    if tuple(x.shape) != (n, 1, *IMAGE_SHAPE) or not x.is_floating_point():
        raise ModelContractError(f"normalize turned uint8 images ({n}, 28, 28) into {x.dtype} "
                                 f"{tuple(x.shape)}; expected floats ({n}, 1, 28, 28)")
    return x


def logits_of(student_module: ModuleType, model: nn.Module, images: Any, device: str,
              batch: int = EVAL_BATCH) -> np.ndarray:
    """``model(normalize(images))`` in eval mode, batch by batch: float32 (N, 10) numpy."""
    x_all = _images(images)
    target = _device(device)
    model.to(target).eval()
    outs = []
    with torch.no_grad():
        for start in range(0, x_all.shape[0], batch):
            x = _normalized(student_module, x_all[start:start + batch])
            out = model(x.to(target))
            if not isinstance(out, torch.Tensor) or tuple(out.shape) != (x.shape[0], NUM_CLASSES):
                got = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
                raise ModelContractError(f"the model maps a batch ({x.shape[0]}, 1, 28, 28) to "
                                         f"{got}; expected logits ({x.shape[0]}, 10)")
            outs.append(out.detach().float().cpu())
    return torch.cat(outs).numpy() if outs else np.zeros((0, NUM_CLASSES), np.float32)


def checkpoint_logits(student_module: ModuleType, which: str, path: str, images_uint8: Any,
                      max_bytes: int, device: str) -> np.ndarray:
    """Logits (N, 10) of the submitted checkpoint ``path`` loaded into build_<which>()."""
    model = load_checkpoint(student_module, which, path, max_bytes, device)
    return logits_of(student_module, model, images_uint8, device)


def _seeded_build(student_module: ModuleType, which: str) -> nn.Module:
    torch.manual_seed(0)  # the same fresh model for every request of a run
    return build(student_module, which)


def state_arrays(model: nn.Module) -> dict[str, np.ndarray]:
    """``model.state_dict()`` as numpy copies: sent by value, checked on the trusted side."""
    return {str(k): v.detach().cpu().numpy().copy() for k, v in model.state_dict().items()}


def _load_arrays(model: nn.Module, state: dict, which: str) -> None:
    tensors = {k: torch.as_tensor(np.asarray(v)) for k, v in state.items()}
    try:
        model.load_state_dict(tensors, strict=True)
    except RuntimeError:
        raise ModelContractError(_mismatch(model, tensors, BUILDERS[which],
                                           "the grader's copy of its state_dict")) from None


def model_state(student_module: ModuleType, which: str) -> dict[str, np.ndarray]:
    """The state_dict of a freshly built model, by value."""
    return state_arrays(_seeded_build(student_module, which))


def model_logits(student_module: ModuleType, which: str, inputs: Any,
                 state: dict | None = None) -> np.ndarray:
    """A freshly built model (with the trusted side's ``state`` loaded, if given) applied in
    eval mode to ``inputs`` (N, 1, 28, 28) float32 as given (no normalize): logits, by value."""
    model = _seeded_build(student_module, which)
    if state is not None:
        _load_arrays(model, state, which)
    model.eval()
    with torch.no_grad():
        out = model(torch.as_tensor(np.asarray(inputs, dtype=np.float32)))
    if not isinstance(out, torch.Tensor):
        raise ModelContractError(f"build_{which}()(x) returned a {type(out).__name__}, "
                                 "expected a logits tensor")
    return out.detach().float().cpu().numpy()


def weights_logits(student_module: ModuleType, which: str, state: dict, images_uint8: Any,
                   device: str) -> np.ndarray:
    """Logits (N, 10) of build_<which>() holding ``state`` (weights an earlier worker trained
    and sent back), on ``images_uint8`` through the student's normalize."""
    model = build(student_module, which)
    _load_arrays(model, state, which)
    return logits_of(student_module, model, images_uint8, device)


def retrain_logits(student_module: ModuleType, which: str, train_images: Any, train_labels: Any,
                   test_images: Any, epochs: int, seed: int, device: str,
                   time_budget_s: float) -> dict:
    """Build a fresh model (seeded), run the student's ``train`` on the given training data,
    then return ``{"logits": (N_test, 10) float32, "train_seconds": float, "state": the trained
    state_dict as numpy arrays}`` (the state lets a fresh worker score other images).

    The budget is checked when ``train`` returns (an early message only: student code can stop
    this clock; the verdict is the trusted side's clock around the call, autotests/a6_mnist);
    the worker's call timeout is the hard stop.
    """
    torch.manual_seed(seed)
    model = build(student_module, which)
    x = _images(train_images)
    y = torch.as_tensor(np.asarray(train_labels)).to(torch.int64)
    start = time.perf_counter()
    trained = student_module.train(model, x, y, epochs=epochs, device=device, seed=seed)
    elapsed = time.perf_counter() - start
    if trained is None:  # trained in place and forgot to return it: the model is still usable
        trained = model
    if not isinstance(trained, nn.Module):
        raise ModelContractError(f"train returned a {type(trained).__name__}; "
                                 "it must return the trained model")
    if elapsed > time_budget_s:
        raise TrainingBudgetError(
            f"train({which}, {x.shape[0]} images, epochs={epochs}) took {elapsed:.0f} s, over "
            f"the {time_budget_s:.0f} s budget: make an epoch cheaper (larger batches, a "
            "smaller model, no per-batch Python work)")
    return {"logits": logits_of(student_module, trained, test_images, device),
            "train_seconds": elapsed, "state": state_arrays(trained)}
