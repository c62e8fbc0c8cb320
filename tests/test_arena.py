"""The shared arena in one process: the trusted side's ``Arena`` and the worker's
``WorkerArrays`` over the same memfd (the sandboxed path is tests/test_copyback.py)."""

from __future__ import annotations

import os

import numpy as np
import pytest

from grader.sandbox import wire
from grader.sandbox.arena import Arena, ArenaFull, WorkerArrays


@pytest.fixture
def arena() -> Arena:
    arena = Arena(1 << 20)
    yield arena
    arena.close()


def _worker_args(arena: Arena, workers: WorkerArrays, *args: object) -> tuple:
    """What the worker's decode gives for ``args``, and the trusted side's record."""
    shared = arena.share(args, {})
    frame = wire.encode({"args": shared.args})
    return wire.decode(frame, on_shared=workers.array)["args"], shared


def test_a_write_by_the_worker_is_what_the_trusted_side_reads(arena: Arena) -> None:
    workers = WorkerArrays(arena.fd)
    x, untouched = np.arange(6.0).reshape(2, 3), np.ones(4)
    (wx, wu), shared = _worker_args(arena, workers, x, untouched)
    assert np.array_equal(wx, x) and np.array_equal(wu, untouched)
    wx[1, 2] = -1.0
    del wx, wu
    workers.release()
    changed = [arena.changed(p) for p in shared.placed]
    assert changed == [True, False]
    assert arena.read(shared.placed[0])[1, 2] == -1.0 and x[1, 2] == 5.0


def test_an_array_the_worker_keeps_is_detached_from_the_arena(arena: Arena) -> None:
    workers = WorkerArrays(arena.fd)
    (kept,), _ = _worker_args(arena, workers, np.full(8, 3.0))
    workers.release()
    (other,), _ = _worker_args(arena, workers, np.full(8, 9.0))  # same offset, next call
    assert np.array_equal(kept, np.full(8, 3.0)) and np.array_equal(other, np.full(8, 9.0))
    kept[0] = 0.0  # private now: the arena, and the next call's argument, do not change
    assert other[0] == 9.0


def test_arrays_that_do_not_fit_raise_arena_full(arena: Arena) -> None:
    with pytest.raises(ArenaFull):
        arena.share((np.zeros(100), np.zeros(1 << 17)), {})  # 8 + 1 MiB > 1 MiB
    assert arena.share((np.zeros(100),), {}).placed[0].offset == 0


def test_the_arenas_size_is_sealed_against_the_worker(arena: Arena) -> None:
    with pytest.raises(PermissionError):
        os.ftruncate(arena.fd, 0)
    with pytest.raises(PermissionError):
        os.ftruncate(arena.fd, 1 << 30)


def test_the_worker_refuses_a_span_beyond_the_arena(arena: Arena) -> None:
    workers = WorkerArrays(arena.fd)
    with pytest.raises(wire.WireError, match="outside the arena"):
        workers.array(wire.SharedArray(0, "<f8", (4,), False, span=2 << 20))


def test_a_shared_array_tag_is_refused_where_no_arena_is_expected() -> None:
    frame = wire.encode({"value": wire.SharedArray(0, "<f8", (2,), False, span=4096)})
    with pytest.raises(wire.WireError, match="unexpected shared array"):
        wire.decode(frame)


def test_empty_arrays_and_other_values_are_sent_by_value(arena: Arena) -> None:
    shared = arena.share((np.zeros((0, 3)), 2.5, "text", [np.ones(2)]), {"k": {"a": np.ones(1)}})
    assert isinstance(shared.args[0], np.ndarray) and shared.args[1:3] == [2.5, "text"]
    assert isinstance(shared.args[3][0], wire.SharedArray)
    assert [(p.key, p.path) for p in shared.placed] == [(3, (0,)), ("k", ("a",))]
