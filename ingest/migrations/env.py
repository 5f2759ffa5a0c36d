"""Alembic environment for ingest's tables.

Two ways in: `ingest.registry.migrate` hands over an open connection in
``config.attributes["connection"]`` (the application and the tests), or the
``alembic`` command line gives a URL (``sqlalchemy.url`` in ingest/alembic.ini,
overridden by the MYENERGY_REGISTRY_URL environment variable).
"""

from __future__ import annotations

import os
from logging.config import fileConfig

from alembic import context
from sqlalchemy import create_engine
from sqlalchemy.engine import Connection

from ingest.registry.migrate import VERSION_TABLE
from ingest.registry.models import Base

config = context.config
target_metadata = Base.metadata

# Only from the `alembic` command line: the application keeps its own logging setup.
if config.config_file_name is not None and config.attributes.get("connection") is None:
    fileConfig(config.config_file_name, disable_existing_loggers=False)


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        version_table=VERSION_TABLE,
        # SQLite cannot ALTER most things: batch mode copies the table instead
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )


def _url() -> str:
    url = os.environ.get("MYENERGY_REGISTRY_URL") or config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no database URL: set MYENERGY_REGISTRY_URL or sqlalchemy.url")
    return url


def run_offline() -> None:
    """``alembic upgrade --sql``: print the SQL for a DBA instead of running it."""
    context.configure(
        url=_url(),
        target_metadata=target_metadata,
        version_table=VERSION_TABLE,
        literal_binds=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    given = config.attributes.get("connection")
    if isinstance(given, Connection):
        _configure(given)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_engine(_url())
    try:
        with engine.connect() as connection:
            _configure(connection)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
