"""The wire format: what may cross the sandbox boundary and what is refused."""

from __future__ import annotations

import json
import math
import struct

import numpy as np
import pytest
import torch

from grader import wire


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
