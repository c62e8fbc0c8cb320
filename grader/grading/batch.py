"""Grading a batch: plan, lock, skip what is up to date, a fork pool over warm sandboxes,
progress and the closing summary.

The parent process imports pytest, numpy and torch once and then forks one child per
submission (up to ``workers`` at a time), so a submission pays no interpreter or torch start.
A child grades one submission (grader.grading.submission) and writes its results.json
atomically before it exits; the parent only schedules, enforces a hard time limit per child
and reports progress. A results folder is locked while a batch writes to it; a rerun skips
submissions whose results are up to date (grader.results.store.up_to_date). Ctrl-C kills every
child and sandbox, prints the summary so far and raises ``BatchInterrupted``.
"""

from __future__ import annotations

import ast
import fcntl
import gc
import importlib
import os
import shutil
import signal
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TextIO

import grader
from grader.course.config import AssignmentConfig
from grader.grading.backends import LOCAL_NODE, Backend, Done, Graded
from grader.grading.options import (
    EXIT_GRADER_FAULT,
    MAX_WORKERS,
    GradeOptions,
    GraderFault,
    suite_sha256,
)
from grader.grading.plugin import SuiteError
from grader.grading.submission import crashed_result, grade_submission, slot_spec
from grader.intake.identity import BatchEntry, BatchPlan
from grader.intake.planning import PlanningError, plan_and_hash
from grader.results.record import Result
from grader.results.store import (
    AssignmentResults,
    StudentFiles,
    read_result,
    up_to_date,
    write_json_atomic,
    write_result,
)
from grader.sandbox.cgroups import BatchCgroups
from grader.sandbox.zygote import Zygote, ZygoteError

# Slot cgroup headroom beyond the student's memory_mb (see docs/SECURITY.md for measurements).
STARTUP_MB, STARTUP_MB_TORCH, SLACK_MB = 256, 1024, 32
ZYGOTE_TASKS = 64  # the zygote's own threads and helpers, beyond the student's max_processes
EXIT_FAULT_RECORDED = 4  # a child's exit status: it wrote a crashed result saying why


class ResultsLock:
    """An exclusive lock on ``<out>/<assignment>``: two graders never write one folder."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.fh = open(AssignmentResults(folder).lock, "w")
        try:
            fcntl.flock(self.fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self.fh.close()
            raise GraderFault(f"another grader is already writing to {folder}; wait for it "
                              "or use another --out folder") from None
        self.fh.write(str(os.getpid()))
        self.fh.flush()

    def release(self) -> None:
        self.fh.close()


@dataclass
class BatchSummary:
    graded: int = 0
    skipped: int = 0
    faults: int = 0
    failed_students: int = 0
    total_score: float = 0.0
    seconds: float = 0.0
    superseded: int = 0   # older attempts of a student whose latest attempt was graded
    refused: int = 0      # entries that are not submissions (each with a reason)
    receipts: int = 0     # LMS files next to submissions (Blackboard receipts, metadata)
    interrupted: int | None = None  # after Ctrl-C: the submissions left ungraded
    warnings: list[str] = field(default_factory=list)
    nodes: dict[str, int] = field(default_factory=dict)  # submissions graded per node
    on_gpu: int = 0       # submissions graded by a slot holding a GPU

    def add(self, graded: Graded) -> None:
        """Count a graded submission."""
        result = graded.result
        self.faults += result.grader_fault
        self.graded += 1
        self.total_score += result.score
        if result.score < result.max_score:
            self.failed_students += 1
        self.nodes[graded.node] = self.nodes.get(graded.node, 0) + 1
        self.on_gpu += bool(graded.gpus)

    def count(self, status: str) -> None:
        """Count an entry that is not graded: superseded, refused or receipt."""
        kind = "receipts" if status == "receipt" else status
        setattr(self, kind, getattr(self, kind) + 1)

    def line(self, elapsed: float) -> str:
        """The closing summary: every entry of the batch is counted in one of the kinds."""
        mean = self.total_score / self.graded if self.graded else 0.0
        stopped = "" if self.interrupted is None else \
            f", INTERRUPTED with {self.interrupted} not graded (run the same command again " \
            "to grade them; finished submissions are skipped)"
        cluster = ""
        if set(self.nodes) - {LOCAL_NODE}:
            cluster = "; per node: " + ", ".join(f"{node} {n}" for node, n in
                                                sorted(self.nodes.items()))
            cluster += f"; on GPU {self.on_gpu}"
        return (f"graded {self.graded}, skipped {self.skipped} (up to date), superseded "
                f"{self.superseded}, refused {self.refused}, receipts {self.receipts}, "
                f"grader faults {self.faults}, mean score {mean:.2f}, {elapsed:.1f} s{stopped}"
                f"{cluster}")


class BatchInterrupted(KeyboardInterrupt):
    """Ctrl-C (SIGINT) stopped the batch; children and sandboxes are gone, the summary of what
    finished is printed. A KeyboardInterrupt, so a CLI that maps those to exit 130 does."""

    def __init__(self, summary: BatchSummary) -> None:
        super().__init__(f"interrupted: {summary.interrupted} submissions not graded")
        self.summary = summary


NOT_GRADED = "not graded"  # an entry to grade that has no result of its own (yet)
UNFINISHED = ("grading did not finish (the batch was stopped, or is still running); run the "
              "same grade command again to grade it")
INTERRUPTED = ("the batch was interrupted (Ctrl-C) before this submission was graded; run "
               "the same grade command again to grade it")
NOT_SELECTED = "not selected by --only, and not graded by an earlier batch"


def write_batch_entries(plan: BatchPlan, results: AssignmentResults,
                        not_graded: dict[str, str], interrupted: bool = False) -> None:
    """``batch_entries.json``: every entry and its fate, for the reports. An entry to grade
    whose student is in ``not_graded`` (student id -> why) is recorded as "not graded": the
    reports never take an entry without a result for a graded one."""
    records = []
    for entry in plan.entries:
        record = entry.as_record(plan.root)
        if entry.status == "graded" and entry.student_id in not_graded:
            record.update(status=NOT_GRADED, reason=not_graded[entry.student_id])
        records.append(record)
    write_json_atomic(results.batch_entries, {
        "batch": str(plan.root), "warnings": plan.warnings, "interrupted": interrupted,
        "entries": records})


def without_result(plan: BatchPlan, results: AssignmentResults, digests: dict[str, str],
                   why: dict[str, str], default: str) -> dict[str, str]:
    """The students of ``plan`` to grade that have no result for what they handed in
    (``digests``: student id -> sha256, where known), each with why (``why``, else
    ``default``)."""
    missing = {}
    for entry in plan.graded():
        sid = entry.student_id
        old = read_result(results.student(sid).results)
        if old is None or (digests.get(sid) and old.submission_sha256 != digests[sid]):
            missing[sid] = why.get(sid, default)
    return missing


def grade_batch(cfg: AssignmentConfig, target: Path, opts: GradeOptions,
                stream: TextIO = sys.stderr, backend: Backend | None = None) -> BatchSummary:
    """Grade every submission under ``target`` in parallel (on ``backend``, by default this
    machine's pool); resumable and locked. Raises GraderFault (nothing graded) and
    BatchInterrupted (Ctrl-C, with the summary so far)."""
    if not cfg.hidden_tests.is_dir():
        raise GraderFault(f"hidden suite {cfg.hidden_tests} does not exist")
    suite = suite_sha256(cfg)
    results = AssignmentResults.of(opts.out, cfg.name)
    lock = ResultsLock(results.folder)
    summary = BatchSummary()
    started = time.monotonic()
    try:
        try:  # listing and hashing read what students handed in: in a bounded child
            plan = plan_and_hash(target, cfg.module, cfg.student_id, cfg.roster, opts.only)
        except PlanningError as exc:
            raise GraderFault(f"{target}: {exc}") from None
        unknown = sorted(opts.only - {e.student_id for e in plan.entries})
        if unknown:
            raise GraderFault(f"--only names students not in {target}: {', '.join(unknown)}")
        summary.warnings = plan.warnings + [f"{e.path.name}: {w}" for e in plan.entries
                                            for w in e.warnings]
        todo = []
        skipped_by_only = {}
        for entry in plan.entries:
            if opts.only and entry.student_id not in opts.only:
                skipped_by_only[entry.student_id] = NOT_SELECTED
                continue
            if entry.status != "graded":
                summary.count(entry.status)
                continue
            old = None if opts.regrade else read_result(results.student(entry.student_id).results)
            if up_to_date(old, entry.sha256, suite, grader.__version__):
                summary.skipped += 1
                continue
            todo.append(entry)
        # Until the pool is done, every entry to grade is "not graded": a batch killed
        # outright (kill -9, power loss) leaves an account that still says so.
        digests = {e.student_id: e.sha256 for e in todo}
        write_batch_entries(plan, results, {**without_result(
            plan, results, digests, skipped_by_only, UNFINISHED), **dict.fromkeys(
            digests, UNFINISHED)})
        progress = Progress(len(todo), stream, opts.progress)
        progress.report_plan(plan, summary)

        def done(graded: Graded) -> None:
            summary.add(graded)
            progress.step(graded.entry.student_id, graded.result)

        try:
            (backend or LocalPool()).grade(cfg, todo, opts, suite, done)
        except KeyboardInterrupt:
            summary.interrupted = len(todo) - summary.graded
            write_batch_entries(plan, results, without_result(
                plan, results, digests, skipped_by_only, INTERRUPTED), interrupted=True)
            progress.finish(summary)
            raise BatchInterrupted(summary) from None
        write_batch_entries(plan, results, without_result(plan, results, digests,
                                                          skipped_by_only, UNFINISHED))
        progress.finish(summary)
    finally:
        lock.release()
        summary.seconds = time.monotonic() - started
    return summary


def warm_up(cfg: AssignmentConfig) -> None:
    """Import, once in the parent, what every child would import: the suite's imports (torch
    and friends), pytest's plugins and the modules torch loads lazily on first use."""
    names = {"numpy", "_pytest.python", "_pytest.fixtures"}
    for path in cfg.hidden_tests.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names.add(node.module)
    if "torch" in names:
        names |= {"torch.nn.functional", "sympy"}  # torch imports sympy on first use
    for name in sorted(names):
        try:
            importlib.import_module(name)
        except ImportError:
            pass  # the child will report it when the suite is collected
    # Objects inherited by the children are never collected: their gc passes stay short.
    gc.collect()
    gc.freeze()


class Zygotes:
    """The warm sandboxes of a batch, one per slot, restarted if one dies."""

    def __init__(self, cfg: AssignmentConfig, opts: GradeOptions, root: Path) -> None:
        self.cfg, self.opts, self.root = cfg, opts, root
        self.by_slot: dict[int, Zygote | None] = {}

    def get(self, slot: int) -> Zygote | None:
        zygote = self.by_slot.get(slot)
        if zygote is not None and zygote.proc.poll() is None:  # we are its parent
            try:  # a child killed at its hard limit may have left a worker and staging behind
                zygote.reap()
                _empty(zygote.inbox)
                return zygote
            except ZygoteError:
                pass
        if zygote is not None:
            zygote.close()
        inbox = self.root / f"slot{slot}"
        inbox.mkdir(mode=0o755, exist_ok=True)
        spec = slot_spec(self.cfg, self.opts, slot, inbox, os.getpid())
        try:
            limit_slot(self.cfg, self.opts, slot, baseline=None)
            self.by_slot[slot] = Zygote(spec, inbox, self.root / f"zygote{slot}.log")
            if self.opts.cgroups is not None:  # the student gets memory_mb beyond the zygote
                resident = self.opts.cgroups.slot(slot).resident_bytes()
                limit_slot(self.cfg, self.opts, slot, baseline=resident)
        except ZygoteError as exc:
            sys.stderr.write(f"warning: warm worker for slot {slot} failed ({exc}); "
                             "starting workers cold\n")
            self.by_slot[slot] = None
        return self.by_slot[slot]

    def close(self) -> None:
        for zygote in self.by_slot.values():
            if zygote is not None:
                zygote.close()


def limit_slot(cfg: AssignmentConfig, opts: GradeOptions, slot: int,
               baseline: int | None) -> None:
    """The slot cgroup's bounds: the student's memory_mb plus what the slot holds before any
    student code runs (``baseline``: a warm zygote's resident memory, measured; None: room
    for a cold worker's or a starting zygote's interpreter and imports)."""
    if opts.cgroups is None:
        return
    limits = cfg.limits
    if baseline is None:
        baseline = (STARTUP_MB_TORCH if cfg.torch_in_sandbox else STARTUP_MB) << 20
    memory = (limits.memory_mb << 20) + baseline + (SLACK_MB << 20) if limits.memory_mb > 0 \
        else 0
    opts.cgroups.slot(slot).set_limits(memory, limits.max_processes + ZYGOTE_TASKS)


def _empty(folder: Path) -> None:
    for entry in folder.iterdir():
        shutil.rmtree(entry, ignore_errors=True)


class LocalPool:
    """The default backend: a fork pool over warm sandboxes on this machine."""

    name = LOCAL_NODE

    def grade(self, cfg: AssignmentConfig, entries: list[BatchEntry], opts: GradeOptions,
              suite: str, done: Done) -> None:
        _fork_pool(cfg, entries, opts, suite, done)


def _fork_pool(cfg: AssignmentConfig, todo: list[BatchEntry], opts: GradeOptions, suite: str,
               done: Done) -> None:
    warm_up(cfg)
    cgroups = BatchCgroups.create() if opts.sandbox == "bwrap" else None
    if cgroups is None and opts.sandbox == "bwrap" and not opts.insecure:
        raise GraderFault("no usable cgroups (v2 with the memory, pids and cpu controllers, or "
                          "v1 memory, pids and cpu hierarchies under /sys/fs/cgroup): memory "
                          "outside a process's address space would be unbounded. Pass "
                          "--insecure to grade anyway.")
    opts = replace(opts, cgroups=cgroups)
    with tempfile.TemporaryDirectory(prefix="grader-batch-") as tmp:
        os.chmod(tmp, 0o755)
        zygotes = Zygotes(cfg, opts, Path(tmp)) if opts.sandbox == "bwrap" and opts.warm \
            else None
        running: dict[int, tuple[BatchEntry, int, float]] = {}
        try:
            for slot in range(min(opts.workers, MAX_WORKERS)):
                limit_slot(cfg, opts, slot, baseline=None)
            _schedule(cfg, todo, opts, suite, done, zygotes, running)
        finally:
            # Only left on an exception (Ctrl-C): children die with the batch; those that
            # finished before are counted, so the summary matches the results on disk.
            for entry, code in _stop(running):
                if code in (0, EXIT_FAULT_RECORDED):
                    _collect(cfg, entry, opts, suite, code, done)
            if zygotes is not None:
                zygotes.close()
            if cgroups is not None:
                cgroups.close()


def _stop(running: dict[int, tuple[BatchEntry, int, float]]) -> list[tuple[BatchEntry, int]]:
    """Kill and reap the grading children still running (their sandboxed workers die with
    them, or with the zygotes closed after this); each entry with its child's exit code."""
    for pid in running:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    ended = []
    for pid, (entry, _, _) in running.items():
        try:
            _, status = os.waitpid(pid, 0)
        except ChildProcessError:
            continue
        ended.append((entry, os.waitstatus_to_exitcode(status)))
    return ended


def _schedule(cfg: AssignmentConfig, todo: list[BatchEntry], opts: GradeOptions, suite: str,
              done: Done, zygotes: Zygotes | None,
              running: dict[int, tuple[BatchEntry, int, float]]) -> None:
    free_slots = list(range(min(opts.workers, MAX_WORKERS)))
    hard_limit = (opts.timeout_s or cfg.limits.submission_timeout_s) + 120
    queue = list(todo)
    while queue or running:
        while queue and free_slots:
            entry, slot = queue.pop(0), free_slots.pop(0)
            zygote = zygotes.get(slot) if zygotes is not None else None
            pid = os.fork()
            if pid == 0:  # child: grade one submission, never return into the parent's loop
                os._exit(_child(cfg, entry, opts, suite, slot, zygote))
            running[pid] = (entry, slot, time.monotonic())
        pid, status = os.waitpid(-1, os.WNOHANG)
        if pid == 0:
            for child, (_, _, t0) in list(running.items()):
                if time.monotonic() - t0 > hard_limit:
                    os.kill(child, signal.SIGKILL)
            time.sleep(0.02)
            continue
        if pid not in running:
            continue
        entry, slot, _ = running.pop(pid)
        free_slots.append(slot)
        _collect(cfg, entry, opts, suite, os.waitstatus_to_exitcode(status), done)


def _child(cfg: AssignmentConfig, entry: BatchEntry, opts: GradeOptions, suite: str,
           slot: int, zygote: Zygote | None) -> int:
    try:
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)  # pytest's own report is not ours to show
        torch = sys.modules.get("torch")
        if torch is not None:
            torch.set_num_threads(1)  # parallelism comes from the batch, not within a child
        result = grade_submission(cfg, entry, opts, suite, slot, zygote)
        if result.grader_fault:
            sys.stderr.write(f"grader fault: {entry.student_id}: {result.error}\n")
            return EXIT_FAULT_RECORDED
        return 0
    except SuiteError as exc:
        sys.stderr.write(f"grader fault: {exc}\n")
        return EXIT_GRADER_FAULT
    except BaseException:
        traceback.print_exc()
        return EXIT_GRADER_FAULT


def _collect(cfg: AssignmentConfig, entry: BatchEntry, opts: GradeOptions, suite: str,
             code: int, done: Done) -> None:
    files = AssignmentResults.of(opts.out, cfg.name).student(entry.student_id)
    done(Graded(entry, child_result(cfg, entry, opts, suite, code, files)))


def child_result(cfg: AssignmentConfig, entry: BatchEntry, opts: GradeOptions, suite: str,
                 code: int, files: StudentFiles) -> Result:
    """The result a grading child that exited with ``code`` left in ``files``; when it left
    none (killed, crashed), a grader-fault result saying why, written there."""
    result = read_result(files.results) if code in (0, EXIT_FAULT_RECORDED) else None
    if result is None:
        why = "killed after its hard time limit" if code == -signal.SIGKILL else \
            f"grader process failed (exit {code})"
        result = crashed_result(cfg, entry, opts, suite, why)
        write_result(files, result)
    return result


class Progress:
    """A one-line progress bar on a terminal, one line per submission otherwise."""

    def __init__(self, total: int, stream: TextIO, enabled: bool) -> None:
        self.total, self.stream, self.enabled = total, stream, enabled
        self.done, self.t0 = 0, time.monotonic()
        self.tty = enabled and stream.isatty()

    def step(self, sid: str, result: Result) -> None:
        self.done += 1
        if not self.enabled:
            return
        elapsed = time.monotonic() - self.t0
        rate = self.done / elapsed if elapsed > 0 else 0.0
        eta = (self.total - self.done) / rate if rate > 0 else 0.0
        width = 24
        filled = int(width * self.done / max(self.total, 1))
        bar = "#" * filled + "." * (width - filled)
        line = (f"[{bar}] {self.done}/{self.total} {rate:.2f}/s ETA {eta:.0f}s  {sid}: "
                f"{result.score:g}/{result.max_score:g} {result.status}")
        if self.tty:
            self.stream.write("\r\033[K" + line)
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def report_plan(self, plan: BatchPlan, summary: BatchSummary) -> None:
        """Before grading: each entry that will not be graded, and why; identity warnings."""
        if not self.enabled:
            return
        for entry in plan.entries:
            if entry.status in ("superseded", "refused"):
                self.stream.write(f"{entry.status}: {entry.path.name}: {entry.reason}\n")
        for warning in summary.warnings:
            self.stream.write(f"warning: {warning}\n")
        self.stream.flush()

    def finish(self, summary: BatchSummary) -> None:
        """The closing summary; printed even with progress off when the batch was stopped."""
        if not self.enabled and summary.interrupted is None:
            return
        if self.tty:
            self.stream.write("\n")
        self.stream.write(summary.line(time.monotonic() - self.t0) + "\n")
        self.stream.flush()
