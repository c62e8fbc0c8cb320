"""Hidden-test failure messages (grader.testing): what a student reads must be actionable and
must not reveal the hidden expected values."""

from __future__ import annotations

import numpy as np
import pytest

from grader.grading.proxy import Mutation
from grader.testing import assert_close, assert_dtype, assert_inputs_unchanged


def _message(got, expected, **kwargs) -> str:
    with pytest.raises(AssertionError) as info:
        assert_close(got, expected, **kwargs)
    return str(info.value)


def test_a_mismatch_shows_the_inputs_at_the_worst_index() -> None:
    x = np.linspace(-1.0, 1.0, 12).reshape(3, 4)
    got = np.maximum(x, 0.0)
    got[1, 2] = 5.0
    text = _message(got, np.maximum(x, 0.0), fn="relu_forward", inputs={"x": x, "w": np.ones(3)})
    assert "worst at index (1, 2)" in text
    assert f"x[1, 2] = {x[1, 2]:.8g}" in text
    assert "w[" not in text  # not shaped like the output: nothing to show


def test_a_mismatch_where_the_reference_is_zero_says_so() -> None:
    expected = np.array([0.0, 1.0, 2.0])
    text = _message(np.array([0.3, 1.0, 2.0]), expected, fn="relu_backward")
    assert "expected 0 (exactly)" in text
    assert "the expected values there are 0" in text
    assert "max rel error" not in text


def test_a_mismatch_reports_the_relative_error_where_the_reference_is_not_zero() -> None:
    text = _message(np.array([0.0, 1.1]), np.array([0.0, 1.0]), fn="f")
    assert "max rel error 0.1" in text


def test_a_mismatch_never_prints_the_expected_array() -> None:
    expected = np.arange(50) * 0.123456789 + 3.0
    text = _message(expected + 1.0, expected, fn="f", inputs={"x": expected})
    shown = [v for v in expected if f"{v:.8g}" in text]
    assert len(shown) <= 1


def test_a_float32_array_gets_a_message_about_the_dtype() -> None:
    with pytest.raises(AssertionError, match="has dtype float32, the assignment asks for float64"):
        assert_dtype(np.ones(3, dtype=np.float32), fn="f", what="params['W1']")
    assert_dtype(np.ones(3), fn="f")


class _Recorded:
    """Stands in for the student fixture after a call that made these mutations."""

    def __init__(self, *mutations: Mutation) -> None:
        self.mutations = list(mutations)

    def last_mutations(self) -> list[Mutation]:
        return self.mutations


def test_an_in_place_change_is_named_with_the_elements_changed() -> None:
    x = np.zeros((2, 3))
    changed = x.copy()
    changed[0, :2] = 1.0
    with pytest.raises(AssertionError, match=r"f modified its input 'x' in place \(2 of 6"):
        assert_inputs_unchanged(_Recorded(Mutation(0, changed)), fn="f", inputs={"x": x})


def test_an_in_place_change_of_a_list_names_the_item() -> None:
    ws = [np.ones(2), np.ones(3)]
    after = [np.ones(2), np.zeros(3)]
    with pytest.raises(AssertionError, match=r"'weights\[1\]' in place"):
        assert_inputs_unchanged(_Recorded(Mutation(0, after)), fn="l2_penalty",
                                inputs={"weights": ws})


def test_an_in_place_change_of_a_dict_names_the_keys() -> None:
    param = {"p": 0.5, "mode": "train"}
    after = {"p": 0.5, "mode": "train", "mask": np.ones(2)}
    with pytest.raises(AssertionError, match=r"changed the dict 'dropout_param' .*'mask'"):
        assert_inputs_unchanged(_Recorded(Mutation(1, after)), fn="dropout_forward",
                                inputs={"x": np.ones(2), "dropout_param": param})


def test_changes_of_arguments_not_checked_are_ignored() -> None:
    dout = np.ones(3)
    assert_inputs_unchanged(_Recorded(Mutation(1, ("cache",))), fn="relu_backward",
                            inputs={"dout": dout})


def test_a_float32_mismatch_mentions_the_dtype() -> None:
    expected = np.array([1.0, 1.0 + 1e-9])
    text = _message(np.array([1.0, 1.1], dtype=np.float32), expected, fn="f")
    assert "your result has dtype float32" in text
