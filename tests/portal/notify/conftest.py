"""Notify fixtures: a migrated portal database (SQLite and PostgreSQL), a manual clock."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session, sessionmaker

from portal_api.db import make_engine, migrate, session_factory
from tests.portal.accounts.conftest import ManualClock


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def sessions(portal_db_url: str) -> Iterator[sessionmaker[Session]]:
    migrate(portal_db_url)
    engine = make_engine(portal_db_url)
    yield session_factory(engine)
    engine.dispose()
