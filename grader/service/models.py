"""The service's tables (SQLAlchemy 2). Schema changes go through an Alembic migration in
grader/service/migrations/versions; tests check that the migrations build exactly these."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

ROLES = ("student", "ta", "instructor")
STAFF_ROLES = ("ta", "instructor")


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class UtcDateTime(TypeDecorator):
    """Aware UTC in Python, naive UTC in the database: SQLite keeps no zone, and comparing
    the two kinds would fail."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        return value.astimezone(dt.timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        return None if value is None else value.replace(tzinfo=dt.timezone.utc)


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    login: Mapped[str] = mapped_column(String(200), unique=True)  # the roster's student_id
    name: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str] = mapped_column(String(200), default="")
    role: Mapped[str] = mapped_column(String(20), default="student")
    password_hash: Mapped[str | None] = mapped_column(String(300), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF_ROLES


class ApiToken(Base):
    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)


class SignInLink(Base):
    """A one-time sign-in link (``grader users link``); only its hash is stored."""

    __tablename__ = "sign_in_links"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    used_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)


class WebSession(Base):
    """A signed-in browser: the cookie holds a random token, the table its hash."""

    __tablename__ = "web_sessions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    csrf: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class LoginFailure(Base):
    __tablename__ = "login_failures"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    login: Mapped[str] = mapped_column(String(200), index=True)
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)


class Upload(Base):
    """A file as uploaded, stored once by its sha256 (grader.service.uploads)."""

    __tablename__ = "uploads"
    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)


class Attempt(Base):
    __tablename__ = "attempts"
    __table_args__ = (UniqueConstraint("user_id", "assignment", "number"),
                      Index("ix_attempts_assignment", "assignment"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    assignment: Mapped[str] = mapped_column(String(200))
    number: Mapped[int] = mapped_column(Integer)  # 1, 2, ... per student and assignment
    upload_sha256: Mapped[str] = mapped_column(ForeignKey("uploads.sha256"))
    filename: Mapped[str] = mapped_column(String(255))
    submitted_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    late: Mapped[bool] = mapped_column(Boolean, default=False)


class Job(Base):
    """One grading of an attempt: queued -> running (leased by a worker) -> done."""

    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_status", "status", "id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempts.id", ondelete="CASCADE"),
                                            index=True)
    status: Mapped[str] = mapped_column(String(20), default="queued")
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    claimed_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime,
                                                           nullable=True)
    lease_until: Mapped[dt.datetime | None] = mapped_column(UtcDateTime,
                                                            nullable=True)
    worker: Mapped[str] = mapped_column(String(200), default="")
    tries: Mapped[int] = mapped_column(Integer, default=0)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime,
                                                            nullable=True)


class AttemptResult(Base):
    """The one result of an attempt (a regrade replaces it): results.json's content."""

    __tablename__ = "results"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempts.id", ondelete="CASCADE"),
                                            unique=True)
    status: Mapped[str] = mapped_column(String(40))
    score: Mapped[float] = mapped_column(Float)
    max_score: Mapped[float] = mapped_column(Float)
    data: Mapped[str] = mapped_column(Text)
    graded_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)


class AssignmentState(Base):
    __tablename__ = "assignment_state"
    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    published: Mapped[bool] = mapped_column(Boolean, default=False)


class GradingWorker(Base):
    """Each grading process's last heartbeat (for /health)."""

    __tablename__ = "grading_workers"
    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    seen_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
