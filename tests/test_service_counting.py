"""results/ holds the counting attempt the database says, also when two results of one
student are recorded at once (``queue.finish`` writes the copy before its transaction)."""

from __future__ import annotations

import json

from conftest import solution_text
from results_factory import make_result, make_test
from service_support import make_harness
from test_service_web import A2, submit

from grader.service import queue


def _result(login: str, score: float) -> dict:
    return make_result(login, [make_test("test_softmax_rows_sum_to_one", points=score),
                               make_test("test_softmax_stable_for_large_logits",
                                         passed=False, points=30.0 - score)],
                       assignment=A2)


def test_a_result_recorded_meanwhile_wins_over_the_staged_copy(tmp_path):
    svc = make_harness(tmp_path, f"sqlite:///{tmp_path / 'grader.db'}")
    for _ in range(2):
        submit(svc, "alice", "softmax.py", solution_text(A2).encode())
    with svc.service.sessions() as db:
        first = queue.claim(db, "w1")
    with svc.service.sessions() as db:
        second = queue.claim(db, "w2")
    rules = (svc.course.service.counts, svc.course.service.late_policy)

    with svc.service.sessions() as db:
        real_commit = db.commit

        def commit_then_the_second_result() -> None:
            # Between the copy of attempt 1 (then the last graded) and its transaction, the
            # second attempt's result is recorded: it is the counting one now ("last").
            real_commit()
            db.commit = real_commit
            with svc.service.sessions() as other:
                assert queue.finish(other, svc.service.paths, second, "w2",
                                    _result("alice", 20.0), *rules)

        db.commit = commit_then_the_second_result
        assert queue.finish(db, svc.service.paths, first, "w1", _result("alice", 10.0), *rules)
    published = svc.service.paths.results / A2 / "alice" / "results.json"
    assert json.loads(published.read_text())["score"] == 20.0
    assert not list(published.parent.glob(".*.tmp"))  # the unused copy was removed
