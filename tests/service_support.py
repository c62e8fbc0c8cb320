"""Helpers of the service tests (tests/test_service_*.py): a course folder, the database
backends (SQLite, and a real PostgreSQL server), an in-process client and grading."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import COURSE
from fastapi.testclient import TestClient
from results_factory import make_result, make_test

from grader.course.config import CourseConfig, load_config
from grader.service import accounts, queue
from grader.service.app import create_app
from grader.service.serve import open_service
from grader.service.submissions import Service
from grader.service.worker import GradingProcess

# Debian's server binaries (/usr/lib/postgresql/<major>/bin), the newest installed.
PG_BIN = max(Path("/usr/lib/postgresql").glob("*/bin"), default=Path("/usr/lib/postgresql/bin"),
             key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0)
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def write_course(folder: Path, *, service: dict | None = None, due: str | None = None,
                 sandbox: str = "none", assignments: tuple[str, ...] = ("a2_softmax",),
                 backend: dict | None = None) -> Path:
    """grader.yaml for the real suites of ``assignments`` (fast numpy ones), graded on
    ``backend`` (grader.yaml's ``backend:``) when given."""
    lines = ["course: Service Test", "defaults:", f"  sandbox: {sandbox}",
             "  call_timeout_s: 20", "  submission_timeout_s: 120", "assignments:"]
    for name in assignments:
        cfg = COURSE.assignment(name)
        lines += [f"  {name}:", f"    title: {cfg.title!r}", f"    module: {cfg.module}",
                  f"    points: {cfg.points}", f"    hidden_tests: {cfg.hidden_tests}",
                  f"    solution: {cfg.solution_dir}", f"    release: {cfg.release_dir}"]
        if due is not None:
            lines.append(f"    due: {due!r}")
    if backend:
        lines.append("backend:")
        lines += [f"  {k}: {v}" for k, v in backend.items()]
    if service:
        lines.append("service:")
        lines += [f"  {k}: {v}" for k, v in service.items()]
    path = folder / "grader.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


# -- PostgreSQL ------------------------------------------------------------------------------

@dataclass
class PostgresServer:
    folder: Path
    port: int
    started: bool

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://postgres@/{database}?host={self.folder}&port={self.port}"

    def admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(host=str(self.folder), port=self.port, user="postgres",
                             dbname="postgres", autocommit=True) as conn:
            conn.execute(sql)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _missing_postgres(why: str) -> None:
    message = (f"PostgreSQL is not available ({why}): install Debian's postgresql "
               "(make setup) or set GRADER_TEST_POSTGRES to a server URL")
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(f"SKIPPED POSTGRESQL TEST: {message}")


def start_postgres() -> PostgresServer:
    """A throw-away PostgreSQL server on a unix socket in a temp dir: as the postgres user
    when we are root (PostgreSQL refuses to run as root), else as ourselves."""
    if not (PG_BIN / "initdb").is_file():
        _missing_postgres(f"no {PG_BIN / 'initdb'}")
    folder = Path(tempfile.mkdtemp(prefix="grader-pg-"))
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres")
    port = _free_port()
    run = _as_server_user

    run(f"{PG_BIN / 'initdb'} -D {folder}/data -A trust -U postgres")
    run(f"{PG_BIN / 'pg_ctl'} -D {folder}/data -l {folder}/log -w -o "
        f"\"-k {folder} -p {port} -c listen_addresses='' -c fsync=off\" start")
    return PostgresServer(folder, port, True)


def _as_server_user(command: str, check: bool = True) -> None:
    argv = ["su", "postgres", "-s", "/bin/sh", "-c", command] if os.geteuid() == 0 else \
        ["/bin/sh", "-c", command]
    subprocess.run(argv, check=check, capture_output=True, timeout=120)


def stop_postgres(server: PostgresServer) -> None:
    _as_server_user(f"{PG_BIN / 'pg_ctl'} -D {server.folder}/data -m immediate -w stop",
                    check=False)
    shutil.rmtree(server.folder, ignore_errors=True)


_counter = iter(range(1, 1 << 30))


def database_urls(backend: str, folder: Path, postgres: PostgresServer | None) -> str:
    """A fresh, empty database of ``backend`` for one test."""
    if backend == "sqlite":
        return f"sqlite:///{folder / 'grader.db'}"
    given = os.environ.get("GRADER_TEST_POSTGRES")
    if given:
        from sqlalchemy import create_engine, text
        from sqlalchemy.engine import make_url

        name = f"grader_test_{os.getpid()}_{next(_counter)}"
        engine = create_engine(given, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text(f"CREATE DATABASE {name}"))
        engine.dispose()
        return make_url(given).set(database=name).render_as_string(hide_password=False)
    assert postgres is not None
    name = f"grader_test_{next(_counter)}"
    postgres.admin(f"CREATE DATABASE {name}")
    return postgres.url(name)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer | None]:
    if os.environ.get("GRADER_TEST_POSTGRES"):
        yield None
        return
    server = start_postgres()
    try:
        yield server
    finally:
        stop_postgres(server)


# -- the service -----------------------------------------------------------------------------

@dataclass
class Harness:
    """A service on a temp course, its in-process client, and grading on demand."""

    service: Service
    client: TestClient
    passwords: dict[str, str]

    @property
    def course(self) -> CourseConfig:
        return self.service.course

    def sign_in(self, login: str, client: TestClient | None = None) -> TestClient:
        client = client or TestClient(self.client.app)
        token = csrf_of(client.get("/login").text)
        response = client.post("/login", data={"login": login, "password": self.passwords[login],
                                               "csrf": token}, follow_redirects=False)
        assert response.status_code == 303, response.text
        return client

    def token(self, login: str) -> dict[str, str]:
        with self.service.sessions() as db:
            secret = accounts.new_api_token(db, accounts.find_user(db, login))
            db.commit()
        return {"Authorization": f"Bearer {secret}"}

    def record_results(self, score_of=lambda claimed: 30.0) -> int:
        """Close every queued job with a made-up result (results_factory) through the same
        ``queue.finish`` as a grading process: the service's rules without the engine's time.
        ``score_of(claimed)`` is the score out of 30."""
        count = 0
        while True:
            with self.service.sessions() as db:
                claimed = queue.claim(db, "test-worker")
            if claimed is None:
                return count
            score = score_of(claimed)
            tests = [make_test("test_softmax_rows_sum_to_one", points=score),
                     make_test("test_softmax_stable_for_large_logits", passed=False,
                               points=30.0 - score)]
            result = make_result(claimed.login, tests, assignment=claimed.assignment,
                                 late=claimed.late)
            with self.service.sessions() as db:
                assert queue.finish(db, self.service.paths, claimed, "test-worker", result,
                                    self.course.service.counts,
                                    self.course.service.late_policy)
            count += 1

    def grade_all(self) -> int:
        """Grade every queued job in this process (as a grading process would)."""
        grading = GradingProcess(self.course, self.service.paths, self.service.sessions, 0,
                                 insecure=True)
        count = 0
        try:
            while True:
                with self.service.sessions() as db:
                    claimed = queue.claim(db, grading.name)
                if claimed is None:
                    return count
                grading.grade(claimed)
                count += 1
        finally:
            grading.close()


def csrf_of(page: str) -> str:
    found = _CSRF.search(page)
    assert found, "no CSRF token on the page"
    return found[1]


USERS = (("alice", "student"), ("bob", "student"), ("tara", "ta"))
_sqlite_template: list[Path] = []


def _add_users(service: Service) -> None:
    with service.sessions() as db:
        for login, role in USERS:
            accounts.add_user(db, login, role, password=f"{login}-secret-pw")
        db.commit()


def make_harness(folder: Path, url: str, **course: object) -> Harness:
    """A service with the accounts of USERS (password ``<login>-secret-pw``). SQLite
    databases are copies of one migrated template (argon2 hashing is slow by design)."""
    if url.startswith("sqlite") and not _sqlite_template:
        template = Path(tempfile.mkdtemp(prefix="grader-template-")) / "grader.db"
        os.environ["GRADER_DATABASE_URL"] = f"sqlite:///{template}"
        try:
            made = open_service(load_config(write_course(template.parent)))
            _add_users(made)
            made.sessions.kw["bind"].dispose()  # the last close checkpoints the WAL file
        finally:
            del os.environ["GRADER_DATABASE_URL"]
        _sqlite_template.append(template)
    fresh = url.startswith("sqlite")
    if fresh:
        shutil.copyfile(_sqlite_template[0], url.removeprefix("sqlite:///"))
    os.environ["GRADER_SERVICE_DATA"] = str(folder / "data")
    os.environ["GRADER_DATABASE_URL"] = url
    try:
        service = open_service(load_config(write_course(folder, **course)))
    finally:
        del os.environ["GRADER_SERVICE_DATA"], os.environ["GRADER_DATABASE_URL"]
    if not fresh:
        _add_users(service)
    passwords = {login: f"{login}-secret-pw" for login, _ in USERS}
    return Harness(service, TestClient(create_app(service)), passwords)


def wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")
