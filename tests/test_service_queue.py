"""The queue survives kill -9: real `grader serve` processes (web server, grading processes and
their sandboxes) are killed mid-grading and started again; every acknowledged attempt ends with
exactly one result, graded in the sandbox through the engine and readable by `grader report`."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from conftest import ROOT, solution_text
from service_support import (
    _free_port,
    database_urls,
    make_harness,
    postgres_server,  # noqa: F401 (fixture)
    wait_for,
)
from sqlalchemy import func, select

from grader.service.models import AttemptResult, Job

A2 = "a2_softmax"
pytestmark = [pytest.mark.sandbox, pytest.mark.slow]


def start_serve(course: Path, env: dict[str, str], port: int, log: Path) -> subprocess.Popen:
    """`grader serve` in its own process group (its grading processes join it)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "grader.cli", "--config", str(course), "serve", "--port",
         str(port), "--workers", "1", "--timeout", "60"],
        cwd=ROOT, env=env, stdout=log.open("a"), stderr=subprocess.STDOUT,
        start_new_session=True)

    def up() -> bool:
        try:
            return httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200
        except httpx.HTTPError:
            assert proc.poll() is None, log.read_text()[-3000:]
            return False

    wait_for(up, 60, "the service to answer /health")
    return proc


def kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait(timeout=30)


def assert_submit_py_hands_in(svc, tmp_path: Path, base: str) -> None:
    folder = tmp_path / "release"
    shutil.copytree(ROOT / "assignments" / A2, folder)
    (folder / "softmax.py").write_text(solution_text(A2))
    env = {**os.environ, "GRADER_URL": base,
           "GRADER_TOKEN": svc.token("bob")["Authorization"].split()[1]}
    run = subprocess.run([sys.executable, "-I", "submit.py", "softmax.py"], cwd=folder, env=env,
                         capture_output=True, text=True, timeout=240)
    assert run.returncode == 0, run.stderr
    assert "received: submission" in run.stdout and "score: 30 / 30" in run.stdout
    bad = subprocess.run([sys.executable, "-I", "submit.py", "softmax.py", "--token", "nope"],
                         cwd=folder, env=env, capture_output=True, text=True, timeout=60)
    assert bad.returncode == 1 and "401" in bad.stderr and "Bearer" in bad.stderr


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_acknowledged_attempts_survive_kill_9_with_exactly_one_result(tmp_path, backend,
                                                                      request):
    server = request.getfixturevalue("postgres_server") if backend == "postgresql" else None
    url = database_urls(backend, tmp_path, server)
    svc = make_harness(tmp_path, url, sandbox="bwrap")
    headers = svc.token("alice")
    env = {**os.environ, "GRADER_DATABASE_URL": url, "GRADER_SERVICE_LEASE_S": "3",
           "GRADER_SERVICE_DATA": str(svc.service.paths.root)}
    course, log, port = svc.course.path, tmp_path / "serve.log", _free_port()
    base = f"http://127.0.0.1:{port}"
    proc = start_serve(course, env, port, log)
    try:
        ids = []
        for i in range(2):
            code = solution_text(A2) + f"\n# attempt {i}\n"
            response = httpx.post(f"{base}/api/assignments/{A2}/submissions", headers=headers,
                                  files={"file": ("softmax.py", code.encode())}, timeout=30)
            assert response.status_code == 202, response.text
            ids.append(response.json()["id"])

        def running() -> bool:
            return any(httpx.get(f"{base}/api/submissions/{i}", headers=headers)
                       .json()["status"] == "running" for i in ids)

        wait_for(running, 60, "grading to start")
    finally:
        kill_group(proc)
    with svc.service.sessions() as db:
        assert db.scalar(select(func.count()).select_from(Job)) == 2  # acknowledged = queued
        done_before = db.scalar(select(func.count()).select_from(AttemptResult))
    assert done_before < 2, "the kill came too late to test anything"

    port = _free_port()
    proc = start_serve(course, env, port, log)
    try:
        def finished() -> bool:
            return all(httpx.get(f"http://127.0.0.1:{port}/api/submissions/{i}",
                                 headers=headers).json()["status"] not in ("queued", "running")
                       for i in ids)

        wait_for(finished, 240, "every attempt to be graded after the restart")
        statuses = [httpx.get(f"http://127.0.0.1:{port}/api/submissions/{i}",
                              headers=headers).json() for i in ids]
        if backend == "sqlite":  # the released client, as a student runs it
            assert_submit_py_hands_in(svc, tmp_path, f"http://127.0.0.1:{port}")
    finally:
        kill_group(proc)
    assert [(s["status"], s["score"]) for s in statuses] == [("ok", 30.0)] * 2
    with svc.service.sessions() as db:
        per_attempt = db.execute(select(AttemptResult.attempt_id, func.count())
                                 .group_by(AttemptResult.attempt_id)).all()
        assert sorted(row for row in per_attempt if row[0] in ids) == [(i, 1) for i in ids]
        assert all(count == 1 for _, count in per_attempt)
        assert db.scalar(select(func.max(Job.tries))) >= 2  # one was graded again
        assert db.scalar(select(func.count()).select_from(Job).where(Job.status != "done")) == 0
    report = subprocess.run(
        [sys.executable, "-m", "grader.cli", "--config", str(course), "report", A2,
         "--results", str(svc.service.paths.results), "--out", str(tmp_path / "report")],
        cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert report.returncode == 0, report.stderr
    assert "alice,30" in (tmp_path / "report" / "gradebook.csv").read_text()
