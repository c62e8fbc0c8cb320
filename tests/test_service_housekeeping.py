"""Bounded account tables: expired sessions and sign-in links, and sign-in failures older
than the throttling window, are deleted by the service's housekeeping; live ones stay."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from service_support import Harness, make_harness

from grader.service import accounts
from grader.service.models import LoginFailure, SignInLink, WebSession, utcnow
from grader.service.serve import housekeeping


def _svc(tmp_path: Path) -> Harness:
    return make_harness(tmp_path, f"sqlite:///{tmp_path / 'grader.db'}")


def _age(svc: Harness, table, column: str, by: dt.timedelta) -> None:
    """Move every row's ``column`` of ``table`` ``by`` into the past."""
    with svc.service.sessions() as db:
        for row in db.query(table):
            setattr(row, column, getattr(row, column) - by)
        db.commit()


def test_expired_sessions_are_removed_and_live_ones_still_sign_in(tmp_path):
    svc = _svc(tmp_path)
    svc.sign_in("alice")
    _age(svc, WebSession, "expires_at", accounts.SESSION_LIFETIME + dt.timedelta(minutes=1))
    live = svc.sign_in("bob")
    with svc.service.sessions() as db:
        assert accounts.remove_expired(db).sessions == 1
        assert [s.user_id for s in db.query(WebSession)] == [accounts.find_user(db, "bob").id]
    assert live.get("/").status_code == 200 and "bob" in live.get("/").text


def test_sign_in_failures_past_the_throttling_window_are_removed(tmp_path):
    svc = _svc(tmp_path)
    with svc.service.sessions() as db:
        for _ in range(accounts.LOGIN_FAILURES_ALLOWED):
            assert accounts.check_password(db, "alice", "wrong") is None
        db.commit()
    _age(svc, LoginFailure, "at", accounts.LOGIN_WINDOW)
    with svc.service.sessions() as db:
        assert accounts.check_password(db, "alice", "wrong again") is None  # within the window
        db.commit()
        assert accounts.remove_expired(db).login_failures == accounts.LOGIN_FAILURES_ALLOWED
        assert db.query(LoginFailure).count() == 1
        assert not accounts.throttled(db, "alice")  # what was removed no longer counted


def test_expired_sign_in_links_are_removed(tmp_path):
    svc = _svc(tmp_path)
    with svc.service.sessions() as db:
        accounts.new_sign_in_link(db, accounts.find_user(db, "alice"))
        db.commit()
    _age(svc, SignInLink, "expires_at", accounts.LINK_LIFETIME + dt.timedelta(minutes=1))
    with svc.service.sessions() as db:
        fresh = accounts.new_sign_in_link(db, accounts.find_user(db, "bob"))
        db.commit()
        assert accounts.remove_expired(db).sign_in_links == 1
        assert accounts.use_sign_in_link(db, fresh) is not None


def test_housekeeping_of_the_running_service_empties_the_expired_rows(tmp_path):
    svc = _svc(tmp_path)
    with svc.service.sessions() as db:
        user = accounts.find_user(db, "alice")
        for i in range(50):
            db.add(WebSession(user_id=user.id, token_hash=f"{i:064d}", csrf="x",
                              expires_at=utcnow() - dt.timedelta(seconds=1)))
            db.add(LoginFailure(login=f"guess{i}", at=utcnow() - accounts.LOGIN_WINDOW))
        db.commit()
    housekeeping(svc.service)
    with svc.service.sessions() as db:
        assert db.query(WebSession).count() == 0 and db.query(LoginFailure).count() == 0
