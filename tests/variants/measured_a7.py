"""a7_conv "fast" pairs for the vectorized check: honest vectorized ones (full marks) and loops
over output positions dressed up by the tricks that defeated the old in-worker line count
(each must earn none of the 4 vectorized points). Used by tests/test_measured_verdicts.py and
benchmarks/a7_conv_speed.py (the calibration of MAX_CPU_RATIO)."""

from tests.variants.a7_conv import CORRECT
from tests.variants.mutate import Replace, Variant

VECTORIZED_TESTS = ["test_conv_forward_fast_has_no_loop_over_output_positions",
                    "test_conv_backward_fast_has_no_loop_over_output_positions"]

# The fast pair is the naive pair (loops over output positions), run by each trick.
NAIVE_AS_FAST = {
    "thread": '''
import threading


def _in_thread(fn, *args):
    box = {}
    worker = threading.Thread(target=lambda: box.update(value=fn(*args)))
    worker.start()
    worker.join()
    return box["value"]


def conv_forward_fast(x, w, b, conv_param):
    return _in_thread(conv_forward_naive, x, w, b, conv_param)


def conv_backward_fast(dout, cache):
    return _in_thread(conv_backward_naive, dout, cache)
''',
    "settrace": '''
import sys


def _untraced(fn, *args):
    tracer = sys.gettrace()
    sys.settrace(None)
    try:
        return fn(*args)
    finally:
        sys.settrace(tracer)


def conv_forward_fast(x, w, b, conv_param):
    return _untraced(conv_forward_naive, x, w, b, conv_param)


def conv_backward_fast(dout, cache):
    return _untraced(conv_backward_naive, dout, cache)
''',
    "co_filename": '''
_LOOPS = """
def forward(naive, x, w, b, conv_param):
    return naive(x, w, b, conv_param)


def backward(naive, dout, cache):
    return naive(dout, cache)
"""
_outside = {}
exec(compile(_LOOPS, "/usr/lib/python3/dist-packages/numpy/_conv_helpers.py", "exec"), _outside)
for _fn in (conv_forward_naive, conv_backward_naive):
    _fn.__code__ = _fn.__code__.replace(co_filename="/usr/lib/python3/numpy_loops.py")


def conv_forward_fast(x, w, b, conv_param):
    return _outside["forward"](conv_forward_naive, x, w, b, conv_param)


def conv_backward_fast(dout, cache):
    return _outside["backward"](conv_backward_naive, dout, cache)
''',
    "patch": '''
import importlib

for _name, _attr, _fake in (
        ("grader.worker_tasks.line_count", "count_lines", lambda module, fn, *args: 0),
        ("grader.sandbox.cpu_meter", "settled", lambda read: 0),
        ("time", "thread_time", lambda: 0.0),
        ("time", "process_time", lambda: 0.0)):
    try:
        setattr(importlib.import_module(_name), _attr, _fake)
    except Exception:
        pass


def conv_forward_fast(x, w, b, conv_param):
    return conv_forward_naive(x, w, b, conv_param)


def conv_backward_fast(dout, cache):
    return conv_backward_naive(dout, cache)
''',
    "map": '''
def conv_forward_fast(x, w, b, conv_param):
    s, p = conv_param["stride"], conv_param["pad"]
    f, _, hh, ww = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    h_out = (x.shape[2] + 2 * p - hh) // s + 1
    w_out = (x.shape[3] + 2 * p - ww) // s + 1
    out = np.zeros((x.shape[0], f, h_out, w_out))

    def one(ij):
        i, j = ij
        window = xp[:, :, i * s:i * s + hh, j * s:j * s + ww]
        for n in range(x.shape[0]):
            for k in range(f):
                out[n, k, i, j] = (window[n] * w[k]).sum() + b[k]

    list(map(one, [(i, j) for i in range(h_out) for j in range(w_out)]))
    return out, (x, w, conv_param)


def conv_backward_fast(dout, cache):
    return conv_backward_naive(dout, cache)
''',
}

# The fairness case: one tensordot per output position, driven by map (no `for` statement).
TENSORDOT_PER_POSITION = '''
def _positions(h_out, w_out):
    return [(i, j) for i in range(h_out) for j in range(w_out)]


def conv_forward_fast(x, w, b, conv_param):
    s, p = conv_param["stride"], conv_param["pad"]
    _, _, hh, ww = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    h_out = (x.shape[2] + 2 * p - hh) // s + 1
    w_out = (x.shape[3] + 2 * p - ww) // s + 1
    cols = list(map(lambda ij: np.tensordot(
        xp[:, :, ij[0] * s:ij[0] * s + hh, ij[1] * s:ij[1] * s + ww], w,
        axes=([1, 2, 3], [1, 2, 3])), _positions(h_out, w_out)))
    out = np.stack(cols, axis=-1).reshape(x.shape[0], w.shape[0], h_out, w_out)
    return out + b[None, :, None, None], (x, w, conv_param)


def conv_backward_fast(dout, cache):
    x, w, conv_param = cache
    s, p = conv_param["stride"], conv_param["pad"]
    _, _, hh, ww = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    dxp = np.zeros_like(xp)

    def one(ij):
        i, j = ij
        rows, cols = slice(i * s, i * s + hh), slice(j * s, j * s + ww)
        g = dout[:, :, i, j]
        dxp[:, :, rows, cols] += np.tensordot(g, w, axes=([1], [0]))
        return np.tensordot(g, xp[:, :, rows, cols], axes=([0], [0]))

    dw = sum(map(one, _positions(dout.shape[2], dout.shape[3])))
    h, wd = x.shape[2:]
    return dxp[:, :, p:p + h, p:p + wd], dw, dout.sum(axis=(0, 2, 3))
'''


def _as_variant(name: str, source: str) -> Variant:
    """``source`` replaces conv_backward_fast; conv_forward_fast becomes a stub it redefines
    (the helpers it needs sit above the definitions that use them)."""
    return Variant(name, [Replace("conv_forward_fast", "def conv_forward_fast():\n    pass\n"),
                          Replace("conv_backward_fast", source)], fails=VECTORIZED_TESTS)


# The same loops without any trick: what the tricks must not beat.
CONTROL = _as_variant("naive_loops_plain", '''
def conv_forward_fast(x, w, b, conv_param):
    return conv_forward_naive(x, w, b, conv_param)


def conv_backward_fast(dout, cache):
    return conv_backward_naive(dout, cache)
''')
LOOPS = [_as_variant(f"naive_loops_via_{trick}", source)
         for trick, source in NAIVE_AS_FAST.items()]
LOOPS.append(_as_variant("tensordot_per_position_via_map", TENSORDOT_PER_POSITION))

HONEST = [Variant("solution", []),
          next(v for v in CORRECT if v.name == "fast_with_index_arrays_and_add_at"),
          Variant("as_strided_and_tensordot", [
              Replace("conv_forward_fast", '''
def conv_forward_fast(x, w, b, conv_param):
    s, p = conv_param["stride"], conv_param["pad"]
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    n, c, h, wd = xp.shape
    _, _, hh, ww = w.shape
    h_out, w_out = (h - hh) // s + 1, (wd - ww) // s + 1
    st = xp.strides
    windows = np.lib.stride_tricks.as_strided(
        xp, (n, c, h_out, w_out, hh, ww), (st[0], st[1], st[2] * s, st[3] * s, st[2], st[3]),
        writeable=False)
    out = np.tensordot(windows, w, axes=([1, 4, 5], [1, 2, 3])).transpose(0, 3, 1, 2)
    return out + b[None, :, None, None], (x.shape, w, conv_param, windows)
''')])]
