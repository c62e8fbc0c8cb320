"""The contract's in/out parameters for a5: only these in-place changes reach the tests."""

import pytest

UPDATE_RULES = ("sgd", "sgd_momentum", "nesterov_momentum", "adagrad", "rmsprop", "adam")


@pytest.fixture(scope="session", autouse=True)
def _inout(student):
    for rule in UPDATE_RULES:
        student.declare_inout(rule, config=2)
