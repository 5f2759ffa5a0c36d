"""Apply the ingest Alembic migrations (ingest/migrations/) to a database.

Configured in code, so no alembic.ini is needed at run time: `Registry.open()`
calls `upgrade()` at every start (migrations are code, applied at start).
Developers use ingest/alembic.ini for `alembic revision --autogenerate`.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection, Engine

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
# Its own version table, so other components (portal_api) can keep their own
# Alembic history in the same PostgreSQL database.
VERSION_TABLE = "ingest_alembic_version"


def alembic_config(connection: Connection | None = None, url: str | None = None) -> Config:
    """An Alembic Config for ingest's migrations, bound to a connection or a URL."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url is not None:
        # ConfigParser interpolation: a literal '%' in a URL (escaped password) must be doubled
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database to `revision` in one transaction (PostgreSQL: DDL is transactional)."""
    with engine.begin() as connection:
        command.upgrade(alembic_config(connection), revision)


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext  # noqa: PLC0415  (rarely used)

    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
        return context.get_current_revision()
