"""Inputs the trusted side handles with bounds: intake, call-backs, reports and sockets.

Each attack is a real submission in a real batch, graded through the real pipeline (one slot)
next to an honest student: the batch finishes without a grader fault, the honest student gets
full marks, the attacker gets a message saying what was wrong and no points for the trick,
and the trusted side's time and memory stay bounded.

* intake: a ``.py`` of 100,000 minus signs, a folder 1,500 levels deep, links to
  ``/proc/self/pagemap`` and to a host file (inside a folder, and as the batch entry itself);
* reports: helpers chained three deep, each returning a 500-term sum, through ``grader report``
  and ``grader similarity``;
* sandbox: ``socket()`` of every family but AF_UNIX is refused inside the worker;
* call-backs: eight call-backs per test, each carrying 100 MiB, and a call-back kept for later.

The bounds themselves (walk, planning child, cgroup v1 TCP memory) are tested without the
sandbox in tests/test_bounds.py.
"""

from __future__ import annotations

import json
import os
import resource
import time

import pytest

from grader import cli
from grader.course.config import load_config
from grader.grading import batch as batch_module
from grader.grading import proxy
from grader.grading.batch import grade_batch
from grader.grading.options import GradeOptions
from tests.conftest import solution_text, stub_text, write_config
from tests.test_bounds import DEPTH, MINUS_SIGNS, deep_folder, remove_tree

pytestmark = [pytest.mark.sandbox, pytest.mark.attacks]

# Bounds for the whole batch and for what the trusted side may add: generous against noise from
# a shared machine, far below what the attacks cost before (the pagemap link alone read 111 GiB
# in 150 s; the call-back flood took the grading child from 0.57 to 3.5 GiB, measured +0.49
# GiB now).
BATCH_SECONDS = 240
PARENT_GROWTH_MB = 200
# What a grading child may hold at once for one reply: the frame, its joined copy and the
# decoded arrays, each at most proxy.MAX_REPLY; nothing of it is kept after the call.
CALLBACK_GROWTH_MB = 3 * (proxy.MAX_REPLY >> 20)



def _chained_sums() -> str:
    """Three helpers, each a 500-term sum whose first term calls the next helper: inlined by
    similarity's normalizer, that is a syntax tree 1,500 levels deep."""
    def terms(first: str) -> str:
        return " + ".join([first] + ["0.0 * x"] * 499)

    return (solution_text("a1_backprop")
            + f"\n\ndef _h1(x):\n    return {terms('np.maximum(x, 0.0)')}\n"
            + f"\n\ndef _h2(x):\n    return {terms('_h1(x)')}\n"
            + f"\n\ndef _h3(x):\n    return {terms('_h2(x)')}\n"
            + "\n\ndef relu_forward(x):\n    return _h3(x), x\n")


SOCKETS = '''
import socket as _socket
for _family in ("AF_VSOCK", "AF_NETLINK", "AF_INET", "AF_INET6", "AF_PACKET", "AF_UNIX"):
    try:
        _socket.socket(getattr(_socket, _family), _socket.SOCK_DGRAM).close()
        print("socket", _family, "opened", flush=True)
    except OSError as _exc:
        print("socket", _family, "refused:", _exc.strerror, flush=True)
'''


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@pytest.fixture(scope="module")
def intake(tmp_path_factory: pytest.TempPathFactory) -> dict:
    tmp = tmp_path_factory.mktemp("intake_attacks")
    batch = tmp / "batch"
    batch.mkdir()
    stub = stub_text("a1_backprop")
    # Named like the module: planning parses it to tell one submission from a batch (the
    # student's id is "backprop").
    (batch / "backprop.py").write_text(MINUS_SIGNS)
    (batch / "deep_folder").mkdir()
    (batch / "deep_folder" / "backprop.py").write_text(stub)
    deep_folder(batch / "deep_folder", DEPTH)
    try:  # the tree is removed however the batch ends (rmtree cannot: too deep)
        (batch / "pagemap_link").mkdir()
        (batch / "pagemap_link" / "backprop.py").write_text(stub)
        os.symlink("/proc/self/pagemap", batch / "pagemap_link" / "weights.npy")
        outside = tmp / "host_secret.txt"
        outside.write_text("a file of the host, outside every submission\n")
        (batch / "host_link").mkdir()
        (batch / "host_link" / "backprop.py").write_text(stub)
        os.symlink(outside, batch / "host_link" / "notes.txt")
        os.symlink(outside, batch / "linked_entry.py")
        (batch / "chained_sums.py").write_text(_chained_sums())
        (batch / "sockets.py").write_text(stub + SOCKETS)
        (batch / "zz_honest.py").write_text(solution_text("a1_backprop"))
        config = write_config(tmp, "a1_backprop", call_timeout_s=5, submission_timeout_s=60,
                              memory_mb=512)
        cfg = load_config(config).assignment("a1_backprop")
        out = tmp / "out"
        opts = GradeOptions(out=out, seed=7, sandbox="bwrap", insecure=False, device="cpu",
                            workers=1, regrade=True, progress=False)
        batch_module.warm_up(cfg)  # the suite's imports (torch) are not what is measured
        before, t0 = _peak_rss_mb(), time.monotonic()
        summary = grade_batch(cfg, batch, opts)
        seconds, growth = time.monotonic() - t0, _peak_rss_mb() - before
        results = {p.parent.name: json.loads(p.read_text())
                   for p in sorted((out / "a1_backprop").glob("*/results.json"))}
        entries = json.loads((out / "a1_backprop" / "batch_entries.json").read_text())
        yield {"summary": summary, "results": results, "seconds": seconds, "growth_mb": growth,
               "config": config, "out": out, "entries": entries["entries"]}
    finally:
        remove_tree(batch)


def test_the_batch_finishes_in_bounded_time_without_a_grader_fault(intake: dict) -> None:
    assert intake["summary"].faults == 0
    assert intake["seconds"] < BATCH_SECONDS


def test_the_honest_student_is_graded_in_full(intake: dict) -> None:
    honest = intake["results"]["zz_honest"]
    assert honest["status"] == "ok" and honest["score"] == honest["max_score"]


def test_the_batch_parent_does_not_grow_while_reading_the_attacks(intake: dict) -> None:
    # Planning and hashing read every byte handed in, in a bounded child: the parent only
    # receives the plan and the digests.
    assert intake["growth_mb"] < PARENT_GROWTH_MB


def test_a_file_of_minus_signs_is_the_students_error(intake: dict) -> None:
    result = intake["results"]["backprop"]
    assert result["status"] == "submission_error" and result["score"] == 0
    assert "nested too deeply" in result["error"]


@pytest.mark.parametrize(("student", "message"), [
    ("deep_folder", "nest more than 32 deep"),
    ("pagemap_link", "contains links (weights.npy)"),
    ("host_link", "contains links (notes.txt)"),
])
def test_a_tree_beyond_the_bounds_is_refused_with_a_message(intake: dict, student: str,
                                                            message: str) -> None:
    result = intake["results"][student]
    assert result["status"] == "submission_error" and result["score"] == 0
    assert message in result["error"]


def test_a_linked_batch_entry_is_refused_without_being_read(intake: dict) -> None:
    entry = next(e for e in intake["entries"] if e["entry"] == "linked_entry.py")
    assert entry["status"] == "refused" and "symbolic link" in entry["reason"]
    assert "linked_entry" not in intake["results"]


# -- reports -----------------------------------------------------------------------------------

def test_chained_500_term_sums_are_graded_and_reported(intake: dict,
                                                       capsys: pytest.CaptureFixture) -> None:
    assert intake["results"]["chained_sums"]["status"] == "ok"
    code = cli.main(["--config", str(intake["config"]), "report", "a1_backprop", "--results",
                     str(intake["out"])])
    folder = intake["out"] / "a1_backprop"
    assert code == 0, capsys.readouterr().err
    assert "Code similarity" in (folder / "report.html").read_text()
    for student in ("zz_honest", "chained_sums", "deep_folder"):
        assert (folder / student / "feedback.md").stat().st_size > 0


def test_chained_500_term_sums_are_compared_by_grader_similarity(
        intake: dict, capsys: pytest.CaptureFixture) -> None:
    code = cli.main(["--config", str(intake["config"]), "similarity", "a1_backprop",
                     "--results", str(intake["out"])])
    assert code == 0, capsys.readouterr().err
    assert (intake["out"] / "a1_backprop" / "similarity.html").is_file()
    assert "skipped chained_sums" not in capsys.readouterr().err


# -- sandbox: socket families --------------------------------------------------------------------

@pytest.mark.parametrize("family", ["AF_VSOCK", "AF_NETLINK", "AF_INET", "AF_INET6", "AF_PACKET"])
def test_a_socket_of_any_family_but_af_unix_is_refused(intake: dict, family: str) -> None:
    printed = intake["results"]["sockets"]["output"]
    assert f"socket {family} refused" in printed, printed


def test_af_unix_sockets_still_open(intake: dict) -> None:
    assert "socket AF_UNIX opened" in intake["results"]["sockets"]["output"]


# -- call-backs -----------------------------------------------------------------------------------

CALLBACK_ATTACKS = {
    # Eight call-backs per call, each carrying 100 MiB the recorder would keep.
    "callback_100mib": '''
import numpy as _np

def random_search(objective, space, n_trials, seed):
    big = _np.ones((100 << 20) // 8)
    for _ in range(8):
        try:
            objective({name: big for name in list(space)[:1]})
        except Exception:
            pass
    return {}, 0.0
''',
    # Arrays under the byte budget: the suite's recorder keeps only scalar hyperparameters.
    "array_params": '''
import numpy as _np

def random_search(objective, space, n_trials, seed):
    return {}, objective({name: _np.ones(1000) for name in space})
''',
    # A call-back kept from an earlier call and called in a later one.
    "stale_callback": '''
_kept = []

def random_search(objective, space, n_trials, seed):
    _kept.append(objective)
    value = _kept[0]({name: 0.5 for name in space})
    return {name: 0.5 for name in space}, value
''',
}


@pytest.fixture(scope="module")
def callbacks(tmp_path_factory: pytest.TempPathFactory) -> dict:
    tmp = tmp_path_factory.mktemp("callback_attacks")
    batch = tmp / "batch"
    batch.mkdir()
    stub = stub_text("a5_optim")
    for name, attack in CALLBACK_ATTACKS.items():
        (batch / f"{name}.py").write_text(stub + "\n" + attack)
    (batch / "zz_honest.py").write_text(solution_text("a5_optim"))
    cfg = load_config(write_config(tmp, "a5_optim", call_timeout_s=20, submission_timeout_s=120,
                                   memory_mb=1024)).assignment("a5_optim")
    out, peaks = tmp / "out", tmp / "peaks"
    peaks.mkdir()
    graded = batch_module._child

    def measured(cfg, entry, *args):  # the real _child, then this grading child's peak
        code = graded(cfg, entry, *args)
        (peaks / entry.student_id).write_text(str(_peak_rss_mb()))
        return code

    opts = GradeOptions(out=out, seed=11, sandbox="bwrap", insecure=False, device="cpu",
                        workers=1, regrade=True, progress=False)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(batch_module, "_child", measured)
        t0 = time.monotonic()
        summary = grade_batch(cfg, batch, opts)
    results = {p.parent.name: json.loads(p.read_text())
               for p in sorted((out / "a5_optim").glob("*/results.json"))}
    return {"summary": summary, "results": results, "seconds": time.monotonic() - t0,
            "peak_mb": {p.name: float(p.read_text()) for p in peaks.iterdir()}}


def _outputs(result: dict) -> str:
    return " ".join(t["output"] for t in result["tests"])


def test_call_back_attacks_finish_and_the_honest_student_is_graded(callbacks: dict) -> None:
    assert callbacks["summary"].faults == 0 and callbacks["seconds"] < BATCH_SECONDS
    honest = callbacks["results"]["zz_honest"]
    assert honest["status"] == "ok" and honest["score"] == honest["max_score"]


def test_call_backs_over_the_byte_budget_fail_with_the_budget_in_the_message(
        callbacks: dict) -> None:
    result = callbacks["results"]["callback_100mib"]
    assert "MiB of arguments to the grader's functions" in _outputs(result)
    sampling = [t for t in result["tests"] if "sampl" in t["test_id"]]
    assert sampling and not any(t["score"] for t in sampling)


def test_the_grading_child_keeps_nothing_of_the_call_back_flood(callbacks: dict) -> None:
    peak = callbacks["peak_mb"]
    assert peak["callback_100mib"] - peak["zz_honest"] < CALLBACK_GROWTH_MB, peak


def test_the_recorder_refuses_what_is_not_a_hyperparameter(callbacks: dict) -> None:
    result = callbacks["results"]["array_params"]
    assert "is a ndarray; each value must be one number or one of the choices" \
        in _outputs(result)


def test_a_call_back_kept_for_a_later_call_is_refused(callbacks: dict) -> None:
    result = callbacks["results"]["stale_callback"]
    assert "valid only during the call it was passed to" in _outputs(result)
