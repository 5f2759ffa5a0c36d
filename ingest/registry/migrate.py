"""Apply the ingest Alembic migrations (ingest/migrations/) to a database.

Configured in code, so no alembic.ini is needed at run time: `Registry.open()`
calls `upgrade()` at every start (migrations are code, applied at start).
Developers use ingest/alembic.ini for `alembic revision --autogenerate`.
The plumbing is shared with the portal's history (ingest/alembic_support.py).
"""

from __future__ import annotations

from pathlib import Path

from ingest.alembic_support import MigrationHistory

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
# Its own version table, so other components (portal_api) can keep their own
# Alembic history in the same PostgreSQL database.
VERSION_TABLE = "ingest_alembic_version"
HISTORY = MigrationHistory(MIGRATIONS_DIR, VERSION_TABLE)

alembic_config = HISTORY.config
upgrade = HISTORY.upgrade
current_revision = HISTORY.current_revision
head_revision = HISTORY.head_revision

__all__ = [
    "HISTORY",
    "MIGRATIONS_DIR",
    "VERSION_TABLE",
    "alembic_config",
    "current_revision",
    "head_revision",
    "upgrade",
]
