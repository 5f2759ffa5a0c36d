"""Malformed payloads of every kind are dead-lettered with their bytes; nothing raises."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.registry import Registry
from ingest.store import SqliteStore
from ingest.validate import DECODE_ERROR
from protocol import topics
from tests.ingest.consumer.helpers import (
    METER_A,
    Ingest,
    batch,
    make_ingest,
    make_registry,
    records,
)


@pytest.fixture(scope="module")
def ingest(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ingest]:
    # Module scope: hypothesis runs many examples against one set of stores.
    tmp = tmp_path_factory.mktemp("malformed")
    registry: Registry = make_registry(tmp / "registry.sqlite3")
    store = SqliteStore(tmp / "ts.sqlite3")
    store.init()
    yield make_ingest(store, registry, tmp / "state.sqlite3")
    store.close()
    registry.close()


GOOD = batch(METER_A, records(15))


def _mutations() -> st.SearchStrategy[bytes]:
    truncated = st.integers(0, len(GOOD) - 1).map(lambda n: GOOD[:n])
    garbage = st.binary(max_size=512)
    huge = st.integers(300_000, 2_000_000).map(lambda n: GOOD[:8] + b"\xff" * n)
    # byte 2 of the frame is the protocol version (docs/protocol.md)
    wrong_version = (
        st.integers(0, 255)
        .filter(lambda b: b != GOOD[2])
        .map(lambda b: GOOD[:2] + bytes([b]) + GOOD[3:])
    )
    flipped = st.tuples(st.integers(0, len(GOOD) - 1), st.integers(1, 255)).map(
        lambda t: GOOD[: t[0]] + bytes([GOOD[t[0]] ^ t[1]]) + GOOD[t[0] + 1 :]
    )
    return st.one_of(truncated, garbage, huge, wrong_version, flipped)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(payload=_mutations(), kind=st.sampled_from([topics.UP, topics.LIVE, topics.STATUS]))
def test_malformed_payloads_are_dead_lettered(ingest: Ingest, payload: bytes, kind: str) -> None:
    topic = f"{topics.PREFIX}{METER_A}/{kind}"
    before = ingest.deadletters.count()
    outcome = ingest.pipeline.handle(topic, payload)  # must not raise
    # Either refused (a dead letter with the exact bytes) or, for a bit flip that
    # still decodes to plausible data, accepted: never silently dropped.
    if outcome.dead_letters:
        letter = ingest.deadletters.list()[before:][0]
        assert letter.raw == payload
        assert letter.topic == topic
    else:
        assert outcome.records or outcome.samples or kind == topics.STATUS


def test_decode_errors_are_counted(ingest: Ingest) -> None:
    before = ingest.metrics.value("myenergy_ingest_dead_letters_total", {"reason": DECODE_ERROR})
    outcome = ingest.pipeline.handle(topics.uplink(METER_A), b"\x00garbage")
    assert outcome.dead_letters == [DECODE_ERROR]
    after = ingest.metrics.value("myenergy_ingest_dead_letters_total", {"reason": DECODE_ERROR})
    assert after == before + 1


def test_bad_topic_is_dead_lettered(ingest: Ingest) -> None:
    outcome = ingest.pipeline.handle("myenergy/v1/BAD ID/up", b"x")
    assert outcome.dead_letters == ["bad_topic"]
