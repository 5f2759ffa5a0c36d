"""The portal's relational database: models, engine and sessions, migrations.

``make_engine(url)`` and ``session_factory(engine)`` (engine.py), ``migrate(url)``
applied at start (migrate.py), the tables of docs/decisions/0004 (models.py).
"""

from portal_api.db.engine import make_engine, normalise_url, session_factory
from portal_api.db.migrate import migrate

__all__ = ["make_engine", "migrate", "normalise_url", "session_factory"]
