"""Alembic plumbing shared by every migration history of the cloud side.

Ingest (its registry, ``ingest/migrations/``) and the portal
(``portal_api/migrations/``) each keep their own Alembic history with their own
version table, so both may live in one PostgreSQL database. What differs between
them is data — the scripts folder, the version table, the metadata, the environment
variable the ``alembic`` command line reads the URL from — so the code is here once:

* :class:`MigrationHistory` — configured in code (no alembic.ini at run time):
  ``upgrade(engine)`` at every start (migrations are code, applied at start),
  ``current_revision``, ``head_revision``;
* :func:`run_environment` — the body of a history's ``env.py``: an open connection
  handed over by :meth:`MigrationHistory.upgrade` (the application, the tests), or a
  URL from the ``alembic`` command line (``alembic revision --autogenerate``,
  ``alembic upgrade --sql`` for a DBA).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from logging.config import fileConfig
from pathlib import Path
from types import ModuleType

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import MetaData
from sqlalchemy.engine import Connection, Engine

__all__ = ["MigrationHistory", "run_environment"]


@dataclass(frozen=True)
class MigrationHistory:
    """One Alembic history: its scripts folder and its version table."""

    scripts: Path
    version_table: str

    def config(self, connection: Connection | None = None, url: str | None = None) -> Config:
        """An Alembic Config for this history, bound to a connection or a URL."""
        config = Config()
        config.set_main_option("script_location", str(self.scripts))
        if url is not None:
            # ConfigParser interpolation: a literal '%' in a URL (escaped password) must be doubled
            config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
        if connection is not None:
            config.attributes["connection"] = connection
        return config

    def upgrade(self, engine: Engine, revision: str = "head") -> None:
        """Bring the database to ``revision`` in one transaction (PostgreSQL: DDL is
        transactional)."""
        with engine.begin() as connection:
            command.upgrade(self.config(connection), revision)

    def current_revision(self, engine: Engine) -> str | None:
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"version_table": self.version_table}
            )
            return context.get_current_revision()

    def head_revision(self) -> str | None:
        return ScriptDirectory.from_config(self.config()).get_current_head()


def run_environment(
    context: ModuleType,
    metadata: MetaData,
    version_table: str,
    url_variable: str,
    make_engine: Callable[[str], Engine],
) -> None:
    """What an ``env.py`` does: run the migrations offline (SQL) or online.

    ``context`` is ``alembic.context``, the module Alembic points at the
    ``EnvironmentContext`` of the running command.
    """
    config = context.config
    # Only from the `alembic` command line: the application keeps its own logging setup.
    if config.config_file_name is not None and config.attributes.get("connection") is None:
        fileConfig(config.config_file_name, disable_existing_loggers=False)

    def url() -> str:
        found = os.environ.get(url_variable) or config.get_main_option("sqlalchemy.url")
        if not found:
            raise RuntimeError(f"no database URL: set {url_variable} or sqlalchemy.url")
        return found

    def migrate(connection: Connection) -> None:
        context.configure(
            connection=connection,
            target_metadata=metadata,
            version_table=version_table,
            # SQLite cannot ALTER most things: batch mode copies the table instead
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()

    if context.is_offline_mode():
        # `alembic upgrade --sql`: print the SQL for a DBA instead of running it.
        context.configure(
            url=url(), target_metadata=metadata, version_table=version_table, literal_binds=True
        )
        with context.begin_transaction():
            context.run_migrations()
        return
    given = config.attributes.get("connection")
    if isinstance(given, Connection):
        migrate(given)
        return
    engine = make_engine(url())
    try:
        with engine.connect() as connection:
            migrate(connection)
    finally:
        engine.dispose()
