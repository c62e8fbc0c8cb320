"""The service's pages and API in process (FastAPI's TestClient): sign-in, authorization
between students and roles, uploads of every format and every refusal, the attempt cap, the
rate limit, the late policy, CSRF, security headers and error pages. Grading runs through the
engine in this process (grader.service.worker.GradingProcess) without the sandbox: the
sandboxed path is covered by test_service_queue.py and test_service_browser.py."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest
from conftest import solution_text, stub_text
from service_support import (
    Harness,
    csrf_of,
    database_urls,
    make_harness,
    postgres_server,  # noqa: F401 (fixture)
)

from grader.course.config import ConfigError, load_config
from grader.service.models import AttemptResult, Job

A2 = "a2_softmax"


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def db_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    server = request.getfixturevalue("postgres_server") if backend == "postgresql" else None
    return database_urls(backend, tmp_path, server)


@pytest.fixture
def svc(tmp_path: Path) -> Harness:
    return make_harness(tmp_path, f"sqlite:///{tmp_path / 'grader.db'}")


def notebook_of(code: str) -> bytes:
    return json.dumps({"cells": [{"cell_type": "code", "metadata": {}, "outputs": [],
                                  "execution_count": None, "source": code}],
                       "metadata": {}, "nbformat": 4, "nbformat_minor": 5}).encode()


def zip_of(name: str, data: bytes) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr(name, data)
    return buf.getvalue()


def submit(svc: Harness, login: str, filename: str, data: bytes, assignment: str = A2):
    return svc.client.post(f"/api/assignments/{assignment}/submissions",
                           headers=svc.token(login), files={"file": (filename, data)})


# -- sign-in ---------------------------------------------------------------------------------

def test_sign_in_with_the_right_password_sets_an_httponly_samesite_session_cookie(svc):
    client = svc.client
    token = csrf_of(client.get("/login").text)
    response = client.post("/login", data={"login": "alice", "password": "alice-secret-pw",
                                           "csrf": token}, follow_redirects=False)
    assert response.status_code == 303
    cookie = response.headers["set-cookie"]
    assert "grader_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert "A2" not in client.get("/").text and "Softmax" in client.get("/").text


def test_a_wrong_password_is_refused_and_pages_redirect_to_sign_in(svc):
    client = svc.client
    token = csrf_of(client.get("/login").text)
    response = client.post("/login", data={"login": "alice", "password": "wrong",
                                           "csrf": token})
    assert response.status_code == 401 and "wrong account or password" in response.text
    assert client.get("/", follow_redirects=False).headers["location"] == "/login"


def test_sign_in_is_throttled_after_five_failures_even_with_the_right_password(svc):
    client = svc.client
    token = csrf_of(client.get("/login").text)
    for _ in range(5):
        client.post("/login", data={"login": "bob", "password": "guess", "csrf": token})
    response = client.post("/login", data={"login": "bob", "password": "bob-secret-pw",
                                           "csrf": token})
    assert response.status_code == 429 and "too many failed sign-ins" in response.text


def test_session_cookie_is_secure_behind_tls(svc):
    client = svc.client.__class__(svc.client.app, base_url="https://testserver")
    token = csrf_of(client.get("/login").text)
    response = client.post("/login", data={"login": "alice", "password": "alice-secret-pw",
                                           "csrf": token}, follow_redirects=False)
    assert "Secure" in response.headers["set-cookie"]


def test_a_one_time_sign_in_link_works_once(svc):
    from grader.service import accounts

    with svc.service.sessions() as db:
        secret = accounts.new_sign_in_link(db, accounts.find_user(db, "bob"))
        db.commit()
    first = svc.client.get(f"/signin/{secret}", follow_redirects=False)
    assert first.status_code == 303 and first.headers["location"].startswith("/account")
    again = svc.client.__class__(svc.client.app).get(f"/signin/{secret}")
    assert again.status_code == 404 and "already used" in again.text


def test_every_form_needs_its_csrf_token(svc):
    client = svc.sign_in("alice")
    response = client.post(f"/assignments/{A2}/submissions",
                           files={"file": ("softmax.py", solution_text(A2).encode())})
    assert response.status_code == 403 and "did not come from this site" in response.text
    assert client.post("/login", data={"login": "alice", "password": "x"}).status_code == 403


# -- uploads and refusals --------------------------------------------------------------------

@pytest.mark.parametrize("filename,make", [
    ("softmax.py", lambda code: code.encode()),
    ("Softmax.ipynb", notebook_of),
    ("softmax.zip", lambda code: zip_of("softmax.py", code.encode())),
])
def test_each_format_is_accepted_and_queued(svc, filename, make):
    response = submit(svc, "alice", filename, make(solution_text(A2)))
    assert response.status_code == 202 and response.json()["status"] == "queued"
    status = svc.client.get(f"/api/submissions/{response.json()['id']}",
                            headers=svc.token("alice")).json()
    assert status["status"] == "queued" and status["queue_position"] == 1
    assert svc.client.get("/api/assignments", headers=svc.token("alice")).json()[0][
        "attempts_used"] == 1


@pytest.mark.parametrize("filename,data,message", [
    ("softmax.txt", b"x = 1", "expected a .py file, a .ipynb notebook, a .zip"),
    ("softmax.py", b"", "is empty (no code to grade)"),
    ("softmax.py", None, "is the unchanged starter code"),
    ("softmax.ipynb", b"{not json", "not a valid Jupyter notebook"),
    ("softmax.zip", zip_of("../evil.py", b"x = 1"), "evil.py"),
])
def test_each_refusal_has_the_intake_message_and_uses_no_attempt(svc, filename, data,
                                                                   message):
    response = submit(svc, "alice", filename, stub_text(A2).encode() if data is None else data)
    assert response.status_code == 422 and message in response.json()["error"]
    assert svc.client.get("/api/assignments", headers=svc.token("alice")).json()[0][
        "attempts_used"] == 0


def test_an_upload_over_the_size_limit_is_cut_off_while_streaming(svc):
    from grader.intake.staging import MAX_TOTAL_BYTES

    response = submit(svc, "alice", "softmax.py", b"#" * (MAX_TOTAL_BYTES + (1 << 20)))
    assert response.status_code == 413 and "larger than" in response.json()["error"]
    assert not list((svc.service.paths.uploads).glob("*/*"))


def test_a_chunked_upload_without_a_length_is_cut_off_at_the_limit(svc):
    from grader.intake.staging import MAX_TOTAL_BYTES

    def body():  # a generator: sent chunked, with no Content-Length to check up front
        yield (b'--xx\r\nContent-Disposition: form-data; name="file"; filename="softmax.py"'
               b"\r\n\r\n")
        for _ in range((MAX_TOTAL_BYTES >> 20) + 8):
            yield b"#" * (1 << 20)
        yield b"\r\n--xx--\r\n"

    response = svc.client.post(f"/api/assignments/{A2}/submissions", content=body(),
                               headers={**svc.token("alice"),
                                        "content-type": "multipart/form-data; boundary=xx"})
    assert response.status_code == 413
    assert not list(svc.service.paths.uploads.glob("*/*"))
    assert not list(svc.service.scratch.iterdir())


def test_the_page_upload_refusal_is_shown_on_the_assignment_page(svc):
    client = svc.sign_in("alice")
    token = csrf_of(client.get(f"/assignments/{A2}").text)
    response = client.post(f"/assignments/{A2}/submissions", data={"csrf": token},
                           files={"file": ("softmax.py", b"")})
    assert response.status_code == 422 and "Not accepted: your file softmax.py is empty" \
        in response.text


def test_uploads_are_stored_by_content_hash_outside_any_served_path(svc):
    data = solution_text(A2).encode()
    submit(svc, "alice", "softmax.py", data)
    import hashlib

    sha = hashlib.sha256(data).hexdigest()
    assert (svc.service.paths.uploads / sha[:2] / sha).read_bytes() == data
    for path in (f"/uploads/{sha}", f"/uploads/{sha[:2]}/{sha}", f"/{sha}",
                 f"/static/{sha}", f"/data/uploads/{sha[:2]}/{sha}"):
        assert svc.sign_in("alice").get(path).status_code == 404


# -- authorization ---------------------------------------------------------------------------

def test_a_student_sees_only_their_own_attempts_by_any_id(svc):
    mine = [submit(svc, "alice", "softmax.py", f"x = {i}".encode()).json()["id"]
            for i in range(2)]
    svc.record_results()
    bob_api, bob_page = svc.token("bob"), svc.sign_in("bob")
    for attempt in range(0, max(mine) + 5):
        for path in (f"/api/submissions/{attempt}", f"/api/submissions/{attempt}/feedback"):
            assert bob_api and svc.client.get(path, headers=bob_api).status_code == 404
        page = bob_page.get(f"/attempts/{attempt}")
        assert page.status_code == 404 and "alice" not in page.text
    assert svc.client.get(f"/api/submissions/{mine[0]}",
                          headers=svc.token("alice")).status_code == 200


def test_api_without_a_valid_token_is_401_json(svc):
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic x"}):
        response = svc.client.get("/api/assignments", headers=headers)
        assert response.status_code == 401 and "Bearer" in response.json()["error"]


@pytest.mark.parametrize("path", [f"/staff/{A2}", f"/staff/{A2}/students",
                                  f"/staff/{A2}/gradebook.csv", f"/staff/{A2}/canvas_grades.csv",
                                  f"/staff/{A2}/similarity", "/staff/"])
def test_staff_pages_refuse_students(svc, path):
    response = svc.sign_in("alice").get(path)
    assert response.status_code == 403 and "for course staff" in response.text


def test_staff_regrade_and_publish_refuse_students(svc):
    attempt = submit(svc, "alice", "softmax.py", solution_text(A2).encode()).json()["id"]
    client = svc.sign_in("alice")
    token = csrf_of(client.get("/").text)
    assert client.post(f"/staff/attempts/{attempt}/regrade",
                       data={"csrf": token}).status_code == 403
    assert client.post(f"/staff/{A2}/publish", data={"csrf": token,
                                                     "published": "1"}).status_code == 403


def test_a_ta_sees_the_live_report_regrades_and_downloads_the_gradebook(svc):
    for login in ("alice", "bob"):
        submit(svc, login, "softmax.py", solution_text(A2).encode())
    svc.record_results()
    ta = svc.sign_in("tara")
    page = ta.get(f"/staff/{A2}")
    assert page.status_code == 200 and "2 results" in page.text
    assert "data:image/svg+xml" in page.text  # the charts
    token = csrf_of(page.text)
    assert ta.post(f"/staff/{A2}/regrade", data={"csrf": token}).status_code == 200
    with svc.service.sessions() as db:
        assert db.query(Job).filter(Job.status == "queued").count() == 2
    svc.record_results()
    with svc.service.sessions() as db:
        assert db.query(AttemptResult).count() == 2  # a regrade replaces, never adds
    book = ta.get(f"/staff/{A2}/gradebook.csv")
    assert book.status_code == 200 and "attachment" in book.headers["content-disposition"]
    lines = book.text.splitlines()
    assert lines[0].startswith("student_id,total") and any(
        line.startswith("alice,30") for line in lines)
    canvas = ta.get(f"/staff/{A2}/canvas_grades.csv").text
    assert "Softmax" in canvas.splitlines()[0]


# -- rules of grader.yaml --------------------------------------------------------------------

def test_the_attempt_cap_refuses_the_next_upload(tmp_path):
    svc = make_harness(tmp_path, f"sqlite:///{tmp_path / 'g.db'}",
                       service={"max_attempts": 2})
    codes = [submit(svc, "alice", "softmax.py", solution_text(A2).encode()).status_code
             for _ in range(3)]
    assert codes == [202, 202, 403]
    assert submit(svc, "bob", "softmax.py", solution_text(A2).encode()).status_code == 202
    assert svc.client.get("/api/assignments", headers=svc.token("alice")).json()[0][
        "attempts_left"] == 0


def test_the_rate_limit_answers_429_with_retry_after(tmp_path):
    svc = make_harness(tmp_path, f"sqlite:///{tmp_path / 'g.db'}",
                       service={"uploads_per_hour": 1})
    assert submit(svc, "alice", "softmax.py", solution_text(A2).encode()).status_code == 202
    response = submit(svc, "alice", "softmax.py", solution_text(A2).encode())
    assert response.status_code == 429 and int(response.headers["retry-after"]) > 3000
    assert "uploads per hour" in response.json()["error"]


def test_late_policy_refuse_refuses_after_the_due_date(tmp_path):
    svc = make_harness(tmp_path, f"sqlite:///{tmp_path / 'g.db'}", due="2020-01-01",
                       service={"late_policy": "refuse"})
    response = submit(svc, "alice", "softmax.py", solution_text(A2).encode())
    assert response.status_code == 403 and "late submissions are not accepted" in \
        response.json()["error"]


def test_late_policy_accept_grades_and_marks_late(tmp_path):
    svc = make_harness(tmp_path, f"sqlite:///{tmp_path / 'g.db'}", due="2020-01-01")
    attempt = submit(svc, "alice", "softmax.py", solution_text(A2).encode()).json()["id"]
    svc.record_results()
    status = svc.client.get(f"/api/submissions/{attempt}", headers=svc.token("alice")).json()
    assert status["late"] is True and status["score"] == 30
    stored = json.loads((svc.service.paths.results / A2 / "alice" / "results.json").read_text())
    assert stored["late"] is True


def test_best_attempt_counts_when_configured(tmp_path):
    svc = make_harness(tmp_path, f"sqlite:///{tmp_path / 'g.db'}", service={"counts": "best"})
    first = submit(svc, "alice", "softmax.py", b"x = 1").json()["id"]
    submit(svc, "alice", "softmax.py", b"x = 2")
    svc.record_results(lambda claimed: 30.0 if claimed.attempt_id == first else 10.0)
    counted = json.loads((svc.service.paths.results / A2 / "alice" / "results.json").read_text())
    assert counted["score"] == 30


def test_last_attempt_counts_by_default(svc):
    first = submit(svc, "alice", "softmax.py", b"x = 1").json()["id"]
    submit(svc, "alice", "softmax.py", b"x = 2")
    svc.record_results(lambda claimed: 30.0 if claimed.attempt_id == first else 10.0)
    counted = json.loads((svc.service.paths.results / A2 / "alice" / "results.json").read_text())
    assert counted["score"] == 10


def test_on_time_counts_keeps_the_on_time_attempt_as_the_grade(tmp_path):
    from grader.service.models import Attempt

    svc = make_harness(tmp_path, f"sqlite:///{tmp_path / 'g.db'}",
                       service={"late_policy": "on_time_counts"}, due="2020-01-01")
    first = submit(svc, "alice", "softmax.py", b"x = 1").json()["id"]
    submit(svc, "alice", "softmax.py", b"x = 2")
    with svc.service.sessions() as db:  # the first one was handed in before the due date
        db.get(Attempt, first).late = False
        db.commit()
    svc.record_results(lambda claimed: 10.0 if claimed.attempt_id == first else 30.0)
    counted = json.loads((svc.service.paths.results / A2 / "alice" / "results.json").read_text())
    assert counted["score"] == 10


def test_service_options_are_validated_with_their_line(tmp_path):
    from service_support import write_course

    with pytest.raises(ConfigError, match=r"grader.yaml:\d+: service.counts: expected one of"):
        load_config(write_course(tmp_path, service={"counts": "first"}))


# -- visibility, errors, headers -------------------------------------------------------------

def test_feedback_hides_after_published_tests_until_staff_publish(svc):
    attempt = submit(svc, "alice", "softmax.py", solution_text(A2).encode()).json()["id"]
    svc.record_results()
    with svc.service.sessions() as db:
        row = db.query(AttemptResult).one()
        data = json.loads(row.data)
        data["tests"][0]["visibility"] = "after_published"
        row.data = json.dumps(data)
        db.commit()
    hidden_id = data["tests"][0]["test_id"]
    alice = svc.token("alice")
    before = svc.client.get(f"/api/submissions/{attempt}/feedback", headers=alice).json()
    assert hidden_id not in json.dumps(before["feedback"])
    assert before["feedback"]["tests_withheld"] == 1
    assert hidden_id not in svc.sign_in("alice").get(f"/attempts/{attempt}").text
    ta = svc.sign_in("tara")
    ta.post(f"/staff/{A2}/publish", data={"csrf": csrf_of(ta.get(f"/staff/{A2}").text),
                                          "published": "1"})
    after = svc.client.get(f"/api/submissions/{attempt}/feedback", headers=alice).json()
    assert hidden_id in json.dumps(after["feedback"])


def test_pages_carry_a_strict_csp_and_security_headers(svc):
    response = svc.sign_in("alice").get(f"/assignments/{A2}")
    csp = response.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script" not in csp
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"


def test_student_text_is_escaped_on_pages(svc):
    name = "<img src=x onerror=alert(1)>.py"
    attempt = submit(svc, "alice", name, b"x = 1").json()["id"]
    svc.record_results()
    client = svc.sign_in("alice")
    for page in (client.get(f"/attempts/{attempt}").text, client.get(f"/assignments/{A2}").text):
        assert name not in page and "&lt;img src=x onerror=alert(1)&gt;.py" in page


def test_errors_are_clear_pages_or_json_never_tracebacks(svc):
    client = svc.sign_in("alice")
    for path, status in (("/nowhere", 404), ("/attempts/abc", 422),
                         ("/assignments/nope", 404)):
        response = client.get(path)
        assert response.status_code == status and "Traceback" not in response.text
        assert "<h1>" in response.text
    api = svc.client.get("/api/submissions/999999", headers=svc.token("alice"))
    assert api.status_code == 404 and api.json() == {"error": "no such submission"}


def test_health_reports_the_queue(svc):
    submit(svc, "alice", "softmax.py", solution_text(A2).encode())
    assert svc.client.get("/health").json() == {"status": "ok", "queued": 1, "running": 0,
                                                "grading_processes": 0}


# -- both databases --------------------------------------------------------------------------

def test_migrations_build_the_models_from_an_empty_database(db_url):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from grader.service.database import open_database
    from grader.service.models import Base

    sessions = open_database(db_url)
    open_database(db_url)  # a second start finds the schema current
    with sessions.kw["bind"].connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
        assert conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar() \
            == "0001"


def test_upload_grade_and_authorization_on_each_database(tmp_path, db_url):
    svc = make_harness(tmp_path, db_url)
    attempt = submit(svc, "alice", "softmax.py", solution_text(A2).encode()).json()["id"]
    assert svc.grade_all() == 1
    alice = svc.client.get(f"/api/submissions/{attempt}", headers=svc.token("alice")).json()
    assert alice["status"] == "ok" and alice["score"] == 30
    assert svc.client.get(f"/api/submissions/{attempt}",
                          headers=svc.token("bob")).status_code == 404


def test_two_claims_never_take_the_same_job(tmp_path, db_url):
    from grader.service import queue

    svc = make_harness(tmp_path, db_url)
    for _ in range(3):
        submit(svc, "alice", "softmax.py", solution_text(A2).encode())
    taken = []
    for worker in ("w1", "w2", "w1", "w2"):
        with svc.service.sessions() as db:
            claimed = queue.claim(db, worker)
        taken.append(claimed.job_id if claimed else None)
    assert sorted(t for t in taken if t) == [1, 2, 3] and taken[-1] is None


# -- grading faults --------------------------------------------------------------------------

def _grade_one(svc: Harness) -> None:
    from grader.service import queue
    from grader.service.worker import GradingProcess

    grading = GradingProcess(svc.course, svc.service.paths, svc.service.sessions, 0,
                             insecure=True)
    try:
        with svc.service.sessions() as db:
            claimed = queue.claim(db, grading.name)
        grading.grade_or_fail(claimed)
    finally:
        grading.close()


def test_a_job_the_grader_cannot_grade_ends_crashed_instead_of_retrying_forever(svc):
    attempt = submit(svc, "alice", "softmax.py", b"x = 1").json()["id"]
    for blob in svc.service.paths.uploads.glob("*/*"):
        blob.unlink()  # the upload store lost the file: the grader's fault
    _grade_one(svc)
    status = svc.client.get(f"/api/submissions/{attempt}", headers=svc.token("alice")).json()
    assert status["status"] == "crashed"
    with svc.service.sessions() as db:
        assert db.query(Job).filter(Job.status != "done").count() == 0
        assert "FileNotFoundError" in json.loads(db.query(AttemptResult).one().data)["error"]


def test_a_job_interrupted_three_times_is_recorded_as_crashed(svc):
    attempt = submit(svc, "alice", "softmax.py", b"x = 1").json()["id"]
    with svc.service.sessions() as db:
        db.query(Job).update({"tries": 3})
        db.commit()
    _grade_one(svc)
    feedback = svc.client.get(f"/api/submissions/{attempt}/feedback",
                              headers=svc.token("alice")).json()
    assert feedback["status"] == "crashed"
    assert "interrupted 3 times" in feedback["feedback"]["error"]
