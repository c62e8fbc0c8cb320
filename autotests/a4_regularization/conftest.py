"""The contract's in/out parameters for a4: only these in-place changes reach the tests."""

import pytest


@pytest.fixture(scope="session", autouse=True)
def _inout(student):
    student.declare_inout("batchnorm_forward", bn_param=3)
