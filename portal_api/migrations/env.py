"""Alembic environment for the portal's tables.

Two ways in: `portal_api.db.migrate` hands over an open connection in
``config.attributes["connection"]`` (the application and the tests), or the
``alembic`` command line gives a URL (``sqlalchemy.url`` in portal_api/alembic.ini,
overridden by the MYENERGY_PORTAL_DATABASE_URL environment variable).
"""

from __future__ import annotations

import os
from logging.config import fileConfig

from alembic import context
from sqlalchemy.engine import Connection

from portal_api.db.engine import make_engine
from portal_api.db.migrate import VERSION_TABLE
from portal_api.db.models import Base

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
    url = os.environ.get("MYENERGY_PORTAL_DATABASE_URL") or config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no database URL: set MYENERGY_PORTAL_DATABASE_URL or sqlalchemy.url")
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
    engine = make_engine(_url())
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
