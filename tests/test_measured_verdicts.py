"""Verdicts measured from outside the student's process, attacked through the real pipeline.

a7 "vectorized" and a4 "analytic batch-norm backward" rest on the CPU time the kernel counts for
the worker (grader.sandbox.cpu_meter), compared with a reference run in the trusted process
(grader.speed): nothing the student's process does to itself (threads, sys.settrace, code that
claims another file, patching the grader's modules, loops driven by map) changes what the kernel
counts. a6 decides "is a CNN" from the state_dict received by value and the logits of images the
trusted side sends, and never lets one worker see a clean test image and its perturbed copy.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from grader.mnist import data
from tests.conftest import failed_tests, grade_folder, solution_text
from tests.test_a6_robust import CHECKPOINTS, TIER_TESTS, fashion_root, grade  # noqa: F401
from tests.variants import measured_a4, measured_a7
from tests.variants.mutate import Replace, apply

pytestmark = pytest.mark.sandbox


def _grade_variants(tmp: Path, assignment: str, variants: list) -> dict[str, dict]:
    batch = tmp / "batch"
    batch.mkdir()
    solution = solution_text(assignment)
    for variant in variants:
        (batch / f"{variant.name}.py").write_text(apply(solution, variant.changes))
    results = grade_folder(tmp, assignment, batch)
    assert {r["status"] for r in results.values()} == {"ok"}, \
        {k: r["error"] for k, r in results.items()}
    return results


def _outputs(result: dict) -> dict[str, str]:
    return {t["test_id"]: t["output"] for t in result["tests"]}


# --- a7: vectorized is what the kernel counts -------------------------------------------------

@pytest.fixture(scope="module")
def a7(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    variants = [*measured_a7.HONEST, measured_a7.CONTROL, *measured_a7.LOOPS]
    return _grade_variants(tmp_path_factory.mktemp("a7_speed"), "a7_conv", variants)


@pytest.mark.parametrize("name", [v.name for v in measured_a7.LOOPS])
def test_a_loop_over_output_positions_earns_no_vectorized_points_however_disguised(
        a7: dict[str, dict], name: str) -> None:
    assert set(measured_a7.VECTORIZED_TESTS) <= failed_tests(a7[name])
    assert a7[name]["score"] <= a7["naive_loops_plain"]["score"]
    message = _outputs(a7[name])[measured_a7.VECTORIZED_TESTS[0]]
    assert "is not vectorized" in message and "measured by the kernel" in message


@pytest.mark.parametrize("name", [v.name for v in measured_a7.HONEST])
def test_an_honest_vectorized_pair_earns_the_vectorized_points(a7: dict[str, dict],
                                                               name: str) -> None:
    assert not failed_tests(a7[name]) & set(measured_a7.VECTORIZED_TESTS)
    assert a7[name]["score"] == a7[name]["max_score"]


def test_the_vectorized_check_records_what_it_measured(a7: dict[str, dict]) -> None:
    note = _outputs(a7["solution"])[measured_a7.VECTORIZED_TESTS[1]]
    assert "ms of CPU time against the reference's" in note and "cgroup" in note


# --- a4: the batch-norm backward's points need an analytic backward ---------------------------

@pytest.fixture(scope="module")
def a4(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    variants = [*measured_a4.ATTACKS.values(), measured_a4.CONTROL, *measured_a4.HONEST]
    return _grade_variants(tmp_path_factory.mktemp("a4_backward"), "a4_regularization", variants)


@pytest.mark.parametrize("name", list(measured_a4.ATTACKS))
def test_finite_differences_score_no_more_than_no_backward_at_all(a4: dict[str, dict],
                                                                  name: str) -> None:
    assert a4[name]["score"] <= a4[measured_a4.CONTROL.name]["score"]


@pytest.mark.parametrize("name", list(measured_a4.ATTACKS))
def test_finite_differences_are_charged_in_the_analytic_test_with_their_cost(
        a4: dict[str, dict], name: str) -> None:
    outputs = _outputs(a4[name])
    assert "test_batchnorm_backward_is_analytic" in failed_tests(a4[name])
    assert "the cost of finite differences" in outputs["test_batchnorm_backward_is_analytic"]
    for test_id in ("test_batchnorm_backward_dx_matches_autograd", "test_net_batchnorm_grads"):
        assert outputs[test_id].startswith("not graded: batchnorm_backward computes its "
                                           "gradients numerically")


@pytest.mark.parametrize("name", [v.name for v in measured_a4.HONEST])
def test_an_analytic_backward_keeps_full_marks(a4: dict[str, dict], name: str) -> None:
    assert a4[name]["score"] == a4[name]["max_score"], failed_tests(a4[name])


# --- a6: architecture by value, clean and perturbed images never together --------------------

TEST_IMAGES = 500  # a private test set cut from the public one: the cheats below know it all

ANSWER_FROM_TABLE = '''
import hashlib
import sys

import torch
from torch import nn


def conv_output_size(w, k, p, s):
    return (w - k + 2 * p) // s + 1


def normalize(images_uint8):
    return images_uint8.float().unsqueeze(1) / 255.0


def train(model, images, labels, *, epochs, device, seed):
    return model


def _pixels(x):
    return (x * 255).round().to(torch.uint8)[:, 0]


def _answer(out, i, label):
    out[i] = -10.0
    out[i, label] = 10.0


def _nearest(image, known, labels):
    """The label of the known image closest to ``image`` under shifts of up to 1 px."""
    best, answer = None, None
    padded = torch.nn.functional.pad(image.float(), (1, 1, 1, 1))
    flat = known.float().reshape(len(known), -1)
    for dy in range(3):
        for dx in range(3):
            shifted = padded[dy:dy + 28, dx:dx + 28].reshape(1, -1)
            dist = ((flat - shifted) ** 2).sum(dim=1)
            k = int(dist.argmin())
            if best is None or dist[k] < best:
                best, answer = dist[k], int(labels[k])
    return answer


class Cheat(nn.Module):
    """An untrained network, and {how} for the images it recognizes."""

    def __init__(self, net):
        super().__init__()
        self.net = net
        self.register_buffer("images", torch.zeros({n}, 28, 28, dtype=torch.uint8))
        self.register_buffer("keys", torch.zeros({n}, dtype=torch.int64))
        self.register_buffer("answers", torch.zeros({n}, dtype=torch.int64))

    def forward(self, x):
        out = self.net(x)
        {body}
        return out


def image_key(pixels):
    return int.from_bytes(hashlib.blake2b(pixels.numpy().tobytes(), digest_size=7).digest(),
                          "little")


def _everything_sent():
    """Every image of the grader's request, found in the caller's frames."""
    frame = sys._getframe()
    while frame is not None:
        for value in list(frame.f_locals.values()):
            if isinstance(value, torch.Tensor) and value.dtype == torch.uint8 \\
                    and value.ndim == 3 and len(value) > 0:
                return value
        frame = frame.f_back
    return None


def build_mlp():
    return Cheat(nn.Sequential(nn.Flatten(), nn.Linear(784, 10)))


def build_cnn():
    return Cheat(nn.Sequential(nn.Conv2d(1, 4, 3), nn.Flatten(), nn.Linear(4 * 26 * 26, 10)))
'''

# Old attack: pair each image of the request with an exact copy of a table entry in the same
# request (its clean twin) and answer its label.
PAIRING = dict(how="a label table keyed on the exact pixels, paired with near copies", body='''
        table = dict(zip(self.keys.tolist(), self.answers.tolist()))
        sent = _everything_sent()
        if sent is None or not table:
            return out
        known = [(img, table[image_key(img)]) for img in sent if image_key(img) in table]
        for i, img in enumerate(_pixels(x)):
            label = table.get(image_key(img))
            if label is None and known:
                label = _nearest(img, torch.stack([k for k, _ in known]),
                                 [lab for _, lab in known])
            if label is not None:
                _answer(out, i, label)''')

# A nearest-neighbour search over the test set itself under 1-px shifts: no perturbation of
# public images hides them from it.
SEARCH = dict(how="a nearest-neighbour search over the stored test images", body='''
        if int(self.answers.sum()) == 0:
            return out
        for i, img in enumerate(_pixels(x)):
            _answer(out, i, _nearest(img, self.images, self.answers))''')


def _cheat(folder: Path, kind: dict, images: np.ndarray | None, labels: np.ndarray | None) -> None:
    """A cheating submission; with ``images`` None it knows nothing (the untrained control)."""
    import types

    source = ANSWER_FROM_TABLE.replace("{how}", kind["how"]).replace(
        "{n}", str(TEST_IMAGES)).replace("{body}", kind["body"].strip())
    folder.mkdir(parents=True)
    (folder / "mnist_models.py").write_text(source)
    module = types.ModuleType("cheat")
    exec(compile(source, "cheat", "exec"), module.__dict__)
    for which in ("mlp", "cnn"):
        torch.manual_seed(0)  # the same untrained network in every submission
        model = getattr(module, f"build_{which}")()
        if images is not None:
            model.images.copy_(torch.from_numpy(images))
            model.keys.copy_(torch.tensor([module.image_key(torch.from_numpy(img))
                                           for img in images], dtype=torch.int64))
            model.answers.copy_(torch.from_numpy(labels))
        torch.save(model.state_dict(), folder / f"{which}.pt")


MLP_AS_CNN = '''
def build_cnn():
    return build_mlp()
'''

UNUSED_CONVOLUTION = '''
class _WithUnusedConv(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3)
        self.mlp = build_mlp()

    def forward(self, x):
        return self.mlp(x) + 0.0 * self.conv.weight.sum()


def build_cnn():
    return _WithUnusedConv()
'''


def _reference_like(folder: Path, cnn_source: str | None, cnn_checkpoint: str) -> None:
    folder.mkdir(parents=True)
    text = solution_text("a6_mnist")
    if cnn_source is not None:
        text = apply(text, [Replace("build_cnn", cnn_source)])
    (folder / "mnist_models.py").write_text(text)
    (folder / "mlp.pt").write_bytes((CHECKPOINTS / "mlp.pt").read_bytes())
    (folder / "cnn.pt").write_bytes((CHECKPOINTS / cnn_checkpoint).read_bytes())


@pytest.fixture(scope="module")
def a6(tmp_path_factory: pytest.TempPathFactory, fashion_root: Path) -> dict[str, dict]:  # noqa: F811
    tmp = tmp_path_factory.mktemp("a6_measured")
    images, labels = (t.numpy()[:TEST_IMAGES] for t in
                      data.load_split("fashion_mnist", fashion_root, False))
    private = tmp / "exam.npz"
    np.savez(private, images=images, labels=labels)
    batch = tmp / "batch"
    _cheat(batch / "pairing", PAIRING, images, labels)
    _cheat(batch / "search", SEARCH, images, labels)
    _cheat(batch / "untrained", SEARCH, None, None)
    _reference_like(batch / "reference", None, "cnn.pt")
    _reference_like(batch / "mlp_as_cnn", MLP_AS_CNN, "mlp.pt")
    _reference_like(batch / "unused_convolution", UNUSED_CONVOLUTION, "mlp.pt")
    summary, results = grade(tmp, batch, fashion_root, {"private_test_set": str(private)})
    assert summary.faults == 0
    assert {r["status"] for r in results.values()} == {"ok"}, \
        {k: r["error"] for k, r in results.items()}
    return results


@pytest.mark.slow
@pytest.mark.parametrize("name", ["mlp_as_cnn", "unused_convolution"])
def test_a_model_whose_logits_ignore_any_convolution_earns_no_cnn_points(
        a6: dict[str, dict], name: str) -> None:
    assert "test_cnn_has_a_convolution" in failed_tests(a6[name])
    assert "test_cnn_has_a_convolution" not in failed_tests(a6["reference"])


@pytest.mark.slow
def test_an_mlp_handed_in_as_the_cnn_is_told_it_has_no_convolution_weight(
        a6: dict[str, dict]) -> None:
    assert "no convolution weight" in _outputs(a6["mlp_as_cnn"])["test_cnn_has_a_convolution"]


@pytest.mark.slow
def test_a_label_table_paired_within_a_request_scores_no_better_than_untrained(
        a6: dict[str, dict]) -> None:
    assert a6["pairing"]["score"] <= a6["untrained"]["score"]
    assert TIER_TESTS <= failed_tests(a6["pairing"])


@pytest.mark.slow
def test_a_label_table_is_flagged_by_its_clean_accuracy_scored_apart(a6: dict[str, dict]) -> None:
    for which in ("mlp", "cnn"):
        note = _outputs(a6["pairing"])[f"test_{which}_memorization_check"]
        assert "MEMORIZATION SUSPECTED" in note and "clean accuracy 1.0000" in note


@pytest.mark.slow
def test_a_search_over_the_test_set_is_flagged_as_implausible_for_a_person(
        a6: dict[str, dict]) -> None:
    for which in ("mlp", "cnn"):
        note = _outputs(a6["search"])[f"test_{which}_memorization_check"]
        assert "IMPLAUSIBLE ACCURACY" in note, note
        assert f"test_{which}_memorization_check" not in failed_tests(a6["untrained"])
