"""Wire format between the trusted grader and the sandboxed worker.

A frame is ``!I`` header length, a UTF-8 JSON header, ``!I`` buffer count, then each buffer as
``!Q`` length + bytes. The JSON header is a tree of plain values in which everything JSON
cannot say natively is a one-key tagged object:

==================  =============================================================
``{"$t": [...]}``   tuple
``{"$d": [[k, v]]}``  dict (keys: str or int)
``{"$f": "nan"}``   non-finite float (``nan``, ``inf``, ``-inf``)
``{"$c": [re, im]}``  complex
``{"$b": i}``       bytes, buffer i
``{"$a": i, "dtype": "<f8", "shape": [..], "tensor": false}``  numpy array / torch tensor
``{"$h": id, "type": "Value", "callable": false}``  handle to an object kept in the worker
``{"$cb": id}``     call-back to a callable kept on the trusted side
``{"$rng": "PCG64", "state": {..}}``  numpy.random.Generator, rebuilt from its state
``{"$s": offset, "dtype": "<f8", "shape": [..], "tensor": false, "span": n}``  array argument
                    in the call's shared arena (grader.sandbox.arena), trusted side to worker only
==================  =============================================================

Decoding never unpickles or evaluates anything: arrays are rebuilt from raw bytes with an
allow-listed dtype (bool, ints, floats, complex), so object arrays and ndarray subclasses
cannot cross. Handles and call-backs are resolved by the caller through ``on_ref``, shared
arrays through ``on_shared``.
"""

from __future__ import annotations

import json
import math
import os
import select
import struct
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

MAX_HEADER = 64 << 20
MAX_BUFFER = 2 << 30
MAX_DEPTH = 64
_ALLOWED_KINDS = frozenset("biufc")
_BIT_GENERATORS = frozenset({"PCG64", "PCG64DXSM", "MT19937", "Philox", "SFC64"})



def _torch() -> Any:
    """torch if something already imported it: the wire never imports it (a numpy-only
    worker cannot, and importing it would cost a second per worker start)."""
    return sys.modules.get("torch")


def truncate(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, with a marker saying how many were cut."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}...[truncated {len(text) - limit} chars]"


class WireError(ValueError):
    """A value that may not cross the boundary, or a malformed frame."""


class Ref:
    """A tagged reference found while decoding: ``kind`` is ``"$h"`` or ``"$cb"``."""

    __slots__ = ("callable", "id", "kind", "type")

    def __init__(self, kind: str, id: int, type: str = "", callable: bool = False) -> None:
        self.kind, self.id, self.type, self.callable = kind, id, type, callable


@dataclass
class SharedArray:
    """An array argument that lives in the call's shared arena: sent as where it is (an
    offset), not as what it holds. ``span`` is how much of the arena the call's arrays use
    together (the worker maps that much once per call)."""

    offset: int
    dtype: str
    shape: tuple[int, ...]
    tensor: bool
    span: int = 0


def check_dtype(dtype: np.dtype) -> None:
    if dtype.kind not in _ALLOWED_KINDS or dtype.fields is not None or dtype.subdtype is not None:
        raise WireError(f"arrays of dtype {dtype} cannot cross the sandbox boundary")


def encode(obj: Any, fallback: Callable[[Any], dict] | None = None) -> bytes:
    """Serialize ``obj``; ``fallback(obj)`` must return a tag dict for anything not plain."""
    buffers: list[bytes] = []

    def enc(x: Any, depth: int) -> Any:
        if depth > MAX_DEPTH:
            raise WireError("value nested too deeply")
        if x is None or isinstance(x, (bool, str)):
            return x
        if isinstance(x, int):
            return int(x)
        if isinstance(x, float):
            return float(x) if math.isfinite(x) else {"$f": repr(float(x))}
        if isinstance(x, complex):
            return {"$c": [enc(x.real, depth + 1), enc(x.imag, depth + 1)]}
        if isinstance(x, np.generic) and x.dtype.kind in _ALLOWED_KINDS:
            return enc(x.item(), depth)
        if isinstance(x, SharedArray):
            return {"$s": x.offset, "dtype": x.dtype, "shape": list(x.shape),
                    "tensor": x.tensor, "span": x.span}
        if isinstance(x, (bytes, bytearray)):
            buffers.append(bytes(x))
            return {"$b": len(buffers) - 1}
        torch = _torch()
        if isinstance(x, np.random.Generator):
            name = type(x.bit_generator).__name__
            if name not in _BIT_GENERATORS:
                raise WireError(f"a Generator over {name} cannot cross the sandbox boundary")
            return {"$rng": name, "state": enc(x.bit_generator.state, depth + 1)}
        is_tensor = torch is not None and isinstance(x, torch.Tensor)
        if is_tensor:
            x = x.detach().cpu().resolve_conj().resolve_neg().numpy()
        if isinstance(x, np.ndarray):
            # np.array(...) drops any subclass and makes the layout C-contiguous.
            arr = np.array(x, copy=True, order="C", subok=False)
            check_dtype(arr.dtype)
            buffers.append(arr.tobytes())
            return {"$a": len(buffers) - 1, "dtype": arr.dtype.str, "shape": list(arr.shape),
                    "tensor": is_tensor}
        if type(x) is tuple:
            return {"$t": [enc(v, depth + 1) for v in x]}
        if type(x) is list:
            return [enc(v, depth + 1) for v in x]
        if type(x) is dict:
            if not all(type(k) in (str, int) for k in x):
                raise WireError("dict keys must be str or int to cross the sandbox boundary")
            return {"$d": [[k, enc(v, depth + 1)] for k, v in x.items()]}
        if fallback is None:
            raise WireError(f"a {type(x).__name__} cannot cross the sandbox boundary")
        return fallback(x)

    header = json.dumps(enc(obj, 0), allow_nan=False, separators=(",", ":")).encode()
    parts = [struct.pack("!I", len(header)), header, struct.pack("!I", len(buffers))]
    for buf in buffers:
        parts += [struct.pack("!Q", len(buf)), buf]
    return b"".join(parts)


def decode(frame: bytes, on_ref: Callable[[Ref], Any] | None = None,
           max_str: int | None = None,
           on_shared: Callable[[SharedArray], Any] | None = None,
           max_parsed: int | None = None) -> Any:
    """Rebuild a value from ``frame``; tagged references go through ``on_ref``.

    With ``max_str``, every string (values, dict keys, a handle's type name) longer than that
    is cut, with a "...[truncated N chars]" marker: what the worker says is never trusted to be
    small. ``max_parsed`` bounds the bytes of Python objects that parsing the JSON header may
    build before anything else can look at it (``parsed_bytes``): ``[[],[],...]`` would swell
    the reader twentyfold.
    """
    view = memoryview(frame)
    try:
        (hlen,) = struct.unpack_from("!I", view, 0)
        if hlen > MAX_HEADER:
            raise WireError("header too large")
        header = bytes(view[4:4 + hlen])
        if max_parsed is not None and (cost := parsed_bytes(header)) > max_parsed:
            raise WireError(f"a message whose values would take about {cost >> 20} MiB to "
                            f"read, over the limit of {max_parsed >> 20} MiB")
        tree = json.loads(header)
        pos = 4 + hlen
        (nbuf,) = struct.unpack_from("!I", view, pos)
        pos += 4
        buffers = []
        for _ in range(nbuf):
            (blen,) = struct.unpack_from("!Q", view, pos)
            pos += 8
            if blen > MAX_BUFFER or pos + blen > len(view):
                raise WireError("buffer length out of range")
            buffers.append(view[pos:pos + blen])
            pos += blen
    except WireError:
        raise
    except (struct.error, ValueError) as exc:  # bad JSON or UTF-8, an int of 5000 digits
        raise WireError(f"malformed frame: {exc}") from None
    except RecursionError:  # JSON nested deeper than the parser's stack
        raise WireError("value nested too deeply") from None
    if pos != len(view):
        raise WireError("trailing bytes after frame")

    def buffer(i: Any) -> memoryview:
        if type(i) is not int or not 0 <= i < len(buffers):
            raise WireError("bad buffer index")
        return buffers[i]

    def text(t: str) -> str:
        return t if max_str is None else truncate(t, max_str)

    def dec(t: Any, depth: int) -> Any:
        if depth > MAX_DEPTH:
            raise WireError("value nested too deeply")
        if isinstance(t, str):
            return text(t)
        if t is None or isinstance(t, (bool, int, float)):
            return t
        if isinstance(t, list):
            return [dec(v, depth + 1) for v in t]
        if not isinstance(t, dict) or not t:
            raise WireError("unknown value in frame")
        if "$t" in t:
            return tuple(dec(v, depth + 1) for v in t["$t"])
        if "$d" in t:
            out = {}
            for pair in t["$d"]:
                if not isinstance(pair, list) or len(pair) != 2 or type(pair[0]) not in (str, int):
                    raise WireError("bad dict entry")
                key = text(pair[0]) if type(pair[0]) is str else pair[0]
                out[key] = dec(pair[1], depth + 1)
            return out
        if "$f" in t:
            if t["$f"] not in ("nan", "inf", "-inf"):
                raise WireError("bad float tag")
            return float(t["$f"])
        if "$c" in t:
            re_, im = (dec(v, depth + 1) for v in t["$c"])
            return complex(re_, im)
        if "$b" in t:
            return bytes(buffer(t["$b"]))
        if "$a" in t:
            return _decode_array(t, buffer(t["$a"]))
        if "$s" in t:
            if on_shared is None:
                raise WireError("unexpected shared array")
            return on_shared(_shared_array(t))
        if "$rng" in t:
            return _decode_generator(t["$rng"], dec(t.get("state"), depth + 1))
        if "$h" in t or "$cb" in t:
            kind = "$h" if "$h" in t else "$cb"
            if type(t[kind]) is not int or on_ref is None:
                raise WireError("unexpected reference")
            type_name = text(str(t.get("type", "")))
            return on_ref(Ref(kind, t[kind], type_name, bool(t.get("callable"))))
        raise WireError(f"unknown tag {sorted(t)[0]!r}")

    return dec(tree, 0)


def parsed_bytes(header: bytes) -> int:
    """An upper estimate of the Python objects ``json.loads(header)`` builds, from its
    punctuation alone (counted inside strings too: an overcount, never an under): 256 bytes
    for a dict from ``{`` (with its first entry), 128 for a list from ``[`` (with its first
    element), 64 for each further element after ``,`` (a short string or an int, and its
    pointer), plus the text itself. Measured with tracemalloc: never below what json.loads
    builds (tests/test_attacks_redteam.py)."""
    return (256 * header.count(b"{") + 128 * header.count(b"[") + 64 * header.count(b",")
            + len(header))


def _decode_generator(name: Any, state: Any) -> np.random.Generator:
    """A numpy Generator rebuilt from its bit generator's name and plain state."""
    if name not in _BIT_GENERATORS or not isinstance(state, dict):
        raise WireError(f"unknown random generator {name!r}")
    bit_generator = getattr(np.random, name)()
    try:
        bit_generator.state = state
    except (TypeError, ValueError, KeyError) as exc:
        raise WireError(f"invalid {name} state: {exc}") from None
    return np.random.Generator(bit_generator)


def _dtype_and_shape(t: dict) -> tuple[np.dtype, list[int]]:
    try:
        dtype = np.dtype(str(t.get("dtype")))
    except TypeError:
        raise WireError(f"unknown dtype {t.get('dtype')!r}") from None
    check_dtype(dtype)
    shape = t.get("shape")
    if not isinstance(shape, list) or not all(type(s) is int and s >= 0 for s in shape):
        raise WireError("bad array shape")
    return dtype, shape


def _shared_array(t: dict) -> SharedArray:
    dtype, shape = _dtype_and_shape(t)
    offset, span = t["$s"], t.get("span")
    if type(offset) is not int or type(span) is not int or not 0 <= offset <= span:
        raise WireError("bad shared array offset")
    return SharedArray(offset, dtype.str, tuple(shape), bool(t.get("tensor")), span)


def _decode_array(t: dict, buf: memoryview) -> Any:
    dtype, shape = _dtype_and_shape(t)
    if math.prod(shape) * dtype.itemsize != len(buf):
        raise WireError("array buffer does not match its shape")
    arr = np.frombuffer(buf, dtype=dtype).reshape(shape).copy()
    torch = _torch()
    if t.get("tensor") and torch is not None:
        return torch.from_numpy(arr)
    return arr


class FrameTimeout(TimeoutError):
    """No complete frame arrived before the deadline."""


class FrameEOF(EOFError):
    """The other side closed the channel."""


def write_frame(fd: int, payload: bytes, deadline: float | None = None) -> None:
    """Write one ``!Q``-length-prefixed frame to a file descriptor.

    With a ``deadline`` (a ``time.monotonic()`` value) the fd is switched to non-blocking and
    FrameTimeout is raised when the reader has not taken the whole frame by then: a reader
    that stops reading cannot hang the writer.
    """
    data = struct.pack("!Q", len(payload)) + payload
    view = memoryview(data)
    if deadline is not None:
        os.set_blocking(fd, False)
        poller = select.poll()
        poller.register(fd, select.POLLOUT)
    while view:
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0 or not poller.poll(left * 1000):
                raise FrameTimeout()
        try:
            n = os.write(fd, view)
        except BlockingIOError:
            continue
        view = view[n:]


def read_frame(fd: int, deadline: float | None = None, limit: int = MAX_BUFFER) -> bytes:
    """Read one frame; ``deadline`` is a ``time.monotonic()`` value (None: wait forever)."""
    (size,) = struct.unpack("!Q", _read_exact(fd, 8, deadline))
    if size > limit:
        raise WireError(f"frame of {size} bytes exceeds the limit of {limit}")
    return _read_exact(fd, size, deadline)


def _read_exact(fd: int, n: int, deadline: float | None) -> bytes:
    chunks, got = [], 0
    while got < n:
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise FrameTimeout()
        chunk = os.read(fd, min(n - got, 1 << 20))
        if not chunk:
            raise FrameEOF()
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)
