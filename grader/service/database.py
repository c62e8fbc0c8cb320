"""Where the service keeps its state, and opening the database at the newest schema.

The data folder (``<course>/.grader-service`` unless given) holds the SQLite database by
default, the upload store and the graded results; none of it is ever served as a folder.
GRADER_DATABASE_URL, else ``service.database`` of grader.yaml, names another database
(PostgreSQL: ``postgresql+psycopg://user@host/db``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from grader.course.config import CourseConfig

DATA_FOLDER = ".grader-service"
MIGRATIONS = Path(__file__).with_name("migrations")


@dataclass(frozen=True)
class ServicePaths:
    """The service's data folder: uploads/, attempts/<id>/ and results/ (the CLI layout)."""

    root: Path

    @classmethod
    def of(cls, course: CourseConfig) -> ServicePaths:
        given = os.environ.get("GRADER_SERVICE_DATA")
        return cls(Path(given) if given else course.root / DATA_FOLDER)

    @property
    def uploads(self) -> Path:
        return self.root / "uploads"

    @property
    def attempts(self) -> Path:
        return self.root / "attempts"

    @property
    def results(self) -> Path:
        """The counting attempt of every student, as ``grader grade --out`` lays it out:
        ``grader report <a> --results <this>`` reads it."""
        return self.root / "results"

    @property
    def sqlite(self) -> Path:
        return self.root / "grader.db"


def database_url(course: CourseConfig, paths: ServicePaths) -> str:
    return os.environ.get("GRADER_DATABASE_URL") or course.service.database or \
        f"sqlite:///{paths.sqlite}"


def describe(url: str) -> str:
    """The URL without its password, for logs and the start-up line."""
    return make_url(url).render_as_string(hide_password=True)


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        path = make_url(url).database
        if path:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_setup(dbapi_connection, _record) -> None:
            # WAL lets readers go on while one writer commits; the driver's own transaction
            # handling is off so that every transaction starts IMMEDIATE (below): two
            # processes never both read and then fail to upgrade to a write lock.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=FULL")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(connection) -> None:
            connection.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


def migrate(engine: Engine) -> None:
    """Bring the database to the newest schema (an empty one is created from scratch)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, "head")


def open_database(url: str) -> sessionmaker[Session]:
    engine = make_engine(url)
    migrate(engine)
    return sessionmaker(engine, expire_on_commit=False)
