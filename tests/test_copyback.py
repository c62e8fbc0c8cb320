"""The copy-back rule: only declared in/out parameters and numpy Generators are written back
into the hidden test's objects; every other in-place change is recorded, never applied.

Which arguments changed is decided by the trusted side from the shared arena the worker's
arrays live in (grader.sandbox.arena), never from what the worker reports."""

from __future__ import annotations

import textwrap
from unittest.mock import patch

import numpy as np
import pytest

from grader.grading.proxy import ArgumentsTooLarge, Session, StudentModule
from grader.sandbox import arena
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

    def scale_and_restore(x):
        x *= 2.0
        total = float(x.sum())
        x /= 2.0
        return total

    def write_nested(params, weights):
        params["W"][0, 0] = 5.0
        weights[1] += 1.0
        return None

    class Keeper:
        def keep(self, x):
            self.kept = x
            return None

        def total(self):
            return float(self.kept.sum())

    def forge_report():
        import grader.sandbox.worker as w
        plain = w.Worker.call

        def call(self, fn, args, kwargs, lead=(), inout=()):
            reply = plain(self, fn, args, kwargs, lead, inout)
            return {"op": "result", "value": reply["value"], "inout": {}, "changed": {},
                    "warnings": []}

        w.Worker.call = call

    def truncate_arena():
        import os
        for fd in range(3, 64):
            try:
                os.ftruncate(fd, 0)
            except OSError:
                pass
''')


def _session(tmp_path_factory: pytest.TempPathFactory, code: str) -> Session:
    folder = tmp_path_factory.mktemp("copyback")
    (folder / "mutator.py").write_text(code)
    folder.chmod(0o755)
    spec = SandboxSpec("bwrap", folder, Limits(call_timeout_s=10, submission_timeout_s=120,
                                               memory_mb=1024, max_processes=16, tmpfs_mb=8))
    session = Session(spec, "mutator")
    session.start()
    return session


@pytest.fixture(scope="module")
def student(tmp_path_factory: pytest.TempPathFactory) -> StudentModule:
    session = _session(tmp_path_factory, MODULE)
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


def test_a_reply_naming_arguments_not_asked_for_is_ignored(student: StudentModule) -> None:
    session = student._session
    reply = {"op": "result", "value": 1.0, "inout": {"0": np.zeros(2), "7": 1, "x": 2}}
    x, pure = np.ones(2), student.pure
    with patch.object(session, "_exchange", return_value=reply):
        assert pure(x) == 1.0
    assert np.array_equal(x, np.ones(2))
    assert student.last_mutations() == []


def test_a_change_is_found_whatever_the_worker_reports(
        tmp_path_factory: pytest.TempPathFactory) -> None:
    session = _session(tmp_path_factory, MODULE + "\nforge_report()\n")
    try:
        forger = StudentModule(session)
        x = np.ones(3)
        forger.scale(x, 4.0)
        assert [m.arg for m in forger.last_mutations()] == [0]
        assert np.array_equal(forger.last_mutations()[0].value, [4.0, 4.0, 4.0])
    finally:
        session.close()


def test_an_input_restored_before_returning_counts_as_unchanged(
        student: StudentModule) -> None:
    x = np.arange(5.0)
    assert student.scale_and_restore(x) == 20.0
    assert student.last_mutations() == []


def test_arrays_inside_dicts_and_lists_are_checked_too(student: StudentModule) -> None:
    params, weights = {"W": np.zeros((2, 2)), "b": np.zeros(2)}, [np.zeros(3), np.zeros(3)]
    student.write_nested(params, weights)
    assert not params["W"].any() and not weights[1].any()
    found = {m.arg: m.value for m in student.last_mutations()}
    assert set(found) == {0, 1}
    assert found[0]["W"][0, 0] == 5.0 and np.array_equal(found[0]["b"], np.zeros(2))
    assert np.array_equal(found[1][1], np.ones(3)) and np.array_equal(found[1][0], np.zeros(3))
    with pytest.raises(AssertionError, match=r"changed the dict 'params' in place \(keys 'W'"):
        assert_inputs_unchanged(student, fn="write_nested",
                                inputs={"params": params, "weights": weights})


def test_an_argument_the_student_keeps_does_not_see_later_calls(
        student: StudentModule) -> None:
    keeper = student.Keeper()
    keeper.keep(np.full(100, 1.0))
    student.pure(np.full(100, 7.0))  # reuses the arena where the kept array was
    assert keeper.total() == 100.0


def test_arrays_larger_than_the_arena_fail_clearly_and_the_next_call_works(
        tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(arena, "ARENA_BYTES", 1 << 20)
    session = _session(tmp_path_factory, MODULE)
    try:
        small = StudentModule(session)
        with pytest.raises(ArgumentsTooLarge, match="grader limit") as failed:
            small.pure(np.zeros(200_000))  # 1.6 MB
        assert "shared memory for the arguments of one call" in failed.value.student_message()
        assert np.array_equal(small.pure(np.zeros(1000)), np.ones(1000))
    finally:
        session.close()


def test_a_worker_that_truncates_the_arena_cannot_crash_the_trusted_side(
        student: StudentModule) -> None:
    student.truncate_arena()
    x = np.ones(4)
    student.scale(x)
    assert [m.arg for m in student.last_mutations()] == [0]
