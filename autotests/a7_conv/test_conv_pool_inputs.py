"""Hidden test: no function of conv.py modifies its inputs in place (charged once, here).

The grader copies arrays and dicts a student changed in place back into the test's own
arguments, so comparing them with copies made before the calls shows any modification.
"""

from __future__ import annotations

import pytest

from grader.testing import assert_true, assert_unchanged


def check_param(before: dict[str, int], after: dict[str, int], fn: str, arg: str) -> None:
    assert_true(after == before, f"{fn} modified its input {arg!r} in place: {before} became "
                f"{after}; read the parameters without changing the dict")


@pytest.mark.points(2)
def test_functions_do_not_modify_inputs(student, rng):
    """conv and pooling layers leave x, w, b, dout and the parameter dicts unchanged"""
    x, w, b = rng.standard_normal((2, 3, 7, 6)), rng.standard_normal((4, 3, 3, 2)), \
        rng.standard_normal(4)
    conv_param = {"stride": 2, "pad": 1}
    dout = rng.standard_normal((2, 4, 4, 4))  # H' = (7 + 2 - 3) // 2 + 1, W' likewise
    for kind in ("naive", "fast"):
        arrays = {"x": x, "w": w, "b": b}
        before = {k: v.copy() for k, v in arrays.items()}
        param0, dout0 = dict(conv_param), dout.copy()
        _, cache = getattr(student, f"conv_forward_{kind}")(x, w, b, conv_param)
        getattr(student, f"conv_backward_{kind}")(dout, cache)
        for name, value in arrays.items():
            assert_unchanged(before[name], value, fn=f"conv_forward_{kind}", arg=name)
        check_param(param0, conv_param, f"conv_forward_{kind}", "conv_param")
        assert_unchanged(dout0, dout, fn=f"conv_backward_{kind}", arg="dout")

    pool_param = {"pool_height": 3, "pool_width": 2, "stride": 1}
    dout = rng.standard_normal((2, 3, 5, 5))
    for kind in ("max", "avg"):
        x0, param0, dout0 = x.copy(), dict(pool_param), dout.copy()
        _, cache = getattr(student, f"{kind}_pool_forward")(x, pool_param)
        getattr(student, f"{kind}_pool_backward")(dout, cache)
        assert_unchanged(x0, x, fn=f"{kind}_pool_forward", arg="x")
        check_param(param0, pool_param, f"{kind}_pool_forward", "pool_param")
        assert_unchanged(dout0, dout, fn=f"{kind}_pool_backward", arg="dout")
