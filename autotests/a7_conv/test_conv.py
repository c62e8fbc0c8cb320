"""Hidden tests: conv_output_size and the naive and fast convolution layers.

References are float64 torch.nn.functional.conv2d computations with autograd (torch weights
have our layout (F, C, HH, WW)). Every reference is computed from copies of the inputs made
before the student's code runs; whether inputs are modified is charged once, in
test_conv_pool_inputs.py.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
import torch.nn.functional as F

from grader.speed import CpuComparison, Run, compare_cpu
from grader.testing import assert_close, assert_true, to_numpy, to_torch


@dataclass(frozen=True)
class ConvCase:
    """One convolution problem and torch's answers for it."""

    x: np.ndarray
    w: np.ndarray
    b: np.ndarray
    conv_param: dict[str, int]
    dout: np.ndarray
    out: np.ndarray
    dx: np.ndarray
    dw: np.ndarray
    db: np.ndarray

    @property
    def inputs(self) -> dict[str, Any]:
        return {"x": self.x, "w": self.w, "b": self.b, "conv_param": self.conv_param}

    @property
    def grad_inputs(self) -> dict[str, Any]:
        return {"dout": self.dout, "x": self.x, "w": self.w}

    def what(self, name: str) -> str:
        """``name`` with the case's stride and padding, which the shapes alone do not show,
        and the conditions real code often assumes away (exact division, pad > 0, square
        kernels)."""
        stride, pad = self.conv_param["stride"], self.conv_param["pad"]
        hh, ww = self.w.shape[2:]
        notes = [f"stride {stride}", f"pad {pad}", f"output H' x W' = {self.out.shape[2]} x "
                 f"{self.out.shape[3]}"]
        if hh != ww:
            notes.append(f"non-square {hh} x {ww} kernel: HH and WW differ")
        if pad == 0:
            notes.append("pad 0: nothing to add or crop (beware slices like [pad:-pad])")
        left = [(n + 2 * pad - k) % stride for n, k in zip(self.x.shape[2:], (hh, ww),
                                                          strict=True)]
        if any(left):
            notes.append("(H + 2 pad - HH) or (W + 2 pad - WW) is not a multiple of the "
                         "stride: the rows/columns past the last full window are dropped "
                         "(floor, as torch), not an error")
        return f"{name} ({'; '.join(notes)})"


def out_size(n: int, k: int, pad: int, stride: int) -> int:
    return (n + 2 * pad - k) // stride + 1


def draw_hw(rng: np.random.Generator, kernel: tuple[int, int], stride: int, pad: int,
            low: int, high: int, *, dropped: bool | None = None,
            far_padding: bool = False) -> tuple[int, int]:
    """H, W in [low, high) whose outputs differ (H' != W', so a swap of H and W always
    shows); ``dropped`` True: both leave rows/columns past the last full window, False:
    neither does (exact division), None: either; ``far_padding``: the last window reaches
    into the bottom and the right padding (else padding only the top and left, or counting
    the padding once in the output size, gives the right answer)."""
    for _ in range(1000):
        h, w = (int(v) for v in rng.integers(low, high, size=2))
        sizes = [out_size(n, k, pad, stride) for n, k in zip((h, w), kernel, strict=True)]
        left = [(n + 2 * pad - k) % stride for n, k in zip((h, w), kernel, strict=True)]
        wanted = dropped is None or (all(left) if dropped else not any(left))
        if far_padding:
            wanted = wanted and all(r < pad for r in left)
        if sizes[0] != sizes[1] and min(sizes) >= 1 and wanted:
            return h, w
    raise AssertionError(f"no H, W in [{low}, {high}) for kernel {kernel}, stride {stride}, "
                         f"pad {pad} (a grader fault)")


def conv_case(rng: np.random.Generator, x_shape: tuple[int, int, int, int],
              w_shape: tuple[int, int, int, int], stride: int, pad: int) -> ConvCase:
    """Random x, w, b, dout of the given shapes and torch's out, dx, dw, db."""
    x, w = rng.standard_normal(x_shape), rng.standard_normal(w_shape)
    b = rng.standard_normal(w_shape[0])
    xt, wt, bt = (to_torch(a, requires_grad=True) for a in (x, w, b))
    out = F.conv2d(xt, wt, bt, stride=stride, padding=pad)
    dout = rng.standard_normal(tuple(out.shape))
    out.backward(to_torch(dout))
    return ConvCase(x, w, b, {"stride": stride, "pad": pad}, dout, to_numpy(out.detach()),
                    to_numpy(xt.grad), to_numpy(wt.grad), to_numpy(bt.grad))


def uneven_case(rng: np.random.Generator, n: int = 2) -> ConvCase:
    """Stride 3, pad 1, a 4 x 2 kernel: windows overlap along H and leave gaps along W; H' != W',
    and both end with a real row / column outside the last window (floor); C > 1, F > 1."""
    c, f = int(rng.integers(2, 4)), int(rng.integers(2, 4))
    # (h + 2 - 4) % 3 == 2 and (w + 2 - 2) % 3 == 2: two uncovered, one of them not padding;
    # H' = a and W' = b + 1 differ
    a = int(rng.integers(2, 5))
    b = int(rng.choice([v for v in (2, 3, 4) if v + 1 != a]))
    return conv_case(rng, (n, c, 3 * a + 1, 3 * b + 2), (f, c, 4, 2), stride=3, pad=1)


def exact_case(rng: np.random.Generator) -> ConvCase:
    """Pad 0, stride 2, a 3 x 2 kernel, sizes the windows tile exactly (no row or column
    dropped); H' != W'; C > 1, F > 1."""
    c, f = int(rng.integers(2, 4)), int(rng.integers(2, 4))
    h, w = draw_hw(rng, (3, 2), 2, 0, 5, 12, dropped=False)
    return conv_case(rng, (2, c, h, w), (f, c, 3, 2), stride=2, pad=0)


def random_case(rng: np.random.Generator) -> ConvCase:
    """Random stride 1-3, pad 0-2, non-square kernel and input, H' != W'."""
    hh, ww = (int(v) for v in rng.choice([1, 2, 3, 4], size=2, replace=False))
    stride, pad = int(rng.integers(1, 4)), int(rng.integers(0, 3))
    h, w = draw_hw(rng, (hh, ww), stride, pad, max(hh, ww) + 1, max(hh, ww) + 10)
    c, f = int(rng.integers(2, 4)), int(rng.integers(2, 5))
    return conv_case(rng, (int(rng.integers(2, 4)), c, h, w), (f, c, hh, ww), stride, pad)


def run_pair(student: Any, case: ConvCase, kind: str) -> tuple[Any, Any]:
    """The student's forward output and backward grads for ``kind`` 'naive' or 'fast'."""
    out, cache = getattr(student, f"conv_forward_{kind}")(case.x, case.w, case.b,
                                                           case.conv_param)
    grads = getattr(student, f"conv_backward_{kind}")(case.dout, cache)
    assert_true(isinstance(grads, (list, tuple)) and len(grads) == 3,
                f"conv_backward_{kind} must return (dx, dw, db)")
    return out, grads


def check_all(student: Any, case: ConvCase, kind: str) -> None:
    out, (dx, dw, db) = run_pair(student, case, kind)
    assert_close(out, case.out, fn=f"conv_forward_{kind}", what=case.what("out"),
                 inputs=case.inputs)
    for got, want, what in ((dx, case.dx, "dx"), (dw, case.dw, "dw"), (db, case.db, "db")):
        assert_close(got, want, fn=f"conv_backward_{kind}", what=case.what(what),
                     inputs=case.grad_inputs)


# --- conv_output_size ----------------------------------------------------------------------


@pytest.mark.points(2)
def test_conv_output_size_matches_torch(student, rng):
    """conv_output_size: floor((n + 2p - k) / s) + 1, incomplete last windows dropped"""
    cases = [(7, 3, 1, 2), (5, 5, 0, 1), (8, 3, 0, 2), (28, 5, 2, 1), (10, 4, 1, 3)]
    for _ in range(5):
        k, p, s = int(rng.integers(1, 6)), int(rng.integers(0, 3)), int(rng.integers(1, 4))
        cases.append((int(rng.integers(k, 30)), k, p, s))
    for n, k, p, s in cases:
        want = F.conv2d(to_torch(np.zeros((1, 1, n, 1))), to_torch(np.zeros((1, 1, k, 1))),
                        stride=s, padding=(p, 0)).shape[2]
        got = student.conv_output_size(n, k, p, s)
        assert_close(got, want, fn="conv_output_size", what=f"the size for n={n}, k={k}, "
                     f"p={p}, s={s}", inputs={"n": n, "k": k, "p": p, "s": s})


@pytest.mark.points(1)
def test_conv_output_size_returns_python_int(student, rng):
    """conv_output_size: returns a Python int (usable as an array shape), not a float"""
    n, k, p, s = int(rng.integers(9, 20)), 3, 1, 2
    got = student.conv_output_size(n, k, p, s)
    assert_true(isinstance(got, int) and not isinstance(got, bool),
                f"conv_output_size({n}, {k}, {p}, {s}) returned a {type(got).__name__}; "
                "return a Python int (use // for the division)")


# --- naive convolution ---------------------------------------------------------------------


@pytest.mark.points(2)
def test_conv_forward_naive_matches_torch(student, rng):
    """conv_forward_naive: stride 1, no padding, C > 1 channels and F > 1 filters plus bias"""
    c = int(rng.integers(2, 4))
    case = conv_case(rng, (2, c, *draw_hw(rng, (3, 3), 1, 0, 5, 9)),
                     (int(rng.integers(2, 5)), c, 3, 3), stride=1, pad=0)
    out, _ = student.conv_forward_naive(case.x, case.w, case.b, case.conv_param)
    assert_close(out, case.out, fn="conv_forward_naive", what=case.what("out"), inputs=case.inputs)


@pytest.mark.points(2)
def test_conv_forward_naive_stride_and_padding(student, rng):
    """conv_forward_naive: stride 2-3 and zero padding 1-2 on all four sides"""
    c = int(rng.integers(2, 4))
    stride, pad = int(rng.integers(2, 4)), int(rng.integers(1, 3))
    case = conv_case(rng, (2, c, *draw_hw(rng, (3, 3), stride, pad, 6, 15, far_padding=True)),
                     (3, c, 3, 3), stride=stride, pad=pad)
    out, _ = student.conv_forward_naive(case.x, case.w, case.b, case.conv_param)
    assert_close(out, case.out, fn="conv_forward_naive", what=case.what("out"), inputs=case.inputs)


@pytest.mark.points(2)
def test_conv_forward_naive_non_square_drops_incomplete_windows(student, rng):
    """conv_forward_naive: non-square kernel and input; rows/columns past the last full
    window are dropped (floor)"""
    case = uneven_case(rng)
    out, _ = student.conv_forward_naive(case.x, case.w, case.b, case.conv_param)
    assert_close(out, case.out, fn="conv_forward_naive", what=case.what("out"), inputs=case.inputs)


@pytest.mark.points(3)
def test_conv_backward_naive_dx_matches_autograd(student, rng):
    """conv_backward_naive: dx equals torch's (overlapping windows add up, padding cropped,
    dropped rows get 0; pad 1 and pad 0)"""
    for case in (uneven_case(rng), exact_case(rng)):
        _, (dx, _, _) = run_pair(student, case, "naive")
        assert_close(dx, case.dx, fn="conv_backward_naive", what=case.what("dx"),
                     inputs=case.grad_inputs)


@pytest.mark.points(2)
def test_conv_backward_naive_dw_matches_autograd(student, rng):
    """conv_backward_naive: dw (F, C, HH, WW) equals torch's (pad 1 and pad 0)"""
    for case in (uneven_case(rng), exact_case(rng)):
        _, (_, dw, _) = run_pair(student, case, "naive")
        assert_close(dw, case.dw, fn="conv_backward_naive", what=case.what("dw"),
                     inputs=case.grad_inputs)


@pytest.mark.points(1)
def test_conv_backward_naive_db_sums_dout(student, rng):
    """conv_backward_naive: db (F,) sums dout over the batch and every output position"""
    case = uneven_case(rng)
    _, (_, _, db) = run_pair(student, case, "naive")
    assert_close(db, case.db, fn="conv_backward_naive", what=case.what("db"),
                 inputs=case.grad_inputs)


@pytest.mark.points(1)
def test_conv_naive_batch_of_one(student, rng):
    """conv_forward_naive / conv_backward_naive: a batch of one image, a single filter, no
    padding"""
    c = int(rng.integers(2, 4))
    check_all(student, conv_case(rng, (1, c, 6, 5), (1, c, 3, 3), stride=1, pad=0), "naive")


# --- fast convolution ----------------------------------------------------------------------


@pytest.mark.points(3)
def test_conv_forward_fast_matches_torch(student, rng):
    """conv_forward_fast: random stride, padding, non-square kernels and inputs"""
    for case in (uneven_case(rng), exact_case(rng), random_case(rng)):
        out, _ = student.conv_forward_fast(case.x, case.w, case.b, case.conv_param)
        assert_close(out, case.out, fn="conv_forward_fast", what=case.what("out"),
                     inputs=case.inputs)


@pytest.mark.points(3)
def test_conv_backward_fast_dx_matches_autograd(student, rng):
    """conv_backward_fast: dx equals torch's for random stride, padding and shapes (pad 1
    and pad 0)"""
    for case in (uneven_case(rng), exact_case(rng), random_case(rng)):
        _, (dx, _, _) = run_pair(student, case, "fast")
        assert_close(dx, case.dx, fn="conv_backward_fast", what=case.what("dx"),
                     inputs=case.grad_inputs)


@pytest.mark.points(2)
def test_conv_backward_fast_dw_matches_autograd(student, rng):
    """conv_backward_fast: dw equals torch's for random stride, padding and shapes (pad 1
    and pad 0)"""
    for case in (uneven_case(rng), exact_case(rng), random_case(rng)):
        _, (_, dw, _) = run_pair(student, case, "fast")
        assert_close(dw, case.dw, fn="conv_backward_fast", what=case.what("dw"),
                     inputs=case.grad_inputs)


@pytest.mark.points(1)
def test_conv_backward_fast_db_sums_dout(student, rng):
    """conv_backward_fast: db (F,) sums dout over the batch and every output position"""
    case = random_case(rng)
    _, (_, _, db) = run_pair(student, case, "fast")
    assert_close(db, case.db, fn="conv_backward_fast", what=case.what("db"),
                 inputs=case.grad_inputs)


@pytest.mark.points(1)
def test_conv_fast_batch_of_one(student, rng):
    """conv_forward_fast / conv_backward_fast: a batch of one image and a single filter"""
    c = int(rng.integers(2, 4))
    check_all(student, conv_case(rng, (1, c, 7, 6), (1, c, 2, 3), stride=2, pad=1), "fast")


@pytest.mark.points(2)
def test_conv_fast_agrees_with_naive(student, rng):
    """conv_*_fast: out, dx, dw, db equal your naive pair's within 1e-6 relative"""
    case = random_case(rng)
    naive_out, naive_grads = run_pair(student, case, "naive")
    fast_out, fast_grads = run_pair(student, case, "fast")
    assert_close(fast_out, naive_out, fn="conv_forward_fast",
                 what=case.what("out") + ", the reference here is your conv_forward_naive's,",
                 inputs=case.inputs)
    for got, want, name in zip(fast_grads, naive_grads, ("dx", "dw", "db"), strict=True):
        assert_close(got, want, fn="conv_backward_fast",
                     what=case.what(name) + ", the reference here is your conv_backward_naive's,",
                     inputs=case.grad_inputs)


# "Vectorized" is a cost, measured from outside: the CPU time the kernel counts for the worker
# while it runs the student's function, against a reference im2col (sliding_window_view +
# einsum) on the same inputs in the trusted process (grader.speed). The shapes make a Python
# loop over output positions (8192 of them, with little work each) cost far more than the whole
# vectorized computation; a tall and a wide image. The worker's side includes receiving the
# arrays and sending the result (about 3 ms here). Calibration (docs/SECURITY.md,
# benchmarks/a7_conv_speed.py --ratios): honest vectorized variants measured 1.5x-8.7x, loops
# over positions, however they are driven (for, map, threads, a tensordot each), 67x-100x.
SPEED_SHAPES = ((1, 2, 4096, 2), (1, 2, 2, 4096))
SPEED_KERNEL = (2, 2, 2, 2)
SPEED_PARAM = {"stride": 1, "pad": 1}
SPEED_REPEATS = 3
MAX_CPU_RATIO = 25.0


def reference_forward(x: np.ndarray, w: np.ndarray, b: np.ndarray,
                      conv_param: dict[str, int]) -> tuple[np.ndarray, np.ndarray]:
    """out and the windows (N, C, H', W', HH, WW) of the padded x."""
    s, p = conv_param["stride"], conv_param["pad"]
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    cols = np.lib.stride_tricks.sliding_window_view(xp, w.shape[2:], axis=(2, 3))[:, :, ::s, ::s]
    out = np.einsum("nchwkl,fckl->nfhw", cols, w, optimize=True) + b[None, :, None, None]
    return out, cols


def reference_backward(dout: np.ndarray, x: np.ndarray, w: np.ndarray,
                       conv_param: dict[str, int]) -> tuple[np.ndarray, ...]:
    s, p = conv_param["stride"], conv_param["pad"]
    _, cols = reference_forward(x, w, np.zeros(w.shape[0]), conv_param)
    h_out, w_out = dout.shape[2:]
    dw = np.einsum("nfhw,nchwkl->fckl", dout, cols, optimize=True)
    dcols = np.einsum("nfhw,fckl->nchwkl", dout, w, optimize=True)
    dxp = np.zeros((x.shape[0], x.shape[1], x.shape[2] + 2 * p, x.shape[3] + 2 * p))
    for k in range(w.shape[2]):
        for m in range(w.shape[3]):
            dxp[:, :, k:k + s * h_out:s, m:m + s * w_out:s] += dcols[..., k, m]
    return dxp[:, :, p:p + x.shape[2], p:p + x.shape[3]], dw, dout.sum(axis=(0, 2, 3))


def speed_inputs(rng: np.random.Generator, shape: tuple[int, ...]) -> tuple[np.ndarray, ...]:
    x, w = rng.standard_normal(shape), rng.standard_normal(SPEED_KERNEL)
    return x, w, rng.standard_normal(SPEED_KERNEL[0])


def loop_message(fn: str, shape: tuple[int, ...], measured: CpuComparison) -> str:
    return (f"{fn} is not vectorized: for x {shape}, w {SPEED_KERNEL}, stride 1, pad 1 "
            f"({shape[2] + 1} x {shape[3] + 1} output positions) it took {measured.describe()}, "
            f"over the {MAX_CPU_RATIO:g}x allowed. A Python loop over output positions (for, "
            "map, a comprehension, threads) costs this much however it is written. Build all "
            "windows at once (im2col with np.lib.stride_tricks.sliding_window_view or fancy "
            "indexing) and contract them with w; a loop over the kernel offsets (HH x WW) is "
            "fine.")


def check_speed(fn: str, measured: dict[tuple[int, ...], CpuComparison],
                record_property: Callable[[str, object], None]) -> None:
    record_property("output", "; ".join(f"x {shape}: {m.describe()}"
                                        for shape, m in measured.items()))
    for shape, m in measured.items():
        assert_true(m.ratio <= MAX_CPU_RATIO, loop_message(fn, shape, m))


def check_value(fn: str, what: str, inputs: dict) -> Callable[[Any, Any], None]:
    def check(got: Any, want: Any) -> None:
        assert_close(got, want, fn=fn, what=f"{what} (stride 1, pad 1; the speed check "
                     "needs a correct result)", inputs=inputs)
    return check


@pytest.mark.points(2)
def test_conv_forward_fast_has_no_loop_over_output_positions(student, rng, record_property):
    """conv_forward_fast: vectorized, its CPU time stays within a few times a reference
    im2col's (no Python loop over output positions)"""
    measured = {}
    for shape in SPEED_SHAPES:
        runs = []
        for _ in range(SPEED_REPEATS):
            x, w, b = speed_inputs(rng, shape)
            runs.append(Run(
                lambda x=x, w=w, b=b: student.conv_forward_fast(x, w, b, SPEED_PARAM)[0],
                lambda x=x, w=w, b=b: reference_forward(x, w, b, SPEED_PARAM)[0],
                check_value("conv_forward_fast", "out",
                            {"x": x, "w": w, "b": b, "conv_param": SPEED_PARAM})))
        measured[shape] = compare_cpu(student, runs)
    check_speed("conv_forward_fast", measured, record_property)


@pytest.mark.points(2)
def test_conv_backward_fast_has_no_loop_over_output_positions(student, rng, record_property):
    """conv_backward_fast: vectorized, its CPU time stays within a few times a reference
    im2col's (no Python loop over output positions)"""
    measured = {}
    for shape in SPEED_SHAPES:
        runs = []
        x, w, b = speed_inputs(rng, shape)
        _, cache = student.conv_forward_fast(x, w, b, SPEED_PARAM)
        for _ in range(SPEED_REPEATS):  # a fresh dout each time: no answer to remember
            dout = rng.standard_normal((shape[0], SPEED_KERNEL[0], shape[2] + 1, shape[3] + 1))
            runs.append(Run(
                lambda dout=dout, cache=cache: student.conv_backward_fast(dout, cache),
                lambda dout=dout, x=x, w=w: reference_backward(dout, x, w, SPEED_PARAM),
                check_value("conv_backward_fast", "(dx, dw, db)",
                            {"dout": dout, "x": x, "w": w})))
        measured[shape] = compare_cpu(student, runs)
    check_speed("conv_backward_fast", measured, record_property)
