"""The copy-back rule: only declared in/out parameters and numpy Generators are written back
into the hidden test's objects; every other in-place change is recorded, never applied."""

from __future__ import annotations

import textwrap
from unittest.mock import patch

import numpy as np
import pytest

from grader.grading.proxy import Session, StudentModule
from grader.sandbox.bwrap import Limits, SandboxSpec
from grader.testing import assert_inputs_unchanged

pytestmark = pytest.mark.sandbox

MODULE = textwrap.dedent('''
    import numpy as np

    def update(bn_param, x):
        bn_param["running_mean"] += 1.0
        bn_param["seen"] = True
        x *= 0.0
        return x.sum()

    def scale(x, factor=2.0):
        x *= factor
        return x

    def draw(rng, n):
        return rng.random(n)

    def pure(x):
        return x + 1.0
''')


@pytest.fixture(scope="module")
def student(tmp_path_factory: pytest.TempPathFactory) -> StudentModule:
    folder = tmp_path_factory.mktemp("copyback")
    (folder / "mutator.py").write_text(MODULE)
    folder.chmod(0o755)
    spec = SandboxSpec("bwrap", folder, Limits(call_timeout_s=10, submission_timeout_s=120,
                                               memory_mb=1024, max_processes=16, tmpfs_mb=8))
    session = Session(spec, "mutator")
    session.start()
    module = StudentModule(session)
    module.declare_inout("update", bn_param=0)
    yield module
    session.close()


def test_a_declared_inout_parameter_is_copied_back(student: StudentModule) -> None:
    bn_param = {"running_mean": np.zeros(3)}
    student.update(bn_param, np.ones(3))
    assert np.array_equal(bn_param["running_mean"], np.ones(3))
    assert bn_param["seen"] is True


def test_a_declared_parameter_passed_by_keyword_is_copied_back(student: StudentModule) -> None:
    bn_param = {"running_mean": np.zeros(2)}
    student.update(bn_param=bn_param, x=np.ones(2))
    assert np.array_equal(bn_param["running_mean"], np.ones(2))


def test_an_undeclared_mutation_is_recorded_not_applied(student: StudentModule) -> None:
    x = np.arange(1.0, 4.0)
    student.update({"running_mean": np.zeros(3)}, x)
    assert np.array_equal(x, [1.0, 2.0, 3.0])
    [mutation] = student.last_mutations()
    assert mutation.arg == 1
    assert np.array_equal(mutation.value, np.zeros(3))


def test_a_keyword_argument_mutation_is_recorded_by_name(student: StudentModule) -> None:
    x = np.ones(2)
    student.scale(x=x, factor=3.0)
    assert np.array_equal(x, np.ones(2))
    assert [m.arg for m in student.last_mutations()] == ["x"]


def test_a_declaration_for_one_function_does_not_cover_another(student: StudentModule) -> None:
    x = np.ones(2)
    student.scale(x)  # position 0 is in/out for update only
    assert np.array_equal(x, np.ones(2))
    assert [m.arg for m in student.last_mutations()] == [0]


def test_a_call_without_mutations_records_none(student: StudentModule) -> None:
    student.scale(np.ones(2))
    student.pure(np.ones(2))
    assert student.last_mutations() == []


def test_a_generator_argument_advances_as_the_students_draws_did(student: StudentModule) -> None:
    rng, twin = np.random.default_rng(7), np.random.default_rng(7)
    got = student.draw(rng, 4)
    assert np.array_equal(got, twin.random(4))
    assert rng.random() == twin.random()
    assert student.last_mutations() == []


def test_assert_inputs_unchanged_names_the_modified_argument(student: StudentModule) -> None:
    x = np.arange(4.0)
    student.scale(x)
    with pytest.raises(AssertionError, match=r"scale modified its input 'x' in place \(3 of 4"):
        assert_inputs_unchanged(student, fn="scale", inputs={"x": x})


def test_a_forged_report_naming_no_argument_is_ignored(student: StudentModule) -> None:
    session = student._session
    reply = {"op": "result", "value": 1.0,
             "changed": {"7": np.zeros(2), "nope": 1, "0": np.zeros(2)}}
    x, pure = np.ones(2), student.pure
    with patch.object(session, "_exchange", return_value=reply):
        assert pure(x) == 1.0
    assert np.array_equal(x, np.ones(2))
    assert [m.arg for m in student.last_mutations()] == [0]


def test_a_report_that_is_not_a_dict_is_ignored(student: StudentModule) -> None:
    session, pure = student._session, student.pure
    with patch.object(session, "_exchange", return_value={"op": "result", "value": 2,
                                                          "changed": ["0"]}):
        assert pure(np.ones(1)) == 2
    assert student.last_mutations() == []

