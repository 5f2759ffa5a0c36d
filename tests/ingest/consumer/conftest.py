"""Fixtures of the consumer tests: a registry with the test devices, a SQLite store, an Ingest.

A test module that needs another store (test_batching's counting store) defines its own
``store`` fixture, which overrides this one.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ingest.registry import Registry
from ingest.store import SqliteStore
from tests.ingest.consumer.helpers import Ingest, make_ingest, make_registry


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[Registry]:
    reg = make_registry(tmp_path / "registry.sqlite3")
    yield reg
    reg.close()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    s = SqliteStore(tmp_path / "ts.sqlite3")
    s.init()
    yield s
    s.close()


@pytest.fixture
def ingest(store: SqliteStore, registry: Registry, tmp_path: Path) -> Ingest:
    return make_ingest(store, registry, tmp_path / "state.sqlite3")
