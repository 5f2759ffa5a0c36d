"""Engines and sessions of the portal's relational database.

SQLite (the zero-install default): the file's directory is created, WAL mode
lets readers work while one writer commits, foreign keys are enforced (SQLite
ignores them unless told per connection) and a busy timeout makes concurrent
writers wait instead of failing at once. PostgreSQL (production) is reached
through psycopg 3: ``postgresql://`` URLs are read as ``postgresql+psycopg://``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.orm import Session, sessionmaker

SQLITE_BUSY_TIMEOUT_MS = 10_000


def normalise_url(url: str | URL) -> URL:
    """The URL with the driver this project installs (psycopg 3 for PostgreSQL)."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")  # safe with WAL, fewer fsyncs
    finally:
        cursor.close()


def make_engine(url: str | URL, **options: Any) -> Engine:
    """An engine for ``url`` with the settings above; ``options`` go to create_engine."""
    parsed = normalise_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database not in (None, "", ":memory:"):
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(parsed, **options)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    # Connections dropped by a database restart or a proxy are replaced, not handed out.
    options.setdefault("pool_pre_ping", True)
    return create_engine(parsed, **options)


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions whose objects stay readable after commit (services return them)."""
    return sessionmaker(engine, expire_on_commit=False)


__all__ = ["make_engine", "normalise_url", "session_factory"]
