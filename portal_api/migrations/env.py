"""Alembic environment for the portal's tables (the plumbing: ingest/alembic_support.py).

Two ways in: `portal_api.db.migrate` hands over an open connection in
``config.attributes["connection"]`` (the application and the tests), or the
``alembic`` command line gives a URL (``sqlalchemy.url`` in portal_api/alembic.ini,
overridden by the MYENERGY_PORTAL_DATABASE_URL environment variable).
"""

from __future__ import annotations

from alembic import context

from ingest.alembic_support import run_environment
from portal_api.db.engine import make_engine
from portal_api.db.migrate import VERSION_TABLE
from portal_api.db.models import Base

run_environment(context, Base.metadata, VERSION_TABLE, "MYENERGY_PORTAL_DATABASE_URL", make_engine)
