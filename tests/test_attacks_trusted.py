"""The trusted side holds against a worker that misbehaves at the protocol level.

Student code shares its process with the worker, so it can write straight to the worker's
reply pipe: garbage, frames claiming terabytes, floods of call-backs while never reading the
grader's answers, or strings of 16 MiB (an exception class name, a warning, a type name).
Each attack is a released stub (0 points) plus the trick, graded through the real pipeline
with one slot, so the honest student graded after the attackers (name order) uses the same
slot and zygote. Whatever an attacker does, the batch finishes without a grader fault, the
attacker scores nothing, the files written stay small and the honest student gets full marks.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import time
from pathlib import Path

import pytest

from grader.course.config import load_config
from grader.grading import output_caps, proxy
from grader.grading.batch import BatchSummary, grade_batch
from grader.grading.options import GradeOptions
from grader.reports.command import write_feedback_files
from grader.sandbox import zygote
from tests.conftest import solution_text, stub_text, write_config

pytestmark = pytest.mark.sandbox

SUBMISSION_TIMEOUT_S = 40
# Any bound far below the 16 MiB strings and far above an honest result is a fair check.
MAX_FILE_BYTES = 2 * output_caps.MAX_RESULTS_BYTES

# Student code that finds the worker's reply pipe (the write-only pipe besides stdout and
# stderr, which are pipes to the trusted side too) and builds wire frames by hand: nothing
# from the grader package is needed for an attack.
PIPE = '''
import fcntl as _fcntl, json as _json, os as _os, stat as _stat, struct as _struct

def _reply_fd():
    for name in _os.listdir("/proc/self/fd"):
        try:
            fd = int(name)
            is_pipe = _stat.S_ISFIFO(_os.fstat(fd).st_mode)
            mode = _fcntl.fcntl(fd, _fcntl.F_GETFL) & _os.O_ACCMODE
        except OSError:
            continue
        if fd > 2 and is_pipe and mode == _os.O_WRONLY:
            return fd
    raise RuntimeError("no reply pipe")

def _send(data):
    fd = _reply_fd()
    view = memoryview(data)
    while view:
        view = view[_os.write(fd, view):]

def _frame(header):
    body = _struct.pack("!I", len(header)) + header + _struct.pack("!I", 0)
    return _struct.pack("!Q", len(body)) + body

def _tree(value):  # the wire's JSON tree: a dict is {"$d": [[key, value], ...]}
    if isinstance(value, dict):
        return {"$d": [[k, _tree(v)] for k, v in value.items()]}
    if isinstance(value, list):
        return [_tree(v) for v in value]
    return value

def _message(msg):
    return _frame(_json.dumps(_tree(msg)).encode())
'''

A1_ATTACKS = {
    # 16 MiB exception class names and messages, warnings, handle type names, and a module
    # with 200k names: every string the worker supplies is huge.
    "bloat_strings": '''
import warnings as _warnings
_HUGE = 16 << 20
_Huge = type("E" * _HUGE, (Exception,), {})
_Odd = type("T" * _HUGE, (), {})
_calls = []

def _bloat(*args, **kwargs):
    _warnings.warn("w" * _HUGE)
    _calls.append(1)
    if len(_calls) % 2:
        raise _Huge("m" * _HUGE)
    return _Odd()

for _name in [n for n, v in list(globals().items()) if callable(v) and n[0].isalpha()]:
    globals()[_name] = _bloat
globals().update({f"pad{i}": i for i in range(200_000)})
''',
    # Replies the grader must refuse: garbage bytes, a length of 2**64 - 1, JSON nested a
    # million deep, an error reply without its fields, a call-back the grader never offered.
    "malformed_frames": PIPE + '''
import itertools as _itertools
_FORGERIES = _itertools.cycle([
    b"\\xff" * 8,
    _struct.pack("!Q", 12) + b"not a frame!",
    _frame(b"[" * 1_000_000 + b"]" * 1_000_000),
    _message({"op": "error"}),
    _message({"op": "result"}),
    _message({"op": "callback", "id": 99, "args": []}),
    _message({"op": "result", "value": [], "inout": 3}),
])

def _forge(*args, **kwargs):
    _send(next(_FORGERIES))
    raise SystemExit

for _name in [n for n, v in list(globals().items()) if callable(v) and n[0].isalpha()]:
    globals()[_name] = _forge
''',
    # A frame that claims 1 TiB, then streams garbage as fast as the pipe takes it.
    "oversized_frame": PIPE + '''
def relu_forward(x):
    _send(_struct.pack("!Q", 1 << 40))
    while True:
        _send(b"\\0" * (1 << 20))
''',
}

A5_ATTACKS = {
    # Call-back frames sent as fast as possible while never reading the grader's answers:
    # the grader's writes fill the pipe and would block forever without a deadline.
    "callback_flood": PIPE + '''
def random_search(objective, space, n_trials, seed):
    request = _message({"op": "callback", "id": 1, "args": [{"lr": 0.1}], "kwargs": {}})
    while True:
        _send(request)
''',
    # An objective called through the real stub, reading every answer, without end.
    "callback_loop": '''
def random_search(objective, space, n_trials, seed):
    while True:
        objective({name: 0.5 for name in space})
''',
}


def _grade(tmp: Path, assignment: str, submissions: dict[str, str]) -> tuple[
        BatchSummary, dict[str, dict], Path]:
    batch = tmp / "batch"
    batch.mkdir()
    for name, text in submissions.items():
        (batch / f"{name}.py").write_text(text)
    cfg = load_config(write_config(tmp, assignment, call_timeout_s=3,
                                   submission_timeout_s=SUBMISSION_TIMEOUT_S, memory_mb=1024))
    cfg = cfg.assignment(assignment)
    out = tmp / "out"
    opts = GradeOptions(out=out, seed=4321, sandbox="bwrap", insecure=False, device="cpu",
                        workers=1, regrade=True, progress=False)
    summary = grade_batch(cfg, batch, opts)
    results = {p.parent.name: json.loads(p.read_text())
               for p in sorted((out / assignment).glob("*/results.json"))}
    now = dt.datetime.now(dt.timezone.utc)
    for path in (out / assignment).glob("*/results.json"):
        write_feedback_files(path, results[path.parent.name], now=now, due=None)
    return summary, results, out / assignment


def _batch(tmp: Path, assignment: str, attacks: dict[str, str]) -> dict:
    stub = stub_text(assignment)
    submissions = {name: stub + "\n" + attack for name, attack in attacks.items()}
    submissions["zz_honest"] = solution_text(assignment)
    t0 = time.monotonic()
    summary, results, folder = _grade(tmp, assignment, submissions)
    return {"summary": summary, "results": results, "folder": folder,
            "seconds": time.monotonic() - t0}


@pytest.fixture(scope="module")
def a1(tmp_path_factory: pytest.TempPathFactory) -> dict:
    return _batch(tmp_path_factory.mktemp("a1_attacks"), "a1_backprop", A1_ATTACKS)


# The hidden suite calls the objective up to 300 times; a lower cap than the real one keeps
# the endless loop short under the test's 3 s call limit (the mechanism is the same).
TEST_CALLBACK_CAP = 1_000


@pytest.fixture(scope="module")
def a5(tmp_path_factory: pytest.TempPathFactory) -> dict:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(proxy, "MAX_CALLBACKS_PER_CALL", TEST_CALLBACK_CAP)
        return _batch(tmp_path_factory.mktemp("a5_attacks"), "a5_optim", A5_ATTACKS)


CASES = [("a1", name) for name in sorted(A1_ATTACKS)] + \
    [("a5", name) for name in sorted(A5_ATTACKS)]


@pytest.mark.parametrize(("batch", "name"), CASES)
def test_the_attack_scores_nothing(request: pytest.FixtureRequest, batch: str,
                                   name: str) -> None:
    result = request.getfixturevalue(batch)["results"][name]
    assert result["score"] == 0, [t["test_id"] for t in result["tests"] if t["score"]]
    assert result["tests"], "the suite ran and recorded its tests"


@pytest.mark.parametrize(("batch", "name"), CASES)
def test_the_attack_ends_well_before_the_submission_budget(request: pytest.FixtureRequest,
                                                           batch: str, name: str) -> None:
    result = request.getfixturevalue(batch)["results"][name]
    assert result["status"] in ("ok", "timeout")
    assert result["execution_time"] < SUBMISSION_TIMEOUT_S


@pytest.mark.parametrize(("batch", "name"), CASES)
def test_results_and_feedback_files_stay_small(request: pytest.FixtureRequest, batch: str,
                                               name: str) -> None:
    folder = request.getfixturevalue(batch)["folder"] / name
    sizes = {p.name: p.stat().st_size for p in folder.iterdir() if p.is_file()}
    assert set(sizes) >= {"results.json", "feedback.md", "feedback.html"}
    assert max(sizes.values()) < MAX_FILE_BYTES, sizes


@pytest.mark.parametrize("batch", ["a1", "a5"])
def test_the_batch_has_no_grader_fault_and_grades_the_honest_student(
        request: pytest.FixtureRequest, batch: str) -> None:
    outcome = request.getfixturevalue(batch)
    assert outcome["summary"].faults == 0
    honest = outcome["results"]["zz_honest"]
    assert honest["status"] == "ok" and honest["score"] == honest["max_score"]


def test_huge_strings_arrive_truncated_with_a_marker(a1: dict) -> None:
    outputs = [t["output"] for t in a1["results"]["bloat_strings"]["tests"]]
    assert any("[truncated" in o for o in outputs)
    marker = len("...[truncated 9999999999 chars]")
    assert max(len(o) for o in outputs) <= output_caps.MAX_TEST_OUTPUT_CHARS + marker


def test_a_refused_reply_is_named_in_the_test_output(a1: dict) -> None:
    outputs = " ".join(t["output"] for t in a1["results"]["malformed_frames"]["tests"])
    assert "invalid reply" in outputs or "refuses" in outputs


def test_a_frame_over_the_size_limit_is_refused(a1: dict) -> None:
    outputs = " ".join(t["output"] for t in a1["results"]["oversized_frame"]["tests"])
    assert "exceeds the limit" in outputs


def test_endless_call_backs_fail_with_the_cap_in_the_message(a5: dict) -> None:
    outputs = " ".join(t["output"] for t in a5["results"]["callback_loop"]["tests"])
    assert f"more than {TEST_CALLBACK_CAP} times" in outputs


def test_a_worker_that_stops_reading_times_out_instead_of_blocking(a5: dict) -> None:
    outputs = " ".join(t["output"] for t in a5["results"]["callback_flood"]["tests"])
    assert "random_search: did not return within 3 s" in outputs


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        kids = children.get(todo.pop(), [])
        found += kids
        todo += kids
    return found


class _StoppedOnce(zygote.Zygote):
    """A zygote whose first instance freezes right after starting (SIGSTOP to the sandboxed
    processes; bwrap runs them in a session of their own)."""

    started = 0

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        type(self).started += 1
        if type(self).started == 1:
            for pid in _descendants(self.proc.pid):
                os.kill(pid, signal.SIGSTOP)


def test_a_zygote_that_stops_answering_is_replaced(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from grader.grading import batch

    monkeypatch.setattr(batch, "Zygote", _StoppedOnce)
    monkeypatch.setattr(zygote, "REPLY_TIMEOUT_S", 2.0)
    solution = solution_text("a1_backprop")
    summary, results, _ = _grade(tmp_path, "a1_backprop", {"a_first": solution,
                                                           "b_second": solution})
    assert summary.faults == 0
    assert _StoppedOnce.started >= 2
    for result in results.values():
        assert result["status"] == "ok" and result["score"] == result["max_score"]
