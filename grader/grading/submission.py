"""Grading one submission: stage it, run the hidden suite against its sandboxed worker, write
its result (grader.results.store). Batches (grader.grading.batch) call this in a forked child."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from dataclasses import asdict, replace
from datetime import datetime, timezone
from pathlib import Path

import grader
from grader.authoring.release import starter_text
from grader.course.config import AssignmentConfig
from grader.grading.options import GradeOptions, sandbox_uid, versions
from grader.grading.output_caps import cap_result
from grader.grading.plugin import GraderPlugin, run_suite
from grader.grading.proxy import Session
from grader.intake.identity import BatchEntry, plan_batch
from grader.intake.notebook import sandbox_packages
from grader.intake.staging import MAX_TOTAL_BYTES, IntakeError, Submission, digest, stage
from grader.results.record import Result, TestResult, result_score
from grader.results.store import AssignmentResults, StudentFiles, write_result, write_text_atomic
from grader.sandbox.bwrap import Isolation, SandboxSpec
from grader.sandbox.workers import SandboxFault, staging_root
from grader.sandbox.zygote import Zygote

GRADER_FAULT_ADVICE = "this is a grader fault, ask your instructor to regrade"


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def with_digest(entry: BatchEntry) -> BatchEntry:
    """``entry`` with its submission hash; "" (never up to date) when it cannot be read, so
    grading it records the read error as the student's submission error."""
    if entry.sha256:
        return entry
    try:
        return replace(entry, sha256=digest(entry.source or entry.path))
    except (OSError, ValueError):  # unreadable or unwalkable: staging says why
        return entry


def build_result(cfg: AssignmentConfig, sub: Submission, opts: GradeOptions, *,
                 tests: list[TestResult], status: str, error: str | None, output: str,
                 started: float, started_at: str, suite: str) -> Result:
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
    return Result(
        score=result_score(status, tests), max_score=cfg.points,
        execution_time=round(time.monotonic() - started, 3), output="\n\n".join(notes),
        tests=tests, grader_version=grader.__version__, assignment=cfg.name,
        student_id=sub.student_id, submission=sub.source.name, submission_sha256=sub.sha256,
        suite_sha256=suite, status=status, error=error, sandbox=opts.sandbox,
        insecure=opts.sandbox == "none",
        isolation=asdict(Isolation(
            cgroup=opts.cgroups.version if opts.cgroups is not None else "none",
            seccomp=True, private_ipc_and_tmp=opts.sandbox == "bwrap")),
        device=opts.device, seed=opts.seed, versions=versions(), started_at=started_at,
        finished_at=now_iso(), late=late)


def identify(result: Result, entry: BatchEntry) -> Result:
    """The student's LMS identity and the LMS's own late marker (it beats file times)."""
    late = entry.late if entry.late is not None else result.late
    return replace(result, display_name=entry.display_name, lms_id=entry.lms_id,
                   members=list(entry.members), late=late)


def crashed_result(cfg: AssignmentConfig, entry: BatchEntry, opts: GradeOptions, suite: str,
                   why: str) -> Result:
    """The result of a submission the grader failed to grade (status crashed, score 0)."""
    sub = Submission(entry.student_id, entry.path, sha256=entry.sha256)
    result = build_result(cfg, sub, opts, tests=[], status="crashed",
                          error=f"grading did not finish: {why}; {GRADER_FAULT_ADVICE}",
                          output="", started=time.monotonic(), started_at=now_iso(),
                          suite=suite)
    return identify(result, entry)


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
                     suite: str, slot: int = 0, pool: Zygote | None = None) -> Result:
    """Grade one submission (a path, or an entry of a batch plan) end to end and write its
    results.json; returns the result. A worker that cannot start is a crashed result."""
    entry = with_digest(source if isinstance(source, BatchEntry) else
                        plan_batch(source, cfg.module, cfg.student_id, cfg.roster).entries[0])
    started, started_at = time.monotonic(), now_iso()
    with tempfile.TemporaryDirectory(prefix="grade-", dir=staging_root(pool)) as tmp:
        workdir = Path(tmp)
        os.chmod(workdir, 0o755)  # the sandbox's unprivileged uid reads the staged copy
        staged = entry.source or entry.path
        copy_error = None
        if staged.suffix != staged.suffix.lower():
            try:
                staged = _lowercase_copy(staged, workdir / "original")
            except (IntakeError, OSError) as exc:
                copy_error = f"could not read the submission: {exc}"
        sub = stage(staged, cfg.module, workdir, starter=starter_text(cfg),
                    packages=sandbox_packages(cfg.torch_in_sandbox),
                    student_id=entry.student_id, sha256=entry.sha256)
        sub.source = entry.path
        sub.error = copy_error or sub.error
        if sub.error is not None:
            result = build_result(cfg, sub, opts, tests=[], status="submission_error",
                                  error=sub.error, output="", started=started,
                                  started_at=started_at, suite=suite)
        else:
            result = _run_tests(cfg, sub, opts, suite, slot, started, started_at, pool)
        result = identify(result, entry)
        files = AssignmentResults.of(opts.out, cfg.name).student(sub.student_id)
        data = result.to_dict()
        if sub.derived is not None:  # messages name notebook cells
            data = sub.derived.relocate_result(data, cfg.module_file)
        result = Result.from_dict(cap_result(data))
        _keep_graded_code(files, sub, cfg.module_file)
        write_result(files, result)
        return result


def _keep_graded_code(files: StudentFiles, sub: Submission, module_file: str) -> None:
    """The code that was graded (the module derived from a notebook, or the module itself)
    is kept beside results.json, for the student's messages and the similarity report; a
    regrade never leaves a stale one behind."""
    code = sub.derived.code if sub.derived is not None else None
    staged = sub.staged / module_file if sub.staged is not None else None
    if code is None and staged is not None and staged.is_file():
        code = staged.read_text(errors="replace")
    if code is None:
        files.graded_module.unlink(missing_ok=True)
    else:
        write_text_atomic(files.graded_module, code)


def _run_tests(cfg: AssignmentConfig, sub: Submission, opts: GradeOptions, suite: str,
               slot: int, started: float, started_at: str, pool: Zygote | None) -> Result:
    for path in [sub.staged, *sub.staged.rglob("*")]:
        os.chmod(path, 0o755 if path.is_dir() else 0o644)
    spec = slot_spec(cfg, opts, slot, sub.staged, os.getppid())
    session = Session(spec, cfg.module, pool)
    plugin = GraderPlugin(session, seed=opts.seed, total_points=cfg.points,
                          default_visibility=cfg.visibility,
                          config={**cfg.as_dict(), "device": opts.device}, device=opts.device)
    try:
        tests = [TestResult.from_dict(t) for t in run_suite(plugin, str(cfg.hidden_tests))]
    except SandboxFault as exc:
        session.output_tail()  # closes the session
        return build_result(cfg, sub, opts, tests=[], status="crashed",
                            error=f"grading did not finish: {exc}; {GRADER_FAULT_ADVICE}",
                            output="", started=started, started_at=started_at, suite=suite)
    status, error = "ok", None
    if plugin.load_error is not None:
        status, error = "submission_error", plugin.load_error.student_message()
        tests = [replace(t, output="not graded: your module could not be imported (see above)")
                 for t in tests]
    elif plugin.budget_exhausted:
        status, error = "timeout", "the time budget for this submission ran out; tests after " \
            "that point were not graded"
    printed = session.output_tail()
    output = f"Your code printed (last lines):\n{printed}" if printed.strip() else ""
    return build_result(cfg, sub, opts, tests=tests, status=status, error=error, output=output,
                        started=started, started_at=started_at, suite=suite)


def slot_spec(cfg: AssignmentConfig, opts: GradeOptions, slot: int, folder: Path,
              batch_pid: int) -> SandboxSpec:
    """The sandbox of a parallel slot for the submission (or zygote inbox) ``folder``."""
    limits = cfg.limits
    if opts.timeout_s is not None:
        limits = replace(limits, submission_timeout_s=opts.timeout_s)
    cgroup = opts.cgroups.slot(slot).procs_files() if opts.cgroups is not None else ()
    return SandboxSpec(opts.sandbox, folder, limits, allow_torch=cfg.torch_in_sandbox,
                       device=opts.device, uid=sandbox_uid(batch_pid, slot),
                       cgroup_procs=cgroup)
