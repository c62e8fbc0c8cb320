"""How a run grades: its options, and the choices made once per run (seed, sandbox, device,
suite hash, the sandbox uid of each parallel slot)."""

from __future__ import annotations

import hashlib
import os
import platform
import random
import sys
from dataclasses import dataclass
from pathlib import Path

import grader
from grader.course.config import AssignmentConfig
from grader.sandbox.bwrap import bwrap_path
from grader.sandbox.cgroups import BatchCgroups

EXIT_GRADER_FAULT = 3
MAX_WORKERS = 64


class GraderFault(RuntimeError):
    """Grading could not be done at all (configuration, missing sandbox, broken suite)."""


@dataclass(frozen=True)
class GradeOptions:
    out: Path
    seed: int
    sandbox: str          # "bwrap" or "none"
    insecure: bool
    device: str           # resolved: "cpu" or "cuda"
    workers: int = 1
    regrade: bool = False
    only: frozenset[str] = frozenset()
    timeout_s: float | None = None
    progress: bool = True
    warm: bool = True     # fork workers from a warm zygote per slot (bwrap only)
    cgroups: BatchCgroups | None = None  # set by the batch (grader.sandbox.cgroups)


def sandbox_uid(batch_pid: int, slot: int) -> int:
    """The unprivileged uid of a sandbox slot: distinct per batch process and slot, so the
    per-uid process limit of one worker is never shared with another grader's."""
    return 100_000 + (batch_pid % 50_000) * MAX_WORKERS + slot


def choose_seed(setting: str | int, override: int | None) -> int:
    if override is not None:
        return override
    return setting if isinstance(setting, int) else random.SystemRandom().randrange(2**31)


def choose_sandbox(setting: str, insecure: bool) -> str:
    """'bwrap' when it can be used; 'none' only with --insecure, else GraderFault."""
    if setting == "bwrap" and bwrap_path() is not None:
        return "bwrap"
    if insecure:
        return "none"
    why = "bubblewrap (bwrap) is not installed (apt-get install bubblewrap)" \
        if setting == "bwrap" else "grader.yaml sets sandbox: none"
    raise GraderFault(f"refusing to run untrusted code without a sandbox: {why}. "
                      "Pass --insecure to grade anyway; every result will be marked INSECURE.")


def resolve_device(setting: str, uses_torch: bool = True) -> str:
    """cpu or cuda; numpy-only assignments always run on the CPU."""
    if setting == "cpu" or (setting == "auto" and not uses_torch):
        return "cpu"
    os.environ.setdefault("PYTORCH_NVML_BASED_CUDA_CHECK", "1")  # no CUDA init before fork
    import torch

    available = torch.cuda.is_available()
    if setting == "cuda" and not available:
        raise GraderFault("grader.yaml asks for device: cuda but no CUDA device is available")
    return "cuda" if available else "cpu"


def suite_sha256(cfg: AssignmentConfig) -> str:
    """Identifies the hidden suite version: its files, the grader version and the points."""
    h = hashlib.sha256(f"{grader.__version__}:{cfg.points}:{cfg.module}".encode())
    for path in sorted(cfg.hidden_tests.rglob("*.py")):
        h.update(path.relative_to(cfg.hidden_tests).as_posix().encode() + b"\0")
        h.update(path.read_bytes())
    return h.hexdigest()


def versions() -> dict[str, str]:
    import numpy
    import pytest

    found = {"python": platform.python_version(), "numpy": numpy.__version__,
             "pytest": pytest.__version__, "grader": grader.__version__}
    torch = sys.modules.get("torch")
    if torch is not None:
        found["torch"] = torch.__version__
    return found
