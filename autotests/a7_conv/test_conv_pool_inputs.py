"""Hidden test: no function of conv.py modifies its inputs in place (charged once, here).

Only the in/out parameters a contract declares are copied back from the sandbox (a7 declares
none); what each call changed in place (``last_mutations``) is found by the trusted side in the
shared memory the arrays were passed in, and ``assert_inputs_unchanged`` names the argument.
"""

from __future__ import annotations

import pytest

from grader.testing import assert_inputs_unchanged


@pytest.mark.points(2)
def test_functions_do_not_modify_inputs(student, rng):
    """conv and pooling layers leave x, w, b, dout and the parameter dicts unchanged"""
    x, w, b = rng.standard_normal((2, 3, 7, 6)), rng.standard_normal((4, 3, 3, 2)), \
        rng.standard_normal(4)
    conv_param = {"stride": 2, "pad": 1}
    dout = rng.standard_normal((2, 4, 4, 4))  # H' = (7 + 2 - 3) // 2 + 1, W' likewise
    for kind in ("naive", "fast"):
        _, cache = getattr(student, f"conv_forward_{kind}")(x, w, b, conv_param)
        assert_inputs_unchanged(student, fn=f"conv_forward_{kind}",
                                inputs={"x": x, "w": w, "b": b, "conv_param": conv_param})
        getattr(student, f"conv_backward_{kind}")(dout, cache)
        assert_inputs_unchanged(student, fn=f"conv_backward_{kind}", inputs={"dout": dout})

    pool_param = {"pool_height": 3, "pool_width": 2, "stride": 1}
    dout = rng.standard_normal((2, 3, 5, 5))
    for kind in ("max", "avg"):
        _, cache = getattr(student, f"{kind}_pool_forward")(x, pool_param)
        assert_inputs_unchanged(student, fn=f"{kind}_pool_forward",
                                inputs={"x": x, "pool_param": pool_param})
        getattr(student, f"{kind}_pool_backward")(dout, cache)
        assert_inputs_unchanged(student, fn=f"{kind}_pool_backward", inputs={"dout": dout})
