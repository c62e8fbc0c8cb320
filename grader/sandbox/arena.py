"""Shared memory for the array arguments of a call: the trusted side owns it and reads it back.

The trusted proxy creates one ``Arena`` per worker (a memfd whose size is sealed) and hands its
fd to the worker at start. Before each call, every numpy array or torch tensor among the
arguments is copied into the arena and crosses the wire as a ``SharedArray`` (where it is,
not what it holds). The worker maps the part of the arena the call uses, once per call, and
builds each ndarray over that mapping (``WorkerArrays``), so whatever the student's code writes
into an argument lands where the trusted side compares it, byte for byte, with the test's own
array after the call. Nothing the worker says about itself enters that verdict.

After each call the worker unmaps the pages, or, where the student kept an argument (a cache in
an object), swaps them for a private copy at the same address: the next call reuses the arena
from its start, and a kept array must not see the next call's arguments.
"""

from __future__ import annotations

import ctypes
import fcntl
import math
import mmap
import os
import sys
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from grader.sandbox.wire import SharedArray, WireError, check_dtype

# What the arguments of one call may occupy. The arena is sparse: only pages a call touches
# cost memory, and the trusted side returns what one large call used (RELEASE_ABOVE).
ARENA_BYTES = 1 << 30
RELEASE_ABOVE = 16 << 20
PAGE = mmap.PAGESIZE
_SMALL = 64 << 10  # below this a bytes comparison is faster than numpy's
_ALIGN = 64  # each array starts on a cache line (numpy's SIMD loops prefer aligned data)
_MAP_FIXED = 0x10
_SEALS = fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_GROW | fcntl.F_SEAL_SEAL


class ArenaFull(Exception):
    """The arrays of one call do not fit in the arena (a grader limit, ARENA_BYTES);
    ``needed`` is how far they reached when the first one did not fit."""

    def __init__(self, needed: int, size: int) -> None:
        super().__init__(f"over {needed / 2**20:.1f} MiB of arrays, arena {size / 2**20:.1f} MiB")
        self.needed, self.size = needed, size


def _round_up(n: int, to: int = PAGE) -> int:
    return -(-n // to) * to


@dataclass
class Placed:
    """One array argument in the arena: ``key`` is the argument (position or keyword) and
    ``path`` the dict keys / list indices that lead to the array inside it."""

    key: int | str
    path: tuple
    offset: int
    original: np.ndarray  # the test's array, C-contiguous (a copy only if it was not)


@dataclass
class SharedCall:
    """The arguments of one call as sent (arrays replaced by SharedArray) and where each
    array went."""

    args: list
    kwargs: dict
    placed: list[Placed] = field(default_factory=list)
    markers: list[SharedArray] = field(default_factory=list)


class Arena:
    """The trusted side's shared memory for one worker (``fd`` goes to the worker)."""

    def __init__(self, size: int | None = None) -> None:
        self.size = ARENA_BYTES if size is None else size
        self.fd = os.memfd_create("grader-arena", os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
        try:
            os.ftruncate(self.fd, self.size)
            # The worker holds the fd too: with the size sealed it cannot shrink the file
            # under our mapping (a SIGBUS in the trusted process) or grow it.
            fcntl.fcntl(self.fd, fcntl.F_ADD_SEALS, _SEALS)
            self.map = mmap.mmap(self.fd, self.size)
        except OSError:
            os.close(self.fd)
            raise
        self.used = 0

    def close(self) -> None:
        self.map.close()
        os.close(self.fd)

    # -- before the call ----------------------------------------------------------------------
    def share(self, args: tuple, kwargs: dict) -> SharedCall:
        """Copy every array in ``args``/``kwargs`` (also inside lists, tuples and dicts) into
        the arena. Raises ArenaFull when they do not fit."""
        self._release()
        call = SharedCall([], {})
        call.args = [self._walk(value, i, (), call, 0) for i, value in enumerate(args)]
        call.kwargs = {k: self._walk(v, k, (), call, 0) for k, v in kwargs.items()}
        for marker in call.markers:
            marker.span = _round_up(self.used)
        return call

    def _walk(self, value: Any, key: int | str, path: tuple, call: SharedCall,
              depth: int) -> Any:
        if depth > 64:  # the wire refuses deeper values anyway
            return value
        if type(value) in (list, tuple):
            items = [self._walk(v, key, (*path, i), call, depth + 1)
                     for i, v in enumerate(value)]
            return items if type(value) is list else tuple(items)
        if type(value) is dict:
            return {k: self._walk(v, key, (*path, k), call, depth + 1)
                    for k, v in value.items()}
        torch = sys.modules.get("torch")  # never imported here: a tensor means it is loaded
        tensor = torch is not None and isinstance(value, torch.Tensor)
        if tensor:
            array = value.detach().cpu().resolve_conj().resolve_neg().numpy()
        elif isinstance(value, np.ndarray):
            array = value
        else:
            return value
        try:
            check_dtype(array.dtype)
        except WireError:
            return value  # the wire refuses it with its own message
        if array.size == 0:
            return value  # nothing in it can change
        array = np.ascontiguousarray(array)
        offset = self.used
        end = offset + array.nbytes
        if _round_up(end) > self.size:
            raise ArenaFull(end, self.size)
        self.map[offset:end] = array.reshape(-1).view(np.uint8)
        self.used = _round_up(end, _ALIGN)
        call.placed.append(Placed(key, path, offset, array))
        marker = SharedArray(offset, array.dtype.str, tuple(array.shape), tensor)
        call.markers.append(marker)
        return marker

    # -- after the call -----------------------------------------------------------------------
    def changed(self, placed: Placed) -> bool:
        """Whether the bytes of ``placed`` differ from the test's array now."""
        n = placed.original.nbytes
        mine = placed.original.reshape(-1).view(np.uint8)
        if n <= _SMALL:
            return self.map[placed.offset:placed.offset + n] != mine.tobytes()
        return not np.array_equal(np.frombuffer(self.map, np.uint8, n, placed.offset), mine)

    def read(self, placed: Placed) -> np.ndarray:
        """A copy of what the arena holds for ``placed`` now, shaped like the original."""
        o = placed.original
        return np.frombuffer(self.map, o.dtype, o.size, placed.offset).reshape(o.shape).copy()

    def _release(self) -> None:
        """Give back the pages a large call used; the next call starts at offset 0."""
        if self.used > RELEASE_ABOVE:
            self.map.madvise(mmap.MADV_REMOVE, RELEASE_ABOVE, self.used - RELEASE_ABOVE)
        self.used = 0


# -- worker side ---------------------------------------------------------------------------------

_libc = ctypes.CDLL(None, use_errno=True)
_libc.mmap.restype = ctypes.c_void_p
_libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int,
                       ctypes.c_int, ctypes.c_long]


def _map_fixed(addr: int, length: int, flags: int, fd: int, offset: int) -> None:
    got = _libc.mmap(addr, length, mmap.PROT_READ | mmap.PROT_WRITE, flags | _MAP_FIXED, fd,
                     offset)
    if got != addr:
        err = ctypes.get_errno()
        raise OSError(err, f"mapping the shared arguments: {os.strerror(err)}")


class WorkerArrays:
    """The worker's view of its arena: one mapping per call, over the part its arrays use."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.size = os.fstat(fd).st_size
        self.region: mmap.mmap | None = None

    def array(self, ref: SharedArray) -> Any:
        """The argument ``ref`` as an ndarray (or tensor) over the arena's pages."""
        if self.region is None:  # the call's first array: map what the call uses
            if ref.span % PAGE or not 0 < ref.span <= self.size:
                raise WireError("shared arrays outside the arena")
            # An anonymous mapping owns the address range (and unmaps it when the last array
            # over it is gone); the arena's pages are then mapped over it.
            self.region = mmap.mmap(-1, ref.span)
            addr = ctypes.addressof(ctypes.c_char.from_buffer(self.region))
            _map_fixed(addr, ref.span, mmap.MAP_SHARED, self.fd, 0)
        dtype = np.dtype(ref.dtype)
        count = math.prod(ref.shape)
        if ref.offset + count * dtype.itemsize > len(self.region):
            raise WireError("shared array outside the call's part of the arena")
        array = np.frombuffer(self.region, dtype, count, ref.offset).reshape(ref.shape)
        if ref.tensor:
            import torch  # only sent where the trusted side sent a tensor: torch is allowed

            return torch.from_numpy(array)
        return array

    def release(self) -> None:
        """After the call, before the reply: unmap the call's mapping if nobody kept an array
        over it; else swap its pages for a private copy, so that the arena can be reused."""
        region, self.region = self.region, None
        if region is None:
            return
        try:
            region.close()
        except BufferError:  # an array over it is still alive
            data = region[:]
            addr = ctypes.addressof(ctypes.c_char.from_buffer(region))
            _map_fixed(addr, len(region), mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS, -1, 0)
            region[:] = data
