"""Accounts: users from the course roster, passwords (argon2 via pwdlib), API tokens,
one-time sign-in links, browser sessions and login throttling. Secrets are random and only
their sha256 (tokens) or argon2 hash (passwords) is stored."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from pwdlib import PasswordHash
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from grader.intake.identity import Roster
from grader.service.models import (
    ROLES,
    ApiToken,
    LoginFailure,
    SignInLink,
    User,
    WebSession,
    utcnow,
)

PASSWORDS = PasswordHash.recommended()
# A dummy hash so that an unknown login costs as much time as a wrong password.
_DUMMY_HASH = PASSWORDS.hash("not a password")
LOGIN_FAILURES_ALLOWED = 5
LOGIN_WINDOW = dt.timedelta(minutes=15)
SESSION_LIFETIME = dt.timedelta(days=14)
LINK_LIFETIME = dt.timedelta(days=7)


class AccountError(ValueError):
    """An account operation that cannot be done; the message says why."""


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_secret() -> str:
    return secrets.token_urlsafe(32)


@dataclass(frozen=True)
class NewAccount:
    login: str
    password: str  # the initial password, shown once


def add_roster(db: Session, roster: Roster) -> list[NewAccount]:
    """A student account for every roster student that has none; their initial passwords."""
    known = set(db.scalars(select(User.login)))
    made = []
    for student in roster.students:
        if student.student_id in known:
            continue
        password = secrets.token_urlsafe(9)
        db.add(User(login=student.student_id, name=student.name, email=student.email,
                    role="student", password_hash=PASSWORDS.hash(password)))
        made.append(NewAccount(student.student_id, password))
    return made


def add_user(db: Session, login: str, role: str, name: str = "",
             password: str | None = None) -> NewAccount:
    if role not in ROLES:
        raise AccountError(f"role must be one of {', '.join(ROLES)}, got {role!r}")
    if db.scalar(select(User).where(User.login == login)) is not None:
        raise AccountError(f"{login} already has an account")
    password = password or secrets.token_urlsafe(9)
    db.add(User(login=login, name=name, role=role, password_hash=PASSWORDS.hash(password)))
    return NewAccount(login, password)


def find_user(db: Session, login: str) -> User:
    user = db.scalar(select(User).where(User.login == login))
    if user is None:
        raise AccountError(f"no account {login!r} (add it with `grader users add`)")
    return user


def set_password(user: User, password: str) -> None:
    if len(password) < 10:
        raise AccountError("choose a password of at least 10 characters")
    user.password_hash = PASSWORDS.hash(password)


def new_api_token(db: Session, user: User) -> str:
    token = "gt_" + new_secret()
    db.add(ApiToken(user_id=user.id, token_hash=token_hash(token)))
    return token


def user_for_token(db: Session, token: str) -> User | None:
    found = db.scalar(select(ApiToken).where(ApiToken.token_hash == token_hash(token)))
    return None if found is None else db.get(User, found.user_id)


def new_sign_in_link(db: Session, user: User) -> str:
    """A secret for ``/signin/<secret>``: signs the user in once, within LINK_LIFETIME."""
    token = new_secret()
    db.add(SignInLink(user_id=user.id, token_hash=token_hash(token),
                      expires_at=utcnow() + LINK_LIFETIME))
    return token


def use_sign_in_link(db: Session, token: str) -> User | None:
    link = db.scalar(select(SignInLink).where(SignInLink.token_hash == token_hash(token)))
    if link is None or link.used_at is not None or link.expires_at < utcnow():
        return None
    link.used_at = utcnow()
    return db.get(User, link.user_id)


def throttled(db: Session, login: str) -> bool:
    """Too many failed sign-ins for this login lately: refuse even a right password."""
    since = utcnow() - LOGIN_WINDOW
    count = db.scalar(select(func.count()).select_from(LoginFailure).where(
        LoginFailure.login == login, LoginFailure.at > since))
    return (count or 0) >= LOGIN_FAILURES_ALLOWED


def check_password(db: Session, login: str, password: str) -> User | None:
    """The user when the password is right and the login not throttled; failures counted."""
    user = db.scalar(select(User).where(User.login == login))
    stored = user.password_hash if user is not None and user.password_hash else _DUMMY_HASH
    good = PASSWORDS.verify(password, stored) and user is not None and \
        user.password_hash is not None
    if not good:
        db.add(LoginFailure(login=login))
        return None
    db.execute(delete(LoginFailure).where(LoginFailure.login == login))
    return user


def new_session(db: Session, user: User) -> str:
    token = new_secret()
    db.add(WebSession(user_id=user.id, token_hash=token_hash(token), csrf=new_secret(),
                      expires_at=utcnow() + SESSION_LIFETIME))
    return token


def session_for(db: Session, token: str) -> WebSession | None:
    found = db.scalar(select(WebSession).where(WebSession.token_hash == token_hash(token)))
    if found is None or found.expires_at < utcnow():
        return None
    return found


def end_session(db: Session, token: str) -> None:
    db.execute(delete(WebSession).where(WebSession.token_hash == token_hash(token)))


@dataclass(frozen=True)
class Removed:
    """What ``remove_expired`` deleted."""

    sessions: int
    login_failures: int
    sign_in_links: int


def remove_expired(db: Session) -> Removed:
    """Delete expired sessions and sign-in links, and sign-in failures older than the
    throttling window (nothing reads them any more): these tables stay as large as the
    course's recent activity. Commits."""
    now = utcnow()
    removed = Removed(
        db.execute(delete(WebSession).where(WebSession.expires_at < now)).rowcount,
        db.execute(delete(LoginFailure).where(LoginFailure.at <= now - LOGIN_WINDOW)).rowcount,
        db.execute(delete(SignInLink).where(SignInLink.expires_at < now)).rowcount)
    db.commit()
    return removed
