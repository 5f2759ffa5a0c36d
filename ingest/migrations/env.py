"""Alembic environment for ingest's tables (the plumbing: ingest/alembic_support.py).

Two ways in: `ingest.registry.migrate` hands over an open connection in
``config.attributes["connection"]`` (the application and the tests), or the
``alembic`` command line gives a URL (``sqlalchemy.url`` in ingest/alembic.ini,
overridden by the MYENERGY_REGISTRY_URL environment variable).
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from ingest.alembic_support import run_environment
from ingest.registry.migrate import VERSION_TABLE
from ingest.registry.models import Base

run_environment(context, Base.metadata, VERSION_TABLE, "MYENERGY_REGISTRY_URL", create_engine)
