"""One grading slot on a Ray node (an actor, created by grader.grading.backends.ray_cluster).

A slot is the local pool with one slot, on its node: it unpacks the course bundle once, checks
the node's sandbox (bubblewrap, cgroups; a CUDA device when the batch grades on GPUs), imports
what the suite imports and keeps a warm zygote. Each submission arrives packed, is unpacked
into the slot's folder and graded by a forked child through grader.grading.submission, as in
the local pool, under the same hard time limit; the result goes back to the driver, which
writes it. A node without the sandbox grades nothing: every submission sent to it gets a
grader-fault result saying why, never an unsandboxed run.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from dataclasses import dataclass, replace
from pathlib import Path

from grader.course.config import AssignmentConfig
from grader.grading.backends import Graded
from grader.grading.backends.packing import unpacked_course, unpacked_entry
from grader.grading.batch import Zygotes, _schedule, _stop, limit_slot, warm_up
from grader.grading.options import GradeOptions
from grader.grading.submission import crashed_result
from grader.intake.identity import BatchEntry
from grader.results.record import Result
from grader.results.store import AssignmentResults
from grader.sandbox.bwrap import bwrap_path
from grader.sandbox.cgroups import BatchCgroups

SLOT_PREFIX = "grader-slot-"  # then the slot's pid: a folder of a dead slot is removed


@dataclass(frozen=True)
class SlotResult:
    """What a slot sends back for one submission: its result and the code that was graded
    (for ``graded_module.py``), and where it ran."""

    result: Result
    graded_module: str | None
    node: str
    gpus: tuple[str, ...]


def _remove_stale_slots() -> None:
    """The folders of slots whose process died without cleaning up (its node was lost)."""
    for old in Path(tempfile.gettempdir()).glob(f"{SLOT_PREFIX}*-*"):
        pid = old.name[len(SLOT_PREFIX):].split("-")[0]
        if pid.isdigit() and not Path(f"/proc/{pid}").exists():
            shutil.rmtree(old, ignore_errors=True)


def node_identity() -> tuple[str, tuple[str, ...]]:
    """This node's name in summaries (the address it registered with the cluster, and its Ray
    node id) and the GPUs Ray gave us. The registered address, not a guess from the host's
    interfaces: a node started with --node-ip-address=127.0.0.1 is named by that."""
    import ray  # this runs in a Ray worker

    node_id = ray.get_runtime_context().get_node_id()
    address = next((n.get("NodeManagerAddress", "?") for n in ray.nodes()
                    if n.get("NodeID") == node_id), "?")
    node = f"{address}/{node_id[:8]}"
    return node, tuple(str(gpu) for gpu in ray.get_gpu_ids())


class GradingSlot:
    """A warm sandboxed grading slot on one node (see the module's docstring)."""

    def __init__(self, cfg: AssignmentConfig, opts: GradeOptions, suite: str,
                 course: bytes) -> None:
        self.node, self.gpus = node_identity()
        self.suite = suite
        _remove_stale_slots()
        self.root = Path(tempfile.mkdtemp(prefix=f"{SLOT_PREFIX}{os.getpid()}-"))
        os.chmod(self.root, 0o755)  # the sandbox's uid reads the inbox below it
        self.cfg, self.opts = cfg, opts
        self.running: dict[int, tuple[BatchEntry, int, float]] = {}
        self.zygotes: Zygotes | None = None
        self.fault = self._sandbox_fault()
        if self.fault is not None:
            return
        try:
            self.cfg = unpacked_course(cfg, course, self.root / "course")
        except (OSError, ValueError) as exc:
            self.fault = f"node {self.node} could not unpack the assignment ({exc})"
            return
        self.opts = replace(self.opts, out=self.root / "out", workers=1, progress=False)
        warm_up(self.cfg)
        limit_slot(self.cfg, self.opts, 0, baseline=None)
        if self.opts.sandbox == "bwrap" and self.opts.warm:
            self.zygotes = Zygotes(self.cfg, self.opts, self.root)
            self.zygotes.get(0)  # warm before the first submission arrives

    def _sandbox_fault(self) -> str | None:
        """Why this node cannot grade as the driver asked (None: it can); sets up cgroups."""
        where = f"node {self.node}"
        if self.opts.device == "cuda":
            os.environ.setdefault("PYTORCH_NVML_BASED_CUDA_CHECK", "1")
            import torch

            if not torch.cuda.is_available():
                return f"{where} has no usable CUDA device but the batch grades on cuda"
        if self.opts.sandbox != "bwrap":
            return None
        if bwrap_path() is None:
            return (f"{where} has no bubblewrap (bwrap): install it there (apt-get install "
                    "bubblewrap); the submission was not run unsandboxed")
        cgroups = BatchCgroups.create()
        if cgroups is None and not self.opts.insecure:
            return (f"{where} has no usable cgroups (v2 with memory, pids and cpu, or those "
                    "v1 hierarchies): memory outside the worker's address space would be "
                    "unbounded; the submission was not graded")
        self.opts = replace(self.opts, cgroups=cgroups)
        return None

    def ready(self) -> str:
        """The node's name once the slot is set up (the driver waits for this)."""
        return self.node

    def grade(self, entry: BatchEntry, packed: bytes) -> SlotResult:
        """Grade one submission (``packed`` by ``packing.pack_submission``)."""
        if self.fault is not None:
            result = crashed_result(self.cfg, entry, self.opts, self.suite, self.fault)
            return SlotResult(result, None, self.node, self.gpus)
        folder = self.root / "submissions" / uuid.uuid4().hex
        try:
            local = unpacked_entry(entry, packed, folder)
        except (OSError, ValueError) as exc:
            result = crashed_result(self.cfg, entry, self.opts, self.suite,
                                    f"node {self.node} could not unpack the submission ({exc})")
            return SlotResult(result, None, self.node, self.gpus)
        graded: list[Graded] = []
        try:
            _schedule(self.cfg, [local], self.opts, self.suite, graded.append, self.zygotes,
                      self.running)
            files = AssignmentResults.of(self.opts.out, self.cfg.name).student(entry.student_id)
            code = files.graded_module.read_text() if files.graded_module.is_file() else None
            shutil.rmtree(files.folder, ignore_errors=True)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        return SlotResult(graded[0].result, code, self.node, self.gpus)

    def close(self) -> None:
        """Kill a grading child still running (Ctrl-C on the driver), the zygote, the
        slot's cgroups and files."""
        _stop(self.running)
        self.running.clear()
        if self.zygotes is not None:
            self.zygotes.close()
        if self.opts.cgroups is not None:
            self.opts.cgroups.close()
        shutil.rmtree(self.root, ignore_errors=True)
