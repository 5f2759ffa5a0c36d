"""Apply the portal's Alembic migrations (portal_api/migrations/) to a database.

Configured in code, so no alembic.ini is needed at run time: the portal calls
``migrate(url)`` at every start (migrations are code, applied at start).
Developers use portal_api/alembic.ini for ``alembic revision --autogenerate``.
The version table is ``portal_alembic_version``: ingest keeps its own history
(``ingest_alembic_version``) and both may share one PostgreSQL database.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import URL, Connection, Engine

from portal_api.db.engine import make_engine

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
VERSION_TABLE = "portal_alembic_version"


def alembic_config(connection: Connection | None = None, url: str | None = None) -> Config:
    """An Alembic Config for the portal's migrations, bound to a connection or a URL."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url is not None:
        # ConfigParser interpolation: a literal '%' in a URL (escaped password) must be doubled
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database to ``revision`` in one transaction (PostgreSQL: DDL is transactional)."""
    with engine.begin() as connection:
        command.upgrade(alembic_config(connection), revision)


def migrate(url: str | URL) -> None:
    """``alembic upgrade head`` on the database at ``url`` (the portal's start)."""
    engine = make_engine(url)
    try:
        upgrade(engine)
    finally:
        engine.dispose()


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
        return context.get_current_revision()


__all__ = [
    "MIGRATIONS_DIR",
    "VERSION_TABLE",
    "alembic_config",
    "current_revision",
    "head_revision",
    "migrate",
    "upgrade",
]
