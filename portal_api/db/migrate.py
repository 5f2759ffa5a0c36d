"""Apply the portal's Alembic migrations (portal_api/migrations/) to a database.

Configured in code, so no alembic.ini is needed at run time: the portal calls
``migrate(url)`` at every start (migrations are code, applied at start).
Developers use portal_api/alembic.ini for ``alembic revision --autogenerate``.
The version table is ``portal_alembic_version``: ingest keeps its own history
(``ingest_alembic_version``) and both may share one PostgreSQL database. The
plumbing is ingest's (ingest/alembic_support.py), shared by both histories.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import URL

from ingest.alembic_support import MigrationHistory
from portal_api.db.engine import make_engine

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
VERSION_TABLE = "portal_alembic_version"
HISTORY = MigrationHistory(MIGRATIONS_DIR, VERSION_TABLE)

alembic_config = HISTORY.config
upgrade = HISTORY.upgrade
current_revision = HISTORY.current_revision
head_revision = HISTORY.head_revision


def migrate(url: str | URL) -> None:
    """``alembic upgrade head`` on the database at ``url`` (the portal's start)."""
    engine = make_engine(url)
    try:
        upgrade(engine)
    finally:
        engine.dispose()


__all__ = [
    "HISTORY",
    "MIGRATIONS_DIR",
    "VERSION_TABLE",
    "alembic_config",
    "current_revision",
    "head_revision",
    "migrate",
    "upgrade",
]
