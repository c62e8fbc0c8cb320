"""Comparison helpers for hidden tests: failures say what a student can act on.

A message names the function, describes the inputs by shape and dtype, and reports the max
absolute and relative error with the worst element's index and its got/expected pair. It never
prints the expected array in full.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from grader.grading.proxy import is_handle, type_name


def _as_numpy(x: Any) -> Any:
    if type(x).__module__.startswith("torch"):
        return x.detach().cpu().numpy()
    return x


def to_numpy(x: Any) -> np.ndarray:
    """A float64 numpy copy of an array, tensor or number."""
    return np.array(_as_numpy(x), dtype=np.float64)


def to_torch(x: Any, requires_grad: bool = False) -> Any:
    """A float64 torch tensor copy of ``x`` (``requires_grad`` for autograd references)."""
    import torch

    return torch.tensor(to_numpy(x), dtype=torch.float64, requires_grad=requires_grad)


def describe(value: Any) -> str:
    """Shape/dtype description of one value, as shown in messages."""
    value = _as_numpy(value)
    if isinstance(value, np.ndarray):
        return f"{tuple(value.shape)} {value.dtype}"
    if isinstance(value, (list, tuple)):
        inner = ", ".join(describe(v) for v in value[:4])
        more = ", ..." if len(value) > 4 else ""
        return f"{type(value).__name__} of {len(value)} [{inner}{more}]"
    if isinstance(value, dict):
        return "dict with keys " + ", ".join(map(str, list(value)[:8]))
    if isinstance(value, (int, float, np.floating)):
        return type(value).__name__
    return type_name(value)


def _call(fn: str, inputs: dict | None) -> str:
    if not inputs:
        return f"{fn}()"
    return f"{fn}(" + ", ".join(f"{k}: {describe(v)}" for k, v in inputs.items()) + ")"


def _fail(fn: str, what: str, inputs: dict | None, problem: str) -> None:
    raise AssertionError(f"{_call(fn, inputs)}: {what} {problem}")


def assert_close(got: Any, expected: Any, *, fn: str, what: str = "output",
                 inputs: dict | None = None, rtol: float = 1e-6, atol: float = 1e-8) -> None:
    """``got`` (the student's) equals ``expected`` within ``atol + rtol*|expected|``."""
    expected = _as_numpy(expected)
    got = _as_numpy(got)
    if isinstance(expected, (list, tuple)):
        if not isinstance(got, (list, tuple)) or len(got) != len(expected):
            _fail(fn, what, inputs, f"should be a {type(expected).__name__} of "
                  f"{len(expected)} items, got {describe(got)}")
        for i, (g, e) in enumerate(zip(got, expected, strict=True)):
            assert_close(g, e, fn=fn, what=f"{what}[{i}]", inputs=inputs, rtol=rtol, atol=atol)
        return
    if is_handle(got) or isinstance(got, (str, bytes, dict, list, tuple)) or got is None:
        _fail(fn, what, inputs, f"should be {'an array' if np.ndim(expected) else 'a number'}"
              f" of shape {np.shape(expected)}, got {describe(got)}")
    exp = np.asarray(expected, dtype=np.float64)
    arr = np.asarray(got)
    if arr.dtype.kind not in "biuf":
        _fail(fn, what, inputs, f"has dtype {arr.dtype}, expected a real number type")
    if exp.ndim > 0 and arr.shape != exp.shape:
        _fail(fn, what, inputs, f"has shape {arr.shape}, expected {exp.shape}")
    if exp.ndim == 0 and arr.size != 1:
        _fail(fn, what, inputs, f"should be a single number, got shape {arr.shape}")
    got_dtype = arr.dtype
    low_precision = got_dtype.kind == "f" and got_dtype.itemsize < 8
    arr = arr.astype(np.float64).reshape(exp.shape)
    bad_nan = np.isnan(arr) & ~np.isnan(exp)
    if bad_nan.any():
        idx = _index(np.argmax(bad_nan), exp.shape)
        _fail(fn, what, inputs, f"contains NaN ({int(bad_nan.sum())} of {arr.size} elements, "
              f"first at index {idx}): look for overflow, log(0) or 0/0")
    both_nan = np.isnan(arr) & np.isnan(exp)
    err = np.where(both_nan, 0.0, np.abs(arr - exp))
    err = np.where(np.isinf(exp) & (arr == exp), 0.0, err)
    tol = atol + rtol * np.abs(exp)
    bad = ~(err <= tol)
    if bad.any():
        worst = int(np.argmax(np.where(bad, err / np.maximum(tol, 1e-300), -1.0)))
        idx = _index(worst, exp.shape)
        where = f" at index {idx}" if exp.ndim else ""
        # Relative error only means something where the reference is not ~0.
        nonzero = bad & (np.abs(exp) > atol)
        if nonzero.any():
            rel = f"max rel error {np.max(err[nonzero] / np.abs(exp[nonzero])):.3g}"
        else:
            rel = "the expected values there are 0, so any nonzero output is wrong"
        expected_text = "0 (exactly)" if exp.flat[worst] == 0 else f"{exp.flat[worst]:.8g}"
        _fail(fn, what, inputs,
              f"differs from the reference: {int(bad.sum())} of {arr.size} elements out of "
              f"tolerance (atol={atol:g}, rtol={rtol:g}); max abs error {np.max(err):.3g}, "
              f"{rel}; worst{where}: got {arr.flat[worst]:.8g}, expected {expected_text}"
              f"{_inputs_at(inputs, exp.shape, idx)}"
              + (f" (your result has dtype {got_dtype}: the assignment computes in float64)"
                 if low_precision else ""))


def _inputs_at(inputs: dict | None, shape: tuple, idx: Any) -> str:
    """The inputs' values at the worst index, for the inputs shaped like the output."""
    if not inputs or not shape:
        return ""
    found = []
    for name, value in inputs.items():
        value = _as_numpy(value)
        if isinstance(value, np.ndarray) and value.shape == shape and value.dtype.kind in "biuf":
            found.append(f"{name}[{', '.join(map(str, idx))}] = {value[idx]:.8g}")
    return f", where {', '.join(found)}" if found else ""


def _index(flat: int, shape: tuple) -> tuple | int:
    return tuple(int(i) for i in np.unravel_index(flat, shape)) if shape else flat


def assert_unchanged(before: Any, after: Any, *, fn: str, arg: str) -> None:
    """The student's ``fn`` must not modify argument ``arg`` in place."""
    b, a = np.asarray(_as_numpy(before)), np.asarray(_as_numpy(after))
    if b.shape != a.shape or not np.array_equal(b, a, equal_nan=True):
        changed = int(np.sum(b != a)) if b.shape == a.shape else b.size
        raise AssertionError(f"{fn} modified its input {arg!r} in place ({changed} of {b.size} "
                             "elements changed): compute into a new array instead")


def assert_inputs_unchanged(student: Any, *, fn: str, inputs: dict[str, Any]) -> None:
    """The last call, ``fn`` with ``inputs`` (name -> value, in positional order), changed none
    of those arguments in place (arguments not named in ``inputs`` are not checked).

    Reads ``student.last_mutations()``, which the trusted side found by comparing the shared
    memory the arrays were passed in with the test's own arrays (grader.sandbox.arena): the
    test's objects are never changed by the student (only declared in/out parameters are
    copied back), so they still hold the inputs.
    """
    names = list(inputs)
    for mutation in student.last_mutations():
        arg = mutation.arg
        name = names[arg] if isinstance(arg, int) and arg < len(names) else arg
        if name not in inputs:
            continue  # not an input this check covers (e.g. the student's own cache)
        original = inputs[name]
        if isinstance(original, (list, tuple)) and isinstance(mutation.value, (list, tuple)) \
                and len(original) == len(mutation.value):
            for i, (b, a) in enumerate(zip(original, mutation.value, strict=True)):
                assert_unchanged(b, a, fn=fn, arg=f"{name}[{i}]")
        elif isinstance(original, dict) and isinstance(mutation.value, dict):
            keys = [k for k in {**original, **mutation.value}
                    if k not in original or k not in mutation.value
                    or not _same(original[k], mutation.value[k])]
            raise AssertionError(f"{fn} changed the dict {name!r} in place (keys "
                                 f"{', '.join(map(repr, keys[:6]))}): read it, do not write it")
        else:
            assert_unchanged(original, mutation.value, fn=fn, arg=name)


def _same(a: Any, b: Any) -> bool:
    try:
        return bool(np.array_equal(np.asarray(a), np.asarray(b), equal_nan=True))
    except TypeError:  # strings and other values without NaN
        return bool(np.array_equal(np.asarray(a), np.asarray(b)))


def assert_dtype(got: Any, *, fn: str, what: str = "output", dtype: Any = np.float64) -> None:
    """``got`` is an array of ``dtype`` (the contract's), e.g. float64 rather than float32."""
    got = _as_numpy(got)
    if not isinstance(got, np.ndarray):
        raise AssertionError(f"{fn}: {what} should be a numpy array of {np.dtype(dtype)}, got "
                             f"{describe(got)}")
    if got.dtype != np.dtype(dtype):
        raise AssertionError(f"{fn}: {what} has dtype {got.dtype}, the assignment asks for "
                             f"{np.dtype(dtype)} (check np.zeros/np.array/astype calls that set "
                             "or lose the dtype)")


def assert_true(condition: Any, message: str) -> None:
    """A property check with a message written for the student."""
    if not bool(condition):
        raise AssertionError(message)

