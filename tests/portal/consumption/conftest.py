"""Fixtures of the consumption tests: a store holding March-April and late October 2026
of one site (with gaps), written as records and rolled up by ingest's own code.

``dataset`` runs every test against SqliteStore and against InfluxStore on the
session's real influxd. The Influx database uses retention_mode="delete": one
policy that keeps everything, so the 2026 records are accepted whatever the
date the tests run on (with policies, raw minutes older than the raw retention
are dropped on write).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from ingest.store import InfluxConfig, InfluxStore, Retention, SqliteStore, TimeSeriesStore
from portal_api.consumption import ConsumptionService
from tests.fixtures.influxdb import InfluxServer
from tests.portal.consumption.data import Loaded, load, local

INFLUX = pytest.param("influx", marks=pytest.mark.integration)

MARCH_FROM = local(2026, 3, 1)
MARCH_TO = local(2026, 4, 8)
# Two hours missing on 10 March, and all of 15 March.
HOLES = ((local(2026, 3, 10, 10), local(2026, 3, 10, 12)), (local(2026, 3, 15), local(2026, 3, 16)))
OCTOBER_FROM = local(2026, 10, 24)
OCTOBER_TO = local(2026, 10, 27)


@dataclass
class Dataset:
    store: TimeSeriesStore
    service: ConsumptionService
    march: Loaded
    october: Loaded
    kind: str

    def expected(self, start: int, end: int) -> tuple[int | None, int | None, float]:
        """The oracle over both loaded ranges."""
        covered = Loaded(self.march.covered | self.october.covered)
        return covered.expected(start, end)


def make_store(kind: str, request: pytest.FixtureRequest, path: str) -> TimeSeriesStore:
    store: TimeSeriesStore
    if kind == "sqlite":
        store = SqliteStore(path, Retention())
    else:
        server: InfluxServer = request.getfixturevalue("influxdb")
        store = InfluxStore(
            InfluxConfig(
                url=server.url,
                database=f"test_{uuid.uuid4().hex[:12]}",
                retention_mode="delete",
                retries=1,
                backoff_s=0.01,
            )
        )
    store.init()
    return store


@pytest.fixture(scope="session", params=["sqlite", INFLUX])
def dataset(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Dataset]:
    path = tmp_path_factory.mktemp("consumption") / "ts.sqlite3"
    store = make_store(request.param, request, str(path))
    march = load(store, MARCH_FROM, MARCH_TO, missing=HOLES, origin=MARCH_FROM - 900)
    october = load(store, OCTOBER_FROM, OCTOBER_TO, origin=MARCH_FROM - 900)
    yield Dataset(store, ConsumptionService(store), march, october, request.param)
    store.close()


@pytest.fixture(params=["sqlite", INFLUX])
def store(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TimeSeriesStore]:
    """An empty store of each kind, for one test."""
    path = tmp_path_factory.mktemp("store") / "ts.sqlite3"
    made = make_store(request.param, request, str(path))
    yield made
    made.close()
