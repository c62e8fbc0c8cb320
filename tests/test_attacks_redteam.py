"""The third red team's attacks, each a real submission graded through the real pipeline.

Variations a determined student would write on the classes of issue 15, after the first fixes:

* a reply whose JSON header is millions of empty lists (``[[]] * 3_000_000``): each ``[]`` is
  two bytes on the wire and a 56-byte list once parsed, so the trusted process swelled twentyfold
  (21 million of them: 3.4 GB and four and a half minutes for one a0 submission). The proxy now
  estimates what parsing a reply's header would build, from its punctuation, and refuses it
  over a bound (grader.sandbox.wire.parsed_bytes);
* a6 in retrain mode: a ``train`` that stops the worker's clock (``time.perf_counter`` patched)
  trained past the time budget unnoticed, because the budget was checked in the worker. The
  suite now times the call on the trusted side (autotests/a6_mnist/conftest.py);
* a6 in retrain mode: a ``build_mlp()`` whose ``state_dict()`` shows only its last layer counts
  under any parameter limit, and was scored as the model the training worker kept, fully
  trained. The trained state is now scored in a fresh worker, loaded into a fresh build (and
  the training worker sees no test image);
* a7: the naive loops run in a forked child process, the result piped back: the slot's cgroup
  counts the child's CPU time, so it earns no "vectorized" points (this held; kept as a guard);
* intake: a batch entry whose name is not UTF-8 (byte 0xff and a newline) stopped the whole
  batch when batch_entries.json was written, and, when its safe name collided with another
  student's, when the planning child hashed it as UTF-8; the store now writes such a name as
  its escape, and names are hashed as their bytes.

Each attack scores no more than the same code without the trick, the honest student is graded
in full, and the trusted side's memory stays bounded.
"""

from __future__ import annotations

import json
import os
import resource
import tracemalloc
from pathlib import Path

import pytest

from grader.course.config import load_config
from grader.grading import batch as batch_module
from grader.grading.batch import grade_batch
from grader.grading.options import GradeOptions
from grader.sandbox import wire
from tests.conftest import failed_tests, grade_folder, solution_text, write_config
from tests.test_a6_robust import fashion_root, grade  # noqa: F401
from tests.variants import measured_a7

pytestmark = [pytest.mark.sandbox, pytest.mark.attacks]

# --- wire replies that swell the trusted side ---------------------------------------------------

LISTS = 3_000_000  # about 290 MB to parse, over proxy.MAX_REPLY_PARSED (6 MB of JSON)
# What the grading child of the attack may hold beyond the honest student's: far below the
# ~340 MB that parsing and rebuilding 3 million lists took before (and 3.4 GB for 21 million).
GROWTH_MB = 150


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@pytest.fixture(scope="module")
def lists(tmp_path_factory: pytest.TempPathFactory) -> dict:
    tmp = tmp_path_factory.mktemp("reply_lists")
    batch = tmp / "batch"
    batch.mkdir()
    solution = solution_text("a0_perceptron")
    (batch / "empty_lists.py").write_text(
        solution + f"\n\ndef step(z):\n    return [[]] * {LISTS}\n")
    (batch / "one_list.py").write_text(solution + "\n\ndef step(z):\n    return [[]]\n")
    (batch / "zz_honest.py").write_text(solution)
    cfg = load_config(write_config(tmp, "a0_perceptron")).assignment("a0_perceptron")
    peaks = tmp / "peaks"
    peaks.mkdir()
    graded = batch_module._child

    def measured(cfg, entry, *args):  # the real _child, then this grading child's peak
        code = graded(cfg, entry, *args)
        (peaks / entry.student_id).write_text(str(_peak_rss_mb()))
        return code

    opts = GradeOptions(out=tmp / "out", seed=3, sandbox="bwrap", insecure=False, device="cpu",
                        workers=1, regrade=True, progress=False)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(batch_module, "_child", measured)
        summary = grade_batch(cfg, batch, opts)
    results = {p.parent.name: json.loads(p.read_text())
               for p in sorted((tmp / "out" / "a0_perceptron").glob("*/results.json"))}
    return {"summary": summary, "results": results,
            "peak_mb": {p.name: float(p.read_text()) for p in peaks.iterdir()}}


def test_millions_of_empty_lists_score_no_more_than_one(lists: dict) -> None:
    results = lists["results"]
    assert lists["summary"].faults == 0
    assert results["empty_lists"]["status"] == "ok"
    assert results["empty_lists"]["score"] <= results["one_list"]["score"]
    honest = results["zz_honest"]
    assert honest["status"] == "ok" and honest["score"] == honest["max_score"]


def test_a_reply_of_millions_of_lists_is_refused_with_the_reason(lists: dict) -> None:
    outputs = " ".join(t["output"] for t in lists["results"]["empty_lists"]["tests"])
    assert "MiB to read, over the limit of" in outputs


def test_the_grading_child_does_not_swell_parsing_a_reply(lists: dict) -> None:
    peak = lists["peak_mb"]
    assert peak["empty_lists"] - peak["zz_honest"] < GROWTH_MB, peak


# --- a6: the training budget is the trusted side's clock ------------------------------------------

BUDGET_S = 30
OVERRUN_S = BUDGET_S + 10  # stands for training on past the budget
# A train() past the budget; with STOP_CLOCK it also freezes the clock the worker's own check
# reads, at the moment train() began.
OVERRUN = f'''
import time as _time

_train = train


def train(model, images, labels, **kwargs):
    began = _time.perf_counter()
    _time.sleep({OVERRUN_S})
    trained = _train(model, images, labels, **kwargs)
    if STOP_CLOCK:
        _time.perf_counter = lambda: began
    return trained
'''
# build_mlp() whose state_dict() shows only its last layer (so it counts under any parameter
# limit) and whose load_state_dict() accepts that: before, the graded logits came from the
# fully trained model kept in the training worker.
HIDDEN = '''
class _LastLayerOnly(nn.Module):
    def __init__(self, inner):
        super().__init__()
        self.inner = inner

    def forward(self, x):
        return self.inner(x)

    def state_dict(self, *args, **kwargs):
        full = super().state_dict(*args, **kwargs)
        return type(full)((k, full[k]) for k in list(full)[-2:])

    def load_state_dict(self, state, strict=True, **kwargs):
        return super().load_state_dict(state, strict=False, **kwargs)


_build_mlp = build_mlp


def build_mlp():
    return _LastLayerOnly(_build_mlp())
'''
# Under the MLP limit only with its hidden layers uncounted (the solution's MLP is far larger).
MLP_LIMIT = 5000
RETRAIN = {"mode": "retrain", "partial_credit_floor": 0.3,
           "max_params": {"mlp": MLP_LIMIT, "cnn": 1_000_000},
           "retrain": {"epochs": 1, "train_subset": 3000, "time_budget_s": BUDGET_S,
                       "thresholds": {"fashion_mnist": {"mlp": 0.6, "cnn": 0.6}}}}
ACCURACY_TESTS = {f"test_{m}_accuracy_tier_{k}" for m in ("mlp", "cnn") for k in range(1, 5)}


@pytest.fixture(scope="module")
def budget(tmp_path_factory: pytest.TempPathFactory, fashion_root: Path  # noqa: F811
           ) -> dict[str, dict]:
    tmp = tmp_path_factory.mktemp("a6_budget")
    solution = solution_text("a6_mnist")
    for name, body in (("clock_stopped", f"{solution}\nSTOP_CLOCK = True\n{OVERRUN}"),
                       ("overrun", f"{solution}\nSTOP_CLOCK = False\n{OVERRUN}"),
                       ("hidden_layers", f"{solution}\n{HIDDEN}"),
                       ("zz_honest", solution)):
        folder = tmp / "batch" / name
        folder.mkdir(parents=True)
        (folder / "mnist_models.py").write_text(body)
    summary, results = grade(tmp, tmp / "batch", fashion_root, RETRAIN)
    assert summary.faults == 0
    return results


def test_stopping_the_workers_clock_trains_no_longer_than_the_budget(budget: dict) -> None:
    attack = budget["clock_stopped"]
    assert ACCURACY_TESTS <= failed_tests(attack)
    assert attack["score"] <= budget["overrun"]["score"]
    message = {t["test_id"]: t["output"] for t in attack["tests"]}["test_mlp_accuracy_tier_1"]
    assert "by the grader's clock" in message and f"{BUDGET_S} s budget" in message


def test_layers_hidden_from_the_state_dict_are_not_scored_trained(budget: dict) -> None:
    attack, same_without = budget["hidden_layers"], budget["zz_honest"]
    assert "test_mlp_within_parameter_limit" in failed_tests(same_without)
    assert {f"test_mlp_accuracy_tier_{k}" for k in range(1, 5)} <= failed_tests(attack)
    assert attack["score"] <= same_without["score"]


def test_an_honest_train_within_the_budget_keeps_its_accuracy_points(budget: dict) -> None:
    honest = budget["zz_honest"]
    assert honest["status"] == "ok" and not ACCURACY_TESTS & failed_tests(honest), \
        {t["test_id"]: t["output"] for t in honest["tests"] if t["status"] != "passed"}


# --- a7: loops in a forked child are the slot's CPU time ------------------------------------------

FORKED = '''
import os as _os
import pickle as _pickle


def _in_child(fn, *args):
    r, w = _os.pipe()
    pid = _os.fork()
    if pid == 0:
        _os.close(r)
        data = _pickle.dumps(fn(*args))
        view = memoryview(data)
        while view:
            view = view[_os.write(w, view):]
        _os._exit(0)
    _os.close(w)
    chunks = []
    while chunk := _os.read(r, 1 << 20):
        chunks.append(chunk)
    _os.close(r)
    _os.waitpid(pid, 0)
    return _pickle.loads(b"".join(chunks))


def conv_forward_fast(x, w, b, conv_param):
    return _in_child(conv_forward_naive, x, w, b, conv_param)


def conv_backward_fast(dout, cache):
    return _in_child(conv_backward_naive, dout, cache)
'''


@pytest.fixture(scope="module")
def a7(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    tmp = tmp_path_factory.mktemp("a7_forked")
    batch = tmp / "batch"
    batch.mkdir()
    solution = solution_text("a7_conv")
    (batch / "forked.py").write_text(f"{solution}\n{FORKED}")
    results = grade_folder(tmp, "a7_conv", batch)
    assert results["forked"]["status"] == "ok", results["forked"]["error"]
    return results


def test_loops_in_a_forked_child_earn_no_vectorized_points(a7: dict[str, dict]) -> None:
    forked = a7["forked"]
    assert set(measured_a7.VECTORIZED_TESTS) <= failed_tests(forked)
    assert forked["score"] <= forked["max_score"] - 4


# --- intake: file names that are not UTF-8 ------------------------------------------------------

def test_a_batch_entry_named_with_non_utf8_bytes_is_graded_with_the_rest(tmp_path: Path) -> None:
    # Before: batch_entries.json could not be written (a lone surrogate in its path) and the
    # whole batch stopped before anyone was graded.
    batch = tmp_path / "batch"
    solution = solution_text("a0_perceptron")
    for name in (b"\xff\nbob", b"alice"):
        folder = os.path.join(os.fsencode(batch), name)
        os.makedirs(folder)
        with open(os.path.join(folder, b"perceptron.py"), "w") as fh:
            fh.write(solution)
        with open(os.path.join(folder, b"\xfe\x1b[31m.py"), "w") as fh:
            fh.write("x = 1\n")
    results = grade_folder(tmp_path, "a0_perceptron", batch)
    assert len(results) == 2
    assert all(r["status"] == "ok" and r["score"] == r["max_score"] for r in results.values())
    entries = json.loads((tmp_path / "out" / "a0_perceptron" / "batch_entries.json").read_text())
    assert len(entries["entries"]) == 2


def test_a_non_utf8_name_that_collides_with_another_student_is_graded_apart(
        tmp_path: Path) -> None:
    # b"\xff\nbob" and "_bob" make the same safe folder name; before, telling them apart hashed
    # the name as UTF-8 and the planning child died: nobody in the batch was graded.
    batch = tmp_path / "batch"
    solution = solution_text("a0_perceptron")
    for name in (b"_bob", b"\xff\nbob", b"\nbob"):
        folder = os.path.join(os.fsencode(batch), name)
        os.makedirs(folder)
        with open(os.path.join(folder, b"perceptron.py"), "w") as fh:
            fh.write(solution)
    results = grade_folder(tmp_path, "a0_perceptron", batch)
    assert len(results) == 3
    assert all(r["status"] == "ok" and r["score"] == r["max_score"] for r in results.values())


@pytest.mark.parametrize("value", [
    [[]], [["ab"]], [{"$h": 1, "type": "object", "callable": False}], [0.123456789],
    [123456789012], ["ab"], [{"$d": [["a", 1]]}], [{"$t": []}], [{"a": "bcd"}]],
    ids=["lists", "lists_of_strings", "handles", "floats", "ints", "strings", "dicts", "tuples",
         "dicts_of_strings"])
def test_the_estimate_of_a_reply_is_never_below_what_parsing_builds(value: list) -> None:
    header = json.dumps(value * 100_000, separators=(",", ":")).encode()
    tracemalloc.start()
    try:
        tree = json.loads(header)
        built = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    del tree
    assert wire.parsed_bytes(header) >= built
