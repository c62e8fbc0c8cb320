"""The service on a Ray cluster: with grader.yaml's ``backend: {kind: ray}``, a job claimed
from the queue is graded on a real local cluster (a head and a second node on 127.0.0.1)
through the backend seam, and the student reads the score the local grading gives."""

from __future__ import annotations

import datetime as dt
import logging
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import solution_text
from service_support import Harness, make_harness
from test_service_web import A2, submit

from tests.ray_cluster import LocalCluster, two_nodes

pytestmark = [pytest.mark.ray, pytest.mark.sandbox, pytest.mark.slow]
# A softmax without the max subtraction: some tests pass, some fail (a partial score).
UNSTABLE = ("z = x - np.max(x, axis=-1, keepdims=True)", "z = x")


@pytest.fixture(scope="module")
def cluster() -> Iterator[LocalCluster]:
    try:
        import ray  # noqa: F401  (only whether it is installed)
    except ImportError:
        message = "Ray is not installed: pip install -e '.[ray]' to run the service's Ray test"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(f"SKIPPED RAY TEST: {message}")
    with two_nodes() as nodes:
        yield nodes


def _graded(svc: Harness, login: str, data: bytes) -> dict:
    attempt = submit(svc, login, "softmax.py", data)
    assert attempt.status_code == 202, attempt.text
    assert svc.grade_all() == 1
    return svc.client.get(f"/api/submissions/{attempt.json()['id']}/feedback",
                          headers=svc.token(login)).json()


def test_an_upload_is_graded_on_the_cluster_with_the_local_score(
        cluster: LocalCluster, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    code = solution_text(A2)
    assert UNSTABLE[0] in code
    data = code.replace(*UNSTABLE).encode()
    (tmp_path / "local").mkdir()
    (tmp_path / "ray").mkdir()
    local = _graded(make_harness(tmp_path / "local", f"sqlite:///{tmp_path / 'local.db'}",
                                 sandbox="bwrap"), "alice", data)
    on_ray = make_harness(tmp_path / "ray", f"sqlite:///{tmp_path / 'ray.db'}",
                          sandbox="bwrap", backend={"kind": "ray", "address": cluster.address})
    with caplog.at_level(logging.INFO, logger="grader.service.worker"):
        remote = _graded(on_ray, "alice", data)
    graded_on = [r.getMessage() for r in caplog.records if "on ray node " in r.getMessage()]
    assert len(graded_on) == 1, caplog.text  # once, by a slot of the cluster
    assert "on ray node local" not in graded_on[0]
    assert remote["status"] == local["status"] == "ok"
    assert 0 < remote["score"] == local["score"] < remote["max_score"]
    tests = [(t["name"], t["status"], t["score"]) for t in remote["feedback"]["tests"]]
    assert tests == [(t["name"], t["status"], t["score"]) for t in local["feedback"]["tests"]]
    # Written by this process (the driver) through the results store, where `grader report`
    # reads it.
    results = on_ray.service.paths.results / A2 / "alice" / "results.json"
    assert f'"score": {remote["score"]}' in results.read_text()


def test_the_lease_is_renewed_while_the_cluster_grades(
        cluster: LocalCluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A lease shorter than the task: without renewals the sweep would queue the job again
    and it would be graded twice."""
    from grader.service import queue
    from grader.service.models import AttemptResult, Job

    monkeypatch.setattr(queue, "LEASE", dt.timedelta(seconds=1.5))
    svc = make_harness(tmp_path, f"sqlite:///{tmp_path / 'grader.db'}", sandbox="bwrap",
                       backend={"kind": "ray", "address": cluster.address})
    attempt = submit(svc, "alice", "softmax.py", solution_text(A2).encode()).json()["id"]
    stop, requeued = threading.Event(), []

    def sweep() -> None:  # what every grading process does now and then
        while not stop.wait(0.2):
            with svc.service.sessions() as db:
                requeued.append(queue.requeue_stale(db))

    sweeper = threading.Thread(target=sweep)
    sweeper.start()
    try:
        assert svc.grade_all() == 1
    finally:
        stop.set()
        sweeper.join()
    assert sum(requeued) == 0
    with svc.service.sessions() as db:
        assert [(j.status, j.tries) for j in db.query(Job)] == [("done", 1)]
        assert [r.attempt_id for r in db.query(AttemptResult)] == [attempt]
