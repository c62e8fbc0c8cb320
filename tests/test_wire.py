"""The wire format: what may cross the sandbox boundary and what is refused."""

from __future__ import annotations

import json
import math
import os
import struct
import threading
import time

import numpy as np
import pytest
import torch

from grader.sandbox import wire


def roundtrip(value: object) -> object:
    return wire.decode(wire.encode(value))


@pytest.mark.parametrize("value", [None, True, False, 0, -7, 2**70, 1.5, "héllo", b"\x00\xff",
                                   3 + 4j, [], (), {}])
def test_plain_scalars_and_empty_containers_round_trip(value: object) -> None:
    out = roundtrip(value)
    assert out == value and type(out) is type(value)


def test_non_finite_floats_round_trip() -> None:
    out = roundtrip([math.inf, -math.inf, math.nan])
    assert out[0] == math.inf and out[1] == -math.inf and math.isnan(out[2])


def test_nested_containers_keep_tuple_list_and_dict_types() -> None:
    value = {"a": (1, [2.0, {"b": None}]), 3: "int key"}
    assert roundtrip(value) == value
    assert type(roundtrip(value)["a"]) is tuple


@pytest.mark.parametrize("dtype", ["float64", "float32", "int64", "uint8", "bool", "complex128"])
def test_arrays_round_trip_with_dtype_and_shape(dtype: str) -> None:
    arr = (np.arange(24).reshape(2, 3, 4) % 3).astype(dtype)
    out = roundtrip(arr)
    assert out.dtype == arr.dtype and out.shape == arr.shape and np.array_equal(out, arr)


def test_decoded_arrays_are_writable_copies() -> None:
    out = roundtrip(np.zeros(3))
    out[0] = 1.0
    assert out.flags.writeable


def test_non_contiguous_and_zero_size_arrays_round_trip() -> None:
    arr = np.arange(12.0).reshape(3, 4).T
    assert np.array_equal(roundtrip(arr), arr)
    assert roundtrip(np.zeros((0, 5))).shape == (0, 5)


def test_numpy_scalars_become_python_numbers() -> None:
    assert type(roundtrip(np.float64(2.5))) is float
    assert type(roundtrip(np.int32(4))) is int


def test_torch_tensors_cross_as_tensors_when_torch_is_loaded() -> None:
    t = torch.arange(6, dtype=torch.float64).reshape(2, 3)
    out = roundtrip(t)
    assert isinstance(out, torch.Tensor) and torch.equal(out, t)


def test_object_arrays_are_refused() -> None:
    with pytest.raises(wire.WireError, match="dtype object"):
        wire.encode(np.array([1, "a"], dtype=object))


def test_structured_arrays_are_refused() -> None:
    with pytest.raises(wire.WireError):
        wire.encode(np.zeros(2, dtype=[("a", "f8"), ("b", "i4")]))


def test_ndarray_subclasses_arrive_as_plain_ndarrays() -> None:
    class Sneaky(np.ndarray):
        def __eq__(self, other: object) -> bool:  # a forged comparison
            return True

    out = roundtrip(np.arange(3.0).view(Sneaky))
    assert type(out) is np.ndarray


def test_unknown_types_are_refused_without_a_fallback() -> None:
    with pytest.raises(wire.WireError, match="cannot cross"):
        wire.encode(object())
    with pytest.raises(wire.WireError, match="dict keys"):
        wire.encode({(1, 2): 3})


def test_fallback_tags_unknown_objects_as_references() -> None:
    frame = wire.encode([object()], lambda obj: {"$h": 7, "type": "Value"})
    refs: list[wire.Ref] = []
    wire.decode(frame, lambda ref: refs.append(ref) or "resolved")
    assert refs[0].kind == "$h" and refs[0].id == 7 and refs[0].type == "Value"


def _frame(tree: object, buffers: list[bytes] = ()) -> bytes:
    header = json.dumps(tree).encode()
    parts = [struct.pack("!I", len(header)), header, struct.pack("!I", len(buffers))]
    for buf in buffers:
        parts += [struct.pack("!Q", len(buf)), buf]
    return b"".join(parts)


def test_decode_refuses_an_object_dtype_in_a_forged_frame() -> None:
    forged = _frame({"$a": 0, "dtype": "|O", "shape": [1]}, [b"\x00" * 8])
    with pytest.raises(wire.WireError):
        wire.decode(forged)


def test_decode_refuses_buffer_and_shape_mismatch() -> None:
    with pytest.raises(wire.WireError, match="does not match"):
        wire.decode(_frame({"$a": 0, "dtype": "<f8", "shape": [4]}, [b"\x00" * 8]))


def test_decode_refuses_unknown_tags_and_references_without_resolver() -> None:
    with pytest.raises(wire.WireError, match="unknown tag"):
        wire.decode(_frame({"$pickle": "gASV"}))
    with pytest.raises(wire.WireError, match="unexpected reference"):
        wire.decode(_frame({"$h": 1}))


def test_decode_refuses_truncated_and_trailing_bytes() -> None:
    good = wire.encode(np.ones(3))
    with pytest.raises(wire.WireError):
        wire.decode(good[:-1])
    with pytest.raises(wire.WireError, match="trailing"):
        wire.decode(good + b"x")


def test_decode_refuses_excessive_nesting() -> None:
    deep: list = []
    for _ in range(wire.MAX_DEPTH + 5):
        deep = [deep]
    with pytest.raises(wire.WireError, match="nested"):
        wire.decode(_frame(deep))


def test_numpy_generators_cross_with_their_state() -> None:
    rng = np.random.default_rng(7)
    rng.random(3)
    copy = roundtrip(rng)
    assert isinstance(copy, np.random.Generator)
    assert np.array_equal(copy.random(5), rng.random(5))


def test_a_forged_generator_state_is_refused() -> None:
    with pytest.raises(wire.WireError):
        wire.decode(_frame({"$rng": "PCG64", "state": {"$d": [["bit_generator", "nope"]]}}))
    with pytest.raises(wire.WireError, match="unknown random generator"):
        wire.decode(_frame({"$rng": "os.system", "state": {"$d": []}}))


def test_truncate_keeps_short_text_and_marks_what_it_cut() -> None:
    assert wire.truncate("abc", 3) == "abc"
    assert wire.truncate("abcdef", 2) == "ab...[truncated 4 chars]"


def test_decode_truncates_long_string_values_with_a_marker() -> None:
    out = wire.decode(wire.encode(["x" * 50, "short"]), max_str=10)
    assert out == ["x" * 10 + "...[truncated 40 chars]", "short"]


def test_decode_truncates_long_dict_keys() -> None:
    out = wire.decode(wire.encode({"k" * 30: 1}), max_str=5)
    assert list(out) == ["kkkkk...[truncated 25 chars]"]


def test_decode_truncates_a_handle_type_name() -> None:
    frame = wire.encode(object(), lambda obj: {"$h": 1, "type": "T" * 100})
    ref = wire.decode(frame, lambda r: r, max_str=8)
    assert ref.type == "TTTTTTTT...[truncated 92 chars]"


def test_decode_without_a_maximum_keeps_strings_whole() -> None:
    assert wire.decode(wire.encode("y" * 100_000)) == "y" * 100_000


def test_json_nested_past_the_parser_stack_is_a_wire_error() -> None:
    with pytest.raises(wire.WireError, match="nested"):
        wire.decode(_frame_bytes(b"[" * 1_000_000 + b"]" * 1_000_000))


def _frame_bytes(header: bytes) -> bytes:
    return struct.pack("!I", len(header)) + header + struct.pack("!I", 0)


def test_write_frame_with_a_deadline_fails_when_the_reader_stops_reading() -> None:
    read_end, write_end = os.pipe()
    try:
        with pytest.raises(wire.FrameTimeout):
            wire.write_frame(write_end, b"z" * (4 << 20), time.monotonic() + 0.2)
    finally:
        os.close(read_end)
        os.close(write_end)


def test_write_frame_with_a_deadline_delivers_a_frame_larger_than_the_pipe() -> None:
    read_end, write_end = os.pipe()
    payload = bytes(range(256)) * 4096  # 1 MiB, far more than a pipe buffers
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(wire.read_frame(read_end)))
    reader.start()
    try:
        wire.write_frame(write_end, payload, time.monotonic() + 10)
        reader.join(10)
    finally:
        os.close(read_end)
        os.close(write_end)
    assert got == [payload]


def test_an_integer_too_long_to_parse_is_a_wire_error() -> None:
    with pytest.raises(wire.WireError, match="malformed"):
        wire.decode(_frame_bytes(b"1" * 100_000))
