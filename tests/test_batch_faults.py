"""Grader faults and interruptions in a batch: a crashed result is regraded, Ctrl-C ends with
the summary, --only with unknown ids, a sandbox that cannot start is the grader's fault."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from grader.course.config import load_config
from grader.grading.batch import grade_batch
from grader.grading.options import GradeOptions, sandbox_uid
from grader.sandbox import wire
from grader.sandbox.arena import Arena
from grader.sandbox.bwrap import Limits, SandboxSpec
from grader.sandbox.output_capture import OutputCapture
from grader.sandbox.workers import SandboxFault, start_worker
from tests.test_batch import course, grader, results, submissions
from tests.test_sandbox import survivors

NEEDS_DATA = '''
import pathlib
import pytest

if not pathlib.Path({data!r}).exists():
    pytest.exit("the data set is missing")

@pytest.mark.points(3)
def test_double(student):
    """double(x) returns 2x"""
    assert student.double(3) == 6
'''


def test_a_grader_fault_result_is_regraded_once_the_fault_is_fixed(tmp_path: Path) -> None:
    data = tmp_path / "dataset.txt"
    config = course(tmp_path, NEEDS_DATA.format(data=str(data)))
    subs, out = submissions(tmp_path, 1), tmp_path / "out"
    first = grader(config, "grade", "toy", str(subs), "--out", str(out))
    assert first.returncode == 3 and results(out)["s00"]["status"] == "crashed"
    data.write_text("present")
    second = grader(config, "grade", "toy", str(subs), "--out", str(out))
    assert second.returncode == 0, second.stderr
    assert "graded 1, skipped 0" in second.stderr
    assert results(out)["s00"]["status"] == "ok" and results(out)["s00"]["score"] == 3


def test_only_with_an_unknown_student_id_is_a_grader_fault_naming_it(tmp_path: Path) -> None:
    config = course(tmp_path)
    run = grader(config, "grade", "toy", str(submissions(tmp_path, 2)), "--out",
                 str(tmp_path / "out"), "--only", "s01", "nobody", "zed")
    assert run.returncode == 3
    assert "--only names students not in" in run.stderr and "nobody, zed" in run.stderr
    assert results(tmp_path / "out") == {}


DRIVER = '''
import sys
from pathlib import Path
from grader.course.config import load_config
from grader.grading.batch import BatchInterrupted, grade_batch
from grader.grading.options import GradeOptions

cfg = load_config(Path(sys.argv[1])).assignment("toy")
opts = GradeOptions(out=Path(sys.argv[3]), seed=1, sandbox="bwrap", insecure=False,
                    device="cpu", workers=1, progress=False)
try:
    grade_batch(cfg, Path(sys.argv[2]), opts)
except BatchInterrupted as exc:
    print(f"not graded: {exc.summary.interrupted}")
    sys.exit(130)
'''


def test_ctrl_c_kills_the_batch_and_prints_the_summary(tmp_path: Path) -> None:
    config = course(tmp_path)
    subs, out = submissions(tmp_path, 6, pause=3.0), tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-c", textwrap.dedent(DRIVER), str(config),
                             str(subs), str(out)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not results(out) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert results(out), "nothing was graded within 2 minutes"
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr, stderr
    assert "INTERRUPTED with" in stderr and "not graded:" in stdout, stderr
    graded = len(results(out))
    assert f"graded {graded}," in stderr and f"not graded: {6 - graded}" in stdout, \
        (graded, stdout, stderr)
    assert survivors(str(sandbox_uid(proc.pid, 0))) == []


def test_a_worker_that_dies_before_it_is_ready_is_a_sandbox_fault(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "executable", "/bin/false")  # the interpreter does not start
    output, arena = OutputCapture(), Arena()
    try:
        with pytest.raises(SandboxFault, match="before loading the submission"):
            start_worker(SandboxSpec("none", tmp_path, Limits()), output.write_fd, arena.fd)
    finally:
        output.close()
        arena.close()


def _grade_insecure(tmp: Path, code: str) -> tuple[object, dict]:
    config = course(tmp)
    (tmp / "subs").mkdir()
    (tmp / "subs" / "s00.py").write_text(code)
    cfg = load_config(config).assignment("toy")
    opts = GradeOptions(out=tmp / "out", seed=1, sandbox="none", insecure=True, device="cpu",
                        progress=False)
    summary = grade_batch(cfg, tmp / "subs", opts, io.StringIO())
    return summary, results(tmp / "out")["s00"]


def test_an_environment_failure_in_the_sandbox_is_a_grader_fault(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "executable", "/bin/false")
    summary, result = _grade_insecure(tmp_path, "PAUSE = 0\ndef double(x):\n    return 2 * x\n")
    assert summary.faults == 1
    assert result["status"] == "crashed" and result["score"] == 0
    assert "before loading the submission" in result["error"] and "grader fault" in \
        result["error"]


def test_a_module_that_kills_its_worker_on_import_is_the_students_error(
        tmp_path: Path) -> None:
    summary, result = _grade_insecure(tmp_path, "import os\nos._exit(1)\n")
    assert summary.faults == 0
    assert result["status"] == "submission_error" and result["score"] == 0
    assert "importing toy.py" in result["error"]


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


def test_an_insecure_worker_dies_with_the_grading_process_that_started_it(
        tmp_path: Path) -> None:
    (tmp_path / "hang.py").write_text("import time\ntime.sleep(600)\n")
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # a grading child, killed the way an interrupted batch kills it
        try:
            output = OutputCapture()
            worker = start_worker(SandboxSpec("none", tmp_path, Limits()), output.write_fd,
                                  Arena().fd)
            wire.write_frame(worker.to_worker, wire.encode(
                {"op": "load", "module": "hang", "path": worker.submission_path}))
            os.write(write_fd, str(worker.proc.pid).encode())
            time.sleep(60)
        finally:
            os._exit(0)
    os.close(write_fd)
    worker_pid = int(os.read(read_fd, 64))
    os.close(read_fd)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    deadline = time.monotonic() + 5
    while _alive(worker_pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(worker_pid), "the worker outlived the process that started it"
