"""Grading submissions: intake -> sandboxed run of the hidden suite -> results.json.

The parent process imports pytest, numpy and torch once and then forks one child per
submission (up to ``workers`` at a time), so a submission pays no interpreter or torch start.
A child stages the submission, runs the suite against its own sandboxed worker and writes
``results.json`` atomically before it exits; the parent only schedules, enforces a hard time
limit per child and reports progress. A results folder is locked while a batch writes to it;
a rerun skips submissions whose results match the submission's and the suite's hashes.
"""

from __future__ import annotations

import ast
import fcntl
import gc
import hashlib
import importlib
import json
import os
import platform
import random
import shutil
import signal
import sys
import tempfile
import time
import traceback
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import TextIO

import grader
from grader.authoring.release import starter_text
from grader.course.config import AssignmentConfig
from grader.grading.output_caps import cap_result
from grader.grading.plugin import GraderPlugin, SuiteError, run_suite
from grader.grading.proxy import Session
from grader.intake.identity import BATCH_ENTRIES, BatchEntry, BatchPlan, plan_batch
from grader.intake.notebook import GRADED_MODULE, sandbox_packages
from grader.intake.staging import MAX_TOTAL_BYTES, IntakeError, Submission, digest, stage
from grader.results.store import write_json_atomic, write_text_atomic
from grader.sandbox.bwrap import Isolation, SandboxSpec, bwrap_path
from grader.sandbox.cgroups import BatchCgroups
from grader.sandbox.zygote import Zygote, ZygoteError

EXIT_GRADER_FAULT = 3
MAX_WORKERS = 64
# Slot cgroup headroom beyond the student's memory_mb (see docs/SECURITY.md for measurements).
STARTUP_MB, STARTUP_MB_TORCH, SLACK_MB = 256, 1024, 32
ZYGOTE_TASKS = 64  # the zygote's own threads and helpers, beyond the student's max_processes


def sandbox_uid(batch_pid: int, slot: int) -> int:
    """The unprivileged uid of a sandbox slot: distinct per batch process and slot, so the
    per-uid process limit of one worker is never shared with another grader's."""
    return 100_000 + (batch_pid % 50_000) * MAX_WORKERS + slot


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


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def build_result(cfg: AssignmentConfig, sub: Submission, opts: GradeOptions, *,
                 tests: list[dict], status: str, error: str | None, output: str,
                 started: float, started_at: str, suite: str) -> dict:
    score = sum(t["score"] for t in tests)
    notes = []
    if opts.insecure and opts.sandbox == "none":
        notes.append("INSECURE: graded WITHOUT a sandbox (--insecure); this score cannot be "
                     "trusted.")
    if error:
        notes.append(error)
    notes += sub.warnings
    if output:
        notes.append(output)
    late = None
    if cfg.due is not None and sub.mtime is not None:
        late = datetime.fromtimestamp(sub.mtime, timezone.utc) > cfg.due
    return {
        "score": round(score, 6), "max_score": cfg.points,
        "execution_time": round(time.monotonic() - started, 3),
        "output": "\n\n".join(notes), "visibility": "visible", "tests": tests,
        "grader_version": grader.__version__, "assignment": cfg.name,
        "student_id": sub.student_id, "submission": sub.source.name,
        "submission_sha256": sub.sha256, "suite_sha256": suite, "status": status,
        "error": error, "sandbox": opts.sandbox, "insecure": opts.sandbox == "none",
        "isolation": asdict(Isolation(
            cgroup=opts.cgroups.version if opts.cgroups is not None else "none",
            seccomp=True, private_ipc_and_tmp=opts.sandbox == "bwrap")),
        "device": opts.device, "seed": opts.seed, "versions": versions(),
        "started_at": started_at, "finished_at": _now(), "late": late,
    }


def _identify(result: dict, entry: BatchEntry) -> dict:
    """The student's LMS identity and the LMS's own late marker (it beats file times)."""
    result.update(display_name=entry.display_name, lms_id=entry.lms_id,
                  members=list(entry.members))
    if entry.late is not None:
        result["late"] = entry.late
    return result


def _lowercase_copy(source: Path, folder: Path) -> Path:
    """``Backprop.PY`` as ``Backprop.py``: staging recognises lower-case suffixes only."""
    if source.is_symlink() or not source.is_file():
        raise IntakeError("the submission is a symbolic link or not a plain file")
    if source.stat().st_size > MAX_TOTAL_BYTES:
        raise IntakeError(f"{source.name} is larger than {MAX_TOTAL_BYTES >> 20} MiB")
    folder.mkdir()
    copy = folder / (source.stem + source.suffix.lower())
    shutil.copy2(source, copy)  # keeps the mtime: it decides late without an LMS marker
    return copy


def grade_submission(cfg: AssignmentConfig, source: Path | BatchEntry, opts: GradeOptions,
                     suite: str, slot: int = 0, zygote: Zygote | None = None) -> dict:
    """Grade one submission (a path, or an entry of a batch plan) end to end and write its
    results.json; returns the result."""
    entry = source if isinstance(source, BatchEntry) else \
        plan_batch(source, cfg.module, cfg.student_id, cfg.roster).entries[0]
    started, started_at = time.monotonic(), _now()
    staging = zygote.inbox if zygote is not None else None
    with tempfile.TemporaryDirectory(prefix="grade-", dir=staging) as tmp:
        workdir = Path(tmp)
        os.chmod(workdir, 0o755)  # the sandbox's unprivileged uid reads the staged copy
        original = staged = entry.source or entry.path
        copy_error = None
        if staged.suffix != staged.suffix.lower():
            try:
                staged = _lowercase_copy(staged, workdir / "original")
            except (IntakeError, OSError) as exc:
                copy_error = f"could not read the submission: {exc}"
        sub = stage(staged, cfg.module, workdir, id_rule=cfg.student_id,
                    starter=starter_text(cfg), packages=sandbox_packages(cfg.torch_in_sandbox))
        sub.student_id, sub.source = entry.student_id, entry.path
        if staged != original and sub.error is None:
            sub.sha256 = _regrade_key(entry)  # over what the student handed in, not the copy
        sub.error = copy_error or sub.error
        if sub.error is not None:
            result = build_result(cfg, sub, opts, tests=[], status="submission_error",
                                  error=sub.error, output="", started=started,
                                  started_at=started_at, suite=suite)
        else:
            result = _run_tests(cfg, sub, opts, workdir, suite, slot, started, started_at,
                                zygote)
        _identify(result, entry)
        folder = opts.out / cfg.name / sub.student_id
        if sub.derived is not None:  # messages name notebook cells
            result = sub.derived.relocate_result(result, cfg.module_file)
        _keep_graded_code(folder, sub, cfg.module_file)
        result = cap_result(result)
        write_json_atomic(folder / "results.json", result)
        return result


def _keep_graded_code(folder: Path, sub: Submission, module_file: str) -> None:
    """The code that was graded (the module derived from a notebook, or the module itself)
    is kept beside results.json, for the student's messages and the similarity report; a
    regrade never leaves a stale one behind."""
    code = sub.derived.code if sub.derived is not None else None
    staged = sub.staged / module_file if sub.staged is not None else None
    if code is None and staged is not None and staged.is_file():
        code = staged.read_text(errors="replace")
    if code is None:
        (folder / GRADED_MODULE).unlink(missing_ok=True)
    else:
        write_text_atomic(folder / GRADED_MODULE, code)


def _run_tests(cfg: AssignmentConfig, sub: Submission, opts: GradeOptions, workdir: Path,
               suite: str, slot: int, started: float, started_at: str,
               zygote: Zygote | None) -> dict:
    for path in [sub.staged, *sub.staged.rglob("*")]:
        os.chmod(path, 0o755 if path.is_dir() else 0o644)
    spec = _slot_spec(cfg, opts, slot, sub.staged, os.getppid())
    session = Session(spec, cfg.module, zygote)
    plugin = GraderPlugin(session, seed=opts.seed, total_points=cfg.points,
                          default_visibility=cfg.visibility,
                          config={**cfg.as_dict(), "device": opts.device}, device=opts.device)
    tests = run_suite(plugin, str(cfg.hidden_tests))
    status, error = "ok", None
    if plugin.load_error is not None:
        status, error = "submission_error", plugin.load_error.student_message()
        tests = [{**t, "output": "not graded: your module could not be imported (see above)"}
                 for t in tests]
    elif plugin.budget_exhausted:
        status, error = "timeout", "the time budget for this submission ran out; tests after " \
            "that point were not graded"
    printed = session.output_tail()
    output = f"Your code printed (last lines):\n{printed}" if printed.strip() else ""
    return build_result(cfg, sub, opts, tests=tests, status=status, error=error, output=output,
                        started=started, started_at=started_at, suite=suite)


# -- batches -------------------------------------------------------------------------------------

class ResultsLock:
    """An exclusive lock on ``<out>/<assignment>``: two graders never write one folder."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.fh = open(folder / ".grader.lock", "w")
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


def up_to_date(path: Path, sha: str, suite: str) -> bool:
    try:
        old = json.loads(path.read_text())
    except (OSError, ValueError):
        return False
    return old.get("submission_sha256") == sha and old.get("suite_sha256") == suite \
        and old.get("status") in ("ok", "submission_error", "timeout", "crashed")


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
    warnings: list[str] = field(default_factory=list)

    def count(self, status: str) -> None:
        """Count an entry that is not graded: superseded, refused or receipt."""
        kind = "receipts" if status == "receipt" else status
        setattr(self, kind, getattr(self, kind) + 1)

    def line(self, elapsed: float) -> str:
        """The closing summary: every entry of the batch is counted in one of the kinds."""
        mean = self.total_score / self.graded if self.graded else 0.0
        return (f"graded {self.graded}, skipped {self.skipped} (up to date), superseded "
                f"{self.superseded}, refused {self.refused}, receipts {self.receipts}, "
                f"grader faults {self.faults}, mean score {mean:.2f}, {elapsed:.1f} s")


def write_batch_entries(plan: BatchPlan, folder: Path) -> None:
    """``<out>/<assignment>/batch_entries.json``: every entry and its fate, for the reports."""
    write_json_atomic(folder / BATCH_ENTRIES, {
        "batch": str(plan.root), "warnings": plan.warnings,
        "entries": [e.as_record(plan.root) for e in plan.entries]})


def grade_batch(cfg: AssignmentConfig, target: Path, opts: GradeOptions,
                stream: TextIO = sys.stderr) -> BatchSummary:
    """Grade every submission under ``target`` in parallel; resumable and locked."""
    if not cfg.hidden_tests.is_dir():
        raise GraderFault(f"hidden suite {cfg.hidden_tests} does not exist")
    suite = suite_sha256(cfg)
    lock = ResultsLock(opts.out / cfg.name)
    summary = BatchSummary()
    started = time.monotonic()
    try:
        plan = plan_batch(target, cfg.module, cfg.student_id, cfg.roster)
        summary.warnings = plan.warnings + [f"{e.path.name}: {w}" for e in plan.entries
                                            for w in e.warnings]
        todo = []
        for entry in plan.entries:
            if opts.only and entry.student_id not in opts.only:
                continue
            if entry.status != "graded":
                summary.count(entry.status)
                continue
            result_path = opts.out / cfg.name / entry.student_id / "results.json"
            if not opts.regrade and up_to_date(result_path, _regrade_key(entry), suite):
                summary.skipped += 1
                continue
            todo.append(entry)
        write_batch_entries(plan, opts.out / cfg.name)
        progress = Progress(len(todo), stream, opts.progress)
        progress.report_plan(plan, summary)
        _fork_pool(cfg, todo, opts, suite, summary, progress)
        progress.finish(summary)
    finally:
        lock.release()
    summary.seconds = time.monotonic() - started
    return summary


def _regrade_key(entry: BatchEntry) -> str:
    """The submission hash of an entry; "" (never up to date) when it cannot be read, so the
    child grading it records the read error as the student's submission error."""
    try:
        return digest(entry.source or entry.path)
    except OSError:
        return ""


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


def _slot_spec(cfg: AssignmentConfig, opts: GradeOptions, slot: int, folder: Path,
               batch_pid: int) -> SandboxSpec:
    limits = cfg.limits
    if opts.timeout_s is not None:
        limits = replace(limits, submission_timeout_s=opts.timeout_s)
    cgroup = opts.cgroups.slot(slot).procs_files() if opts.cgroups is not None else ()
    return SandboxSpec(opts.sandbox, folder, limits, allow_torch=cfg.torch_in_sandbox,
                       device=opts.device, uid=sandbox_uid(batch_pid, slot),
                       cgroup_procs=cgroup)


class Zygotes:
    """The warm sandboxes of a batch, one per slot, restarted if one dies."""

    def __init__(self, cfg: AssignmentConfig, opts: GradeOptions, root: Path) -> None:
        self.cfg, self.opts, self.root = cfg, opts, root
        self.by_slot: dict[int, Zygote | None] = {}

    def get(self, slot: int) -> Zygote | None:
        zygote = self.by_slot.get(slot)
        if zygote is not None and zygote.proc.poll() is None:
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
        spec = _slot_spec(self.cfg, self.opts, slot, inbox, os.getpid())
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


def _fork_pool(cfg: AssignmentConfig, todo: list[BatchEntry], opts: GradeOptions, suite: str,
               summary: BatchSummary, progress: Progress) -> None:
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
        try:
            for slot in range(min(opts.workers, MAX_WORKERS)):
                limit_slot(cfg, opts, slot, baseline=None)
            _schedule(cfg, todo, opts, suite, summary, progress, zygotes)
        finally:
            if zygotes is not None:
                zygotes.close()
            if cgroups is not None:
                cgroups.close()


def _schedule(cfg: AssignmentConfig, todo: list[BatchEntry], opts: GradeOptions, suite: str,
              summary: BatchSummary, progress: Progress, zygotes: Zygotes | None) -> None:
    running: dict[int, tuple[BatchEntry, int, float]] = {}
    free_slots = list(range(min(opts.workers, MAX_WORKERS)))
    hard_limit = (opts.timeout_s or cfg.limits.submission_timeout_s) + 120
    queue = list(todo)
    while queue or running:
        while queue and free_slots:
            source, slot = queue.pop(0), free_slots.pop(0)
            zygote = zygotes.get(slot) if zygotes is not None else None
            pid = os.fork()
            if pid == 0:  # child: grade one submission, never return into the parent's loop
                os._exit(_child(cfg, source, opts, suite, slot, zygote))
            running[pid] = (source, slot, time.monotonic())
        pid, status = os.waitpid(-1, os.WNOHANG)
        if pid == 0:
            for child, (_, _, t0) in list(running.items()):
                if time.monotonic() - t0 > hard_limit:
                    os.kill(child, signal.SIGKILL)
            time.sleep(0.02)
            continue
        if pid not in running:
            continue
        source, slot, _ = running.pop(pid)
        free_slots.append(slot)
        _collect(cfg, source, opts, suite, os.waitstatus_to_exitcode(status), summary, progress)


def _child(cfg: AssignmentConfig, source: BatchEntry, opts: GradeOptions, suite: str,
           slot: int, zygote: Zygote | None) -> int:
    try:
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)  # pytest's own report is not ours to show
        torch = sys.modules.get("torch")
        if torch is not None:
            torch.set_num_threads(1)  # parallelism comes from the batch, not within a child
        grade_submission(cfg, source, opts, suite, slot, zygote)
        return 0
    except SuiteError as exc:
        sys.stderr.write(f"grader fault: {exc}\n")
        return EXIT_GRADER_FAULT
    except BaseException:
        traceback.print_exc()
        return EXIT_GRADER_FAULT


def _collect(cfg: AssignmentConfig, entry: BatchEntry, opts: GradeOptions, suite: str,
             code: int, summary: BatchSummary, progress: Progress) -> None:
    sid = entry.student_id
    path = opts.out / cfg.name / sid / "results.json"
    result = None
    if code == 0:
        try:
            result = json.loads(path.read_text())
        except (OSError, ValueError):
            result = None
    if result is None:
        summary.faults += 1
        sub = Submission(sid, entry.path, sha256=_regrade_key(entry))
        why = "killed after its hard time limit" if code == -signal.SIGKILL else \
            f"grader process failed (exit {code})"
        result = build_result(cfg, sub, opts, tests=[], status="crashed",
                              error=f"grading did not finish: {why}; this is a grader fault, "
                              "ask your instructor to regrade", output="",
                              started=time.monotonic(), started_at=_now(), suite=suite)
        write_json_atomic(path, _identify(result, entry))
    summary.graded += 1
    summary.total_score += result["score"]
    if result["score"] < result["max_score"]:
        summary.failed_students += 1
    progress.step(sid, result)


class Progress:
    """A one-line progress bar on a terminal, one line per submission otherwise."""

    def __init__(self, total: int, stream: TextIO, enabled: bool) -> None:
        self.total, self.stream, self.enabled = total, stream, enabled
        self.done, self.t0 = 0, time.monotonic()
        self.tty = enabled and stream.isatty()

    def step(self, sid: str, result: dict) -> None:
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
                f"{result['score']:g}/{result['max_score']:g} {result['status']}")
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
        if not self.enabled:
            return
        if self.tty:
            self.stream.write("\n")
        self.stream.write(summary.line(time.monotonic() - self.t0) + "\n")
        self.stream.flush()

