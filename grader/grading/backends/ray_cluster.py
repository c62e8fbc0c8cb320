"""The Ray backend: each submission is a task on a grading slot (a Ray actor holding a warm
sandbox, grader.grading.backends.ray_slot) somewhere on a Ray cluster.

The driver (this process) packs the course bundle once and each submission as it is sent,
through Ray's object store; slots reserve the assignment's ``resources`` of grader.yaml (CPUs,
memory, GPUs when the batch grades on cuda), so as many slots start as the cluster fits, at
most one per submission. Results come back to the driver, which writes each through the
results store exactly once. A slot that dies with its node has its submission sent to another
slot (and a replacement slot started); after ``MAX_ATTEMPTS`` deaths the submission gets a
grader-fault result. Ctrl-C stops every slot's grading child and sandbox, then the slots.
"""

from __future__ import annotations

import time
from collections import Counter, deque
from dataclasses import replace
from typing import Any

from grader.course.config import AssignmentConfig
from grader.grading.backends import Done, Graded
from grader.grading.backends.packing import pack_course, pack_submission
from grader.grading.backends.ray_slot import GradingSlot, SlotResult
from grader.grading.batch import STARTUP_MB, STARTUP_MB_TORCH
from grader.grading.options import GradeOptions, GraderFault
from grader.grading.submission import crashed_result
from grader.intake.identity import BatchEntry
from grader.results.store import AssignmentResults, write_result, write_text_atomic
from grader.sandbox.bwrap import PACKAGE_DIR

RAY_HINT = "the ray backend needs Ray, an optional extra: pip install -e '.[ray]'"
MAX_ATTEMPTS = 3          # slot deaths (a node lost) one submission may suffer
TRUSTED_MB = 1024         # the slot's own process: pytest, the suite, torch and the data set
SLOT_START_TIMEOUT_S = 600.0  # no slot alive for this long: the cluster cannot run this batch
CLOSE_TIMEOUT_S = 30.0
POLL_S = 0.2


def import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise GraderFault(RAY_HINT) from None
    return ray


class RayBackend:
    """Grades on the Ray cluster at ``address`` (None: RAY_ADDRESS, else a local Ray)."""

    name = "ray"

    def __init__(self, address: str | None) -> None:
        self.ray = import_ray()
        self.address = address

    def grade(self, cfg: AssignmentConfig, entries: list[BatchEntry], opts: GradeOptions,
              suite: str, done: Done) -> None:
        if not entries:
            return
        ray = self.ray
        if not ray.is_initialized():
            # The driver's grader package goes to every node: they grade with this code.
            ray.init(address=self.address, runtime_env={"py_modules": [str(PACKAGE_DIR)]},
                     log_to_driver=False, logging_level="ERROR")
        gpus = slot_gpus(cfg, ray.cluster_resources())
        opts = replace(opts, device="cuda" if gpus else "cpu", cgroups=None)
        need = slot_resources(cfg, gpus)
        fits = slots_that_fit(need, ray.cluster_resources())
        if fits == 0:
            raise GraderFault(f"the Ray cluster has no room for one grading slot of {cfg.name} "
                              f"({describe(need)}): lower assignments.{cfg.name}.resources "
                              "in grader.yaml or add nodes")
        slot_class = ray.remote(GradingSlot).options(
            num_cpus=need["CPU"], num_gpus=need.get("GPU", 0), memory=need["memory"],
            max_restarts=0, max_concurrency=2)  # close() runs beside a grade()
        try:
            course = ray.put(pack_course(cfg))
        except ValueError as exc:
            raise GraderFault(str(exc)) from None
        _Driver(ray, cfg, opts, suite, done, lambda: slot_class.remote(cfg, opts, suite, course),
                min(fits, len(entries))).run(entries)


class _Driver:
    """The scheduling loop of one batch on the cluster."""

    def __init__(self, ray: Any, cfg: AssignmentConfig, opts: GradeOptions, suite: str,
                 done: Done, new_slot: Any, slots: int) -> None:
        self.ray, self.cfg, self.opts, self.suite, self.done = ray, cfg, opts, suite, done
        self.new_slot = new_slot
        self.starting: dict[Any, Any] = {}   # ready() ref -> slot
        self.idle: list[Any] = []
        self.busy: dict[Any, tuple[Any, BatchEntry]] = {}  # grade() ref -> slot, entry
        self.deaths: Counter[str] = Counter()
        self.written: set[str] = set()
        self.starts_left = slots * (MAX_ATTEMPTS + 1)  # never restart slots forever
        for _ in range(slots):
            self._start()

    def _start(self) -> None:
        if self.starts_left > 0:
            self.starts_left -= 1
            slot = self.new_slot()
            self.starting[slot.ready.remote()] = slot

    def run(self, entries: list[BatchEntry]) -> None:
        queue = deque(entries)
        alive_at = time.monotonic()
        try:
            while queue or self.busy:
                while queue and self.idle:
                    slot, entry = self.idle.pop(), queue.popleft()
                    packed = self.ray.put(pack_submission(entry))
                    self.busy[slot.grade.remote(entry, packed)] = (slot, entry)
                if self.idle or self.busy:
                    alive_at = time.monotonic()
                elif not self.starting or time.monotonic() - alive_at > SLOT_START_TIMEOUT_S:
                    raise GraderFault(f"no grading slot of {self.cfg.name} could start on the "
                                      f"Ray cluster; {len(queue)} submissions not graded "
                                      "(see the nodes' Ray logs)")
                ready, _ = self.ray.wait([*self.starting, *self.busy], num_returns=1,
                                         timeout=POLL_S)
                for ref in ready:
                    if ref in self.starting:
                        self._started(ref)
                    else:
                        self._finished(ref, queue)
        finally:
            self._close_all()

    def _started(self, ref: Any) -> None:
        slot = self.starting.pop(ref)
        try:
            self.ray.get(ref)
        except self.ray.exceptions.RayError:
            self._start()  # its node died or refused it: another slot, elsewhere if need be
            return
        self.idle.append(slot)

    def _finished(self, ref: Any, queue: deque[BatchEntry]) -> None:
        slot, entry = self.busy.pop(ref)
        try:
            out: SlotResult = self.ray.get(ref)
        except self.ray.exceptions.RayTaskError as exc:  # the slot's own code failed
            self.ray.kill(slot)
            self._start()
            self._write(Graded(entry, crashed_result(
                self.cfg, entry, self.opts, self.suite,
                f"the grading slot failed ({type(exc.cause).__name__}: {exc.cause})")))
            return
        except self.ray.exceptions.RayError as exc:  # the slot or its node is gone
            self.ray.kill(slot)  # if merely unreachable, it must not come back half-way
            self._start()
            self.deaths[entry.student_id] += 1
            if self.deaths[entry.student_id] < MAX_ATTEMPTS:
                queue.appendleft(entry)
            else:
                self._write(Graded(entry, crashed_result(
                    self.cfg, entry, self.opts, self.suite,
                    f"its grading node died {MAX_ATTEMPTS} times ({type(exc).__name__})")))
            return
        self.idle.append(slot)
        if entry.student_id in self.written:
            return
        files = AssignmentResults.of(self.opts.out, self.cfg.name).student(entry.student_id)
        if out.graded_module is None:
            files.graded_module.unlink(missing_ok=True)
        else:
            write_text_atomic(files.graded_module, out.graded_module)
        self._write(Graded(entry, out.result, out.node, out.gpus))

    def _write(self, graded: Graded) -> None:
        """The one place results are written: once per submission, however often it ran."""
        sid = graded.entry.student_id
        if sid in self.written:
            return
        self.written.add(sid)
        write_result(AssignmentResults.of(self.opts.out, self.cfg.name).student(sid),
                     graded.result)
        self.done(graded)

    def _close_all(self) -> None:
        """Every slot stops its grading child and sandbox and cleans up; then it is killed
        (a slot that does not answer in time is killed all the same)."""
        slots = [*self.idle, *(slot for slot, _ in self.busy.values())]
        closing = [slot.close.remote() for slot in slots]
        self.ray.wait(closing, num_returns=len(closing), timeout=CLOSE_TIMEOUT_S)
        for slot in [*slots, *self.starting.values()]:
            self.ray.kill(slot)
        self.idle, self.busy, self.starting = [], {}, {}


def slot_gpus(cfg: AssignmentConfig, cluster: dict[str, float]) -> float:
    """GPUs per slot: the assignment's ``resources.gpus`` (1 when unset) when its suite uses
    torch and ``device`` is cuda, or auto on a cluster with GPUs; else 0 (graded on CPUs)."""
    if not cfg.torch_in_sandbox or cfg.device == "cpu":
        return 0.0
    if cluster.get("GPU", 0) <= 0:
        if cfg.device == "cuda":
            raise GraderFault(f"assignments.{cfg.name} asks for device: cuda but the Ray "
                              "cluster has no GPU")
        return 0.0
    return cfg.resources.gpus or 1.0


def slot_resources(cfg: AssignmentConfig, gpus: float) -> dict[str, float]:
    """What one slot reserves: CPUs, memory in bytes (the student's memory_mb, the sandbox's
    start-up and the trusted side, unless grader.yaml sets it) and GPUs."""
    memory_mb = cfg.resources.memory_mb or (
        cfg.limits.memory_mb + (STARTUP_MB_TORCH if cfg.torch_in_sandbox else STARTUP_MB)
        + TRUSTED_MB)
    need = {"CPU": cfg.resources.cpus, "memory": float(memory_mb << 20)}
    return need | ({"GPU": gpus} if gpus else {})


def slots_that_fit(need: dict[str, float], cluster: dict[str, float]) -> int:
    """How many slots the cluster's total resources hold."""
    return min(int(cluster.get(name, 0) // amount) for name, amount in need.items() if amount)


def describe(need: dict[str, float]) -> str:
    return ", ".join(f"{amount / 2**20:.0f} MiB memory" if name == "memory" else
                     f"{amount:g} {name}" for name, amount in need.items())
