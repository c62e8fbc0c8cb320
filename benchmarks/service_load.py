"""Load on `grader serve`: a deadline burst, the queue's drain rate, the staff dashboard.

Prints:
  * deadline burst: N students (default 300) each upload once within W seconds (default 60)
    to a local `grader serve` (loopback; a bounded pool of client threads keeps the schedule)
    while its grading processes grade: uploads acknowledged (202), lost (acknowledged but
    without exactly one result at the end), p50/p95/max acknowledgement latency;
  * the queue's drain rate (results per second from the first acknowledgement to the last
    result) next to `grader grade` on the same batch with the same number of workers;
  * the staff dashboard of an assignment with 1,000 results: render time of GET /staff/<a>.

Usage: python benchmarks/service_load.py [--students 300] [--window 60] [--workers 2]
       [--assignment a2_softmax] [--dashboard-results 1000] [--skip-cli]
       [--ack-only | --burst-only]
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import os
import random
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from grader.authoring.release import strip_markers  # noqa: E402
from grader.course.config import load_config  # noqa: E402
from grader.service.models import ApiToken, AttemptResult, Job, User  # noqa: E402
from grader.service.serve import open_service  # noqa: E402

COURSE = load_config(ROOT / "grader.yaml")


def write_course(folder: Path, assignment: str) -> Path:
    cfg = COURSE.assignment(assignment)
    path = folder / "grader.yaml"
    path.write_text("\n".join([
        "course: Load test", "defaults:", "  call_timeout_s: 20", "  submission_timeout_s: 120",
        "assignments:", f"  {assignment}:", f"    title: {cfg.title!r}",
        f"    module: {cfg.module}", f"    points: {cfg.points}",
        f"    hidden_tests: {cfg.hidden_tests}", f"    solution: {cfg.solution_dir}",
        f"    release: {cfg.release_dir}"]) + "\n")
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_students(service, count: int) -> dict[str, str]:
    """Accounts with API tokens only (no argon2 hashing: it is not what is measured)."""
    tokens = {}
    with service.sessions() as db:
        for i in range(count):
            login, token = f"s{i:04d}", f"gt_{secrets.token_urlsafe(24)}"
            user = User(login=login, role="student")
            db.add(user)
            db.flush()
            db.add(ApiToken(user_id=user.id, token_hash=hashlib.sha256(token.encode())
                            .hexdigest()))
            tokens[login] = token
        db.commit()
    return tokens


def submissions(assignment: str, count: int) -> dict[str, str]:
    """The solution with a per-student comment (distinct hashes), as students hand it in."""
    cfg = COURSE.assignment(assignment)
    code = strip_markers((cfg.solution_dir / cfg.module_file).read_text())
    return {f"s{i:04d}": f"{code}\n# student {i}\n" for i in range(count)}


def burst(base: str, assignment: str, tokens: dict[str, str], codes: dict[str, str],
          window: float, module_file: str) -> tuple[list[float], dict[str, int], float]:
    """Each student uploads once at a random moment of the window; (latencies, ids, t0)."""
    rng = random.Random(7)
    schedule = sorted((rng.uniform(0, window), login) for login in tokens)
    latencies: list[float] = []
    ids: dict[str, int] = {}
    lock = threading.Lock()
    client = httpx.Client(timeout=60, limits=httpx.Limits(max_connections=32))
    t0 = time.monotonic()

    def one(when: float, login: str) -> None:
        delay = t0 + when - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        started = time.monotonic()
        response = client.post(f"{base}/api/assignments/{assignment}/submissions",
                               headers={"Authorization": f"Bearer {tokens[login]}"},
                               files={"file": (module_file, codes[login].encode())})
        elapsed = time.monotonic() - started
        with lock:
            if response.status_code == 202:
                latencies.append(elapsed)
                ids[login] = response.json()["id"]
            else:
                print(f"  {login}: {response.status_code} {response.text[:200]}")

    with ThreadPoolExecutor(max_workers=32) as pool:
        list(pool.map(lambda item: one(*item), schedule))
    client.close()
    return latencies, ids, t0


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def dashboard(service, assignment: str, count: int) -> tuple[float, float, int]:
    """Time of GET /staff/<a> with ``count`` more results (in process): the first request
    after the results changed, the median of four more (the cached page), and how many
    results it shows."""
    from fastapi.testclient import TestClient

    from grader.service import accounts
    from grader.service.app import SESSION_COOKIE, create_app

    folder = service.paths.results / assignment
    sample = json.loads(next(folder.glob("*/results.json")).read_text())
    rng = random.Random(3)
    for i in range(count):
        result = copy.deepcopy(sample)
        result["student_id"] = f"d{i:04d}"
        for test in result["tests"]:
            if rng.random() < 0.2:
                test.update(status="failed", score=0.0, output=f"expected {rng.random():.3f}")
        result["score"] = sum(t["score"] for t in result["tests"])
        result["execution_time"] = rng.uniform(0.5, 3)
        target = folder / result["student_id"] / "results.json"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(result))
    with service.sessions() as db:
        staff = User(login="bench-ta", role="ta")
        db.add(staff)
        db.flush()
        cookie = accounts.new_session(db, staff)
        db.commit()
    total = len(list(folder.glob("*/results.json")))
    client = TestClient(create_app(service))
    client.cookies.set(SESSION_COOKIE, cookie)
    times = []
    for _ in range(5):
        started = time.monotonic()
        response = client.get(f"/staff/{assignment}")
        times.append(time.monotonic() - started)
        assert response.status_code == 200 and f"{total} results" in response.text
    return times[0], statistics.median(times[1:]), total


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=300)
    parser.add_argument("--window", type=float, default=60.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--assignment", default="a2_softmax")
    parser.add_argument("--dashboard-results", type=int, default=1000)
    parser.add_argument("--skip-cli", action="store_true", help="skip the `grader grade` run")
    parser.add_argument("--ack-only", action="store_true", help="no grading processes: the "
                        "burst's acknowledgement latency alone (nothing drains)")
    parser.add_argument("--burst-only", action="store_true", help="grading runs during the "
                        "burst, then stop (no drain, CLI run or dashboard): for A/B runs")
    args = parser.parse_args()
    cfg = COURSE.assignment(args.assignment)
    # ignore_cleanup_errors: after --burst-only, grading processes may still be writing.
    with tempfile.TemporaryDirectory(prefix="service-load-", ignore_cleanup_errors=True) as tmp:
        folder = Path(tmp)
        course_path = write_course(folder, args.assignment)
        env = {**os.environ, "GRADER_SERVICE_DATA": str(folder / "data")}
        os.environ["GRADER_SERVICE_DATA"] = str(folder / "data")
        service = open_service(load_config(course_path))
        tokens = make_students(service, args.students)
        codes = submissions(args.assignment, args.students)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        proc = subprocess.Popen(
            [sys.executable, "-m", "grader.cli", "--config", str(course_path), "serve",
             "--port", str(port), "--workers", "0" if args.ack_only else str(args.workers)],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True)
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    if time.monotonic() > deadline:
                        raise SystemExit("the service did not start") from None
                    time.sleep(0.3)
            print(f"burst: {args.students} students upload once within {args.window:g} s "
                  f"({args.assignment}, {0 if args.ack_only else args.workers} grading "
                  f"processes, SQLite; load average {os.getloadavg()[0]:.1f} on "
                  f"{os.cpu_count()} cores)")
            latencies, ids, t0 = burst(base, args.assignment, tokens, codes, args.window,
                                       cfg.module_file)
            burst_s = time.monotonic() - t0
            print(f"  acknowledged {len(latencies)}/{args.students} in {burst_s:.1f} s; "
                  f"ack latency p50 {percentile(latencies, .5) * 1000:.0f} ms, "
                  f"p95 {percentile(latencies, .95) * 1000:.0f} ms, "
                  f"max {max(latencies) * 1000:.0f} ms")
            if args.ack_only or args.burst_only:
                return 0
            while True:
                with service.sessions() as db:
                    open_jobs = db.scalar(select(func.count()).select_from(Job).where(
                        Job.status != "done"))
                if not open_jobs:
                    break
                time.sleep(1)
            drain_s = time.monotonic() - t0
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=120)
        with service.sessions() as db:
            counts = dict(db.execute(select(AttemptResult.attempt_id, func.count())
                                     .group_by(AttemptResult.attempt_id)).all())
            ok = db.scalar(select(func.count()).select_from(AttemptResult).where(
                AttemptResult.status == "ok"))
        lost = sum(1 for i in ids.values() if counts.get(i) != 1)
        print(f"  lost {lost} (acknowledged without exactly one result); {ok} graded ok")
        print(f"  service: {len(ids)} results in {drain_s:.1f} s from the first upload = "
              f"{len(ids) / drain_s:.2f} results/s")
        if not args.skip_cli:
            batch = folder / "batch"
            batch.mkdir()
            for login, code in codes.items():
                (batch / f"{login}.py").write_text(code)
            started = time.monotonic()
            subprocess.run([sys.executable, "-m", "grader.cli", "--config", str(course_path),
                            "grade", args.assignment, str(batch), "--out", str(folder / "cli"),
                            "--workers", str(args.workers), "-q"], cwd=ROOT, check=True)
            cli_s = time.monotonic() - started
            print(f"  grader grade, same batch, {args.workers} workers: {args.students} in "
                  f"{cli_s:.1f} s = {args.students / cli_s:.2f} results/s")
        cold, warm, total = dashboard(service, args.assignment, args.dashboard_results)
        print(f"dashboard: GET /staff/{args.assignment} with {total} results: "
              f"{cold * 1000:.0f} ms after results changed (report and charts rendered), "
              f"{warm * 1000:.0f} ms unchanged (median of 4)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
