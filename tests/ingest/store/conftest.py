"""Store fixtures: every contract test runs against SqliteStore and InfluxStore.

Each Influx test gets a fresh database on the session's influxd (tests/conftest.py).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ingest.store import InfluxConfig, InfluxStore, Retention, SqliteStore, TimeSeriesStore
from tests.fixtures.influxdb import InfluxServer

RETENTION = Retention(live_s=2 * 86400, raw_s=30 * 86400)
INFLUX = pytest.param("influx", marks=pytest.mark.integration)


def influx_config(server: InfluxServer, **options: object) -> InfluxConfig:
    """A fresh database on ``server``; one retry, fast backoff; ``options`` override."""
    settings: dict[str, Any] = {
        "database": f"test_{uuid.uuid4().hex[:12]}",
        "retention": RETENTION,
        "retries": 1,
        "backoff_s": 0.01,
        **options,
    }
    return InfluxConfig(url=server.url, **settings)


def _make(kind: str, request: pytest.FixtureRequest, tmp_path: Path, **options: object):
    if kind == "sqlite":
        return SqliteStore(tmp_path / "ts.sqlite3", RETENTION)
    server: InfluxServer = request.getfixturevalue("influxdb")
    return InfluxStore(influx_config(server, **options))


@pytest.fixture(params=["sqlite", INFLUX])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TimeSeriesStore]:
    """An initialised store; Influx with retention policies (the production default)."""
    made: TimeSeriesStore = _make(request.param, request, tmp_path)
    made.init()
    yield made
    made.close()


@pytest.fixture(params=["sqlite", INFLUX])
def deleting_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TimeSeriesStore]:
    """A store whose apply_retention() deletes (Influx: retention_mode="delete")."""
    made: TimeSeriesStore = _make(request.param, request, tmp_path, retention_mode="delete")
    made.init()
    yield made
    made.close()
