"""`grader users` and `grader serve` on the command line: accounts from a roster, API tokens,
sign-in links, importing a results folder graded by `grader grade`, the start-up line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT
from fastapi.testclient import TestClient
from results_factory import make_result, write_results
from service_support import _free_port, write_course

from grader.cli import main
from grader.course.config import load_config
from grader.service import accounts
from grader.service.app import create_app
from grader.service.serve import open_service

A2 = "a2_softmax"


@pytest.fixture
def course(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("GRADER_SERVICE_DATA", str(tmp_path / "data"))
    monkeypatch.delenv("GRADER_DATABASE_URL", raising=False)
    return write_course(tmp_path)


def test_users_add_from_a_roster_prints_working_initial_passwords(course, tmp_path, capsys):
    roster = tmp_path / "roster.csv"
    roster.write_text("student_id,name,email\ns1,Ann,ann@x.org\ns2,Ben,ben@x.org\n")
    assert main(["--config", str(course), "users", "add", "--roster", str(roster)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "student_id,initial_password" and len(lines) == 3
    login, password = lines[1].split(",")
    service = open_service(load_config(course))
    with service.sessions() as db:
        assert accounts.check_password(db, login, password).name == "Ann"
    assert main(["--config", str(course), "users", "add", "--roster", str(roster)]) == 0
    assert capsys.readouterr().out.splitlines() == ["student_id,initial_password"]  # no dupes


def test_users_token_prints_a_token_the_api_accepts(course, capsys):
    assert main(["--config", str(course), "users", "add", "s1", "--password", "0123456789"]) == 0
    capsys.readouterr()
    assert main(["--config", str(course), "users", "token", "s1"]) == 0
    token = capsys.readouterr().out.strip()
    client = TestClient(create_app(open_service(load_config(course))))
    response = client.get("/api/assignments", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200 and response.json()[0]["assignment"] == A2


def test_users_link_prints_a_one_time_sign_in_link(course, capsys):
    main(["--config", str(course), "users", "add", "s1"])
    capsys.readouterr()
    assert main(["--config", str(course), "users", "link", "s1", "--base-url",
                 "https://grader.example.edu/"]) == 0
    link = capsys.readouterr().out.strip()
    assert link.startswith("https://grader.example.edu/signin/")
    client = TestClient(create_app(open_service(load_config(course))))
    path = link.removeprefix("https://grader.example.edu")
    assert client.get(path, follow_redirects=False).status_code == 303


def test_users_token_for_an_unknown_account_is_a_usage_error(course, capsys):
    assert main(["--config", str(course), "users", "token", "nobody"]) == 2
    assert "no account 'nobody'" in capsys.readouterr().err


def test_serve_import_loads_a_cli_results_folder_into_the_service(course, tmp_path, capsys):
    results = tmp_path / "out"
    write_results(results, [make_result("s1"), make_result("s2", status="timeout")])
    (results / A2 / "s1" / "graded_module.py").write_text("def softmax(x):\n    return x\n")
    assert main(["--config", str(course), "serve", "--import", str(results)]) == 0
    assert "imported 2 results" in capsys.readouterr().out
    service = open_service(load_config(course))
    main(["--config", str(course), "users", "add", "ta1", "--role", "ta", "--password",
          "ta-password-1"])
    client = TestClient(create_app(service))
    from service_support import csrf_of

    token = csrf_of(client.get("/login").text)
    client.post("/login", data={"login": "ta1", "password": "ta-password-1", "csrf": token})
    book = client.get(f"/staff/{A2}/gradebook.csv").text.splitlines()
    assert [line.split(",")[:4] for line in book[1:]] == [["s1", "2", "4", "ok"],
                                                         ["s2", "2", "4", "timeout"]]
    assert (service.paths.results / A2 / "s1" / "graded_module.py").is_file()


def test_serve_prints_where_it_listens_and_which_database(course, tmp_path):
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "grader.cli", "--config", str(course),
                             "serve", "--port", str(port), "--workers", "0"], cwd=ROOT,
                            env=os.environ, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            text=True)
    try:
        line = proc.stdout.readline()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert line.startswith(f"grader serve: http://127.0.0.1:{port}; database sqlite:///")
    assert str(tmp_path / "data" / "grader.db") in line
