"""The pipeline on the real SQLite store: exactly once, rollups, refusals, device state."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.records import START
from ingest.registry import Registry
from ingest.store import EnergyKey, SqliteStore
from ingest.validate import (
    BEFORE_INSTALLATION,
    DEVICE_MISMATCH,
    FUTURE_TIMESTAMP,
    IMPLAUSIBLE_VALUE,
    INACTIVE_DEVICE,
    UNANCHORED_CLOCK,
    UNKNOWN_DEVICE,
)
from protocol import topics
from protocol.codec import CLOCK_UNANCHORED, encode_live
from tests.ingest.consumer.helpers import (
    METER_A,
    METER_B,
    SITE,
    SUSPENDED,
    Ingest,
    batch,
    counter_at,
    make_ingest,
    records,
    uplink,
)

DAY = 86400


def test_records_stored_once_and_rollups_are_counter_differences(
    ingest: Ingest, store: SqliteStore
) -> None:
    recs = records(120)
    payload = batch(METER_A, recs)
    ingest.pipeline.handle(uplink(METER_A), payload)
    ingest.pipeline.handle(uplink(METER_A), payload)  # redelivery
    stored = store.records(METER_A, START, START + DAY)
    assert stored == recs  # once each, equal on the wire
    counters = counter_at(recs)
    rows = store.energy(EnergyKey("meter", METER_A), "15min", START, START + 2 * 3600)
    assert len(rows) == 8
    for row in rows[1:]:  # the first interval starts before the first reading
        assert row.import_wh == counters[row.end] - counters[row.start]
        assert (
            row.export_wh
            == counter_at(recs, "e_exp_wh")[row.end] - counter_at(recs, "e_exp_wh")[row.start]
        )
        assert row.completeness == 1.0
    assert rows[0].completeness == pytest.approx(840 / 900)
    hours = store.energy(EnergyKey("meter", METER_A), "hour", START, START + 2 * 3600)
    assert [h.import_wh for h in hours] == [
        sum(r.import_wh for r in rows[:4]),
        sum(r.import_wh for r in rows[4:]),
    ]
    days = store.energy(EnergyKey("meter", METER_A), "day", START - DAY, START + DAY)
    months = store.energy(EnergyKey("meter", METER_A), "month", START - 40 * DAY, START + DAY)
    assert days[0].import_wh == months[0].import_wh == sum(r.import_wh for r in rows)
    assert ingest.deadletters.count() == 0


def test_site_rows_sum_meters_with_min_completeness(ingest: Ingest, store: SqliteStore) -> None:
    a, b = records(60), records(30, seed=11)
    ingest.pipeline.handle(uplink(METER_A), batch(METER_A, a))
    ingest.pipeline.handle(uplink(METER_B), batch(METER_B, b))
    site = store.energy(EnergyKey("site", SITE), "15min", START, START + 3600)
    meter_a = store.energy(EnergyKey("meter", METER_A), "15min", START, START + 3600)
    meter_b = {
        r.start: r for r in store.energy(EnergyKey("meter", METER_B), "15min", START, START + 3600)
    }
    for row, ra in zip(site, meter_a, strict=True):
        rb = meter_b.get(row.start)
        assert row.import_wh == ra.import_wh + (rb.import_wh if rb else 0)
        assert row.completeness == min(ra.completeness, rb.completeness if rb else 0.0)
    assert site[-1].completeness == 0.0  # meter B has no data after its first 30 minutes


def test_late_backfill_recomputes_what_it_touches(ingest: Ingest, store: SqliteStore) -> None:
    recs = records(60)
    first, hole, rest = recs[:20], recs[20:40], recs[40:]
    ingest.pipeline.handle(uplink(METER_A), batch(METER_A, first + rest))
    before = store.energy(EnergyKey("meter", METER_A), "15min", START, START + 3600)
    assert min(r.completeness for r in before) < 1.0
    assert ingest.state.gaps(METER_A) == [(20, 39)]
    ingest.pipeline.handle(uplink(METER_A), batch(METER_A, hole))  # late
    after = store.energy(EnergyKey("meter", METER_A), "15min", START, START + 3600)
    counters = counter_at(recs)
    for row in after[1:]:
        assert row.import_wh == counters[row.end] - counters[row.start]
        assert row.completeness == 1.0
    hour = store.energy(EnergyKey("meter", METER_A), "hour", START, START + 3600)
    assert hour[0].import_wh == sum(r.import_wh for r in after)
    assert ingest.state.gaps(METER_A) == []
    assert ingest.metrics.value("myenergy_ingest_sequence_gap_records") == 0


@pytest.mark.parametrize(
    ("topic_device", "payload_device", "reason"),
    [
        (METER_A, METER_B, DEVICE_MISMATCH),
        ("dev-nobody", "dev-nobody", UNKNOWN_DEVICE),
        (SUSPENDED, SUSPENDED, INACTIVE_DEVICE),
    ],
)
def test_wrong_identity_is_dead_lettered(
    ingest: Ingest, store: SqliteStore, topic_device: str, payload_device: str, reason: str
) -> None:
    payload = batch(payload_device, records(5))
    outcome = ingest.pipeline.handle(uplink(topic_device), payload)
    assert outcome.dead_letters == [reason]
    (letter,) = ingest.deadletters.list()
    assert (letter.reason, letter.topic, letter.raw) == (reason, uplink(topic_device), payload)
    assert store.records(topic_device, START, START + DAY) == []
    assert store.records(payload_device, START, START + DAY) == []
    assert ingest.metrics.value("myenergy_ingest_dead_letters_total", {"reason": reason}) == 1


def test_bad_records_are_dead_lettered_and_good_ones_stored(
    ingest: Ingest, store: SqliteStore
) -> None:
    recs = records(10)
    recs[1].clock = CLOCK_UNANCHORED
    recs[2].ts = 2_000_000_000  # 2033: the future
    recs[3].ts = START - 200 * DAY  # before installation
    recs[4].stats["u_l1_v"] = (230.0, 230.0, 5000.0)  # beyond the channel's bounds
    outcome = ingest.pipeline.handle(uplink(METER_A), batch(METER_A, recs))
    assert sorted(outcome.dead_letters) == sorted(
        [UNANCHORED_CLOCK, FUTURE_TIMESTAMP, BEFORE_INSTALLATION, IMPLAUSIBLE_VALUE]
    )
    assert outcome.records == 6
    stored = store.records(METER_A, 0, 2**40)
    assert [r.seq for r in stored] == [0, 5, 6, 7, 8, 9]
    # parked records are not gaps: they arrived
    assert ingest.state.gaps(METER_A) == []


def test_live_samples_stored_and_checked(ingest: Ingest, store: SqliteStore) -> None:
    now_ms = int(ingest.pipeline.clock() * 1000)
    samples = [(now_ms - 2000, {"p_total_w": 1200.0}), (now_ms - 1000, {"f_hz": 99.0})]
    outcome = ingest.pipeline.handle(topics.live(METER_A), encode_live(METER_A, samples))
    assert outcome.samples == 1
    assert outcome.dead_letters == [IMPLAUSIBLE_VALUE]
    assert store.live(METER_A, now_ms // 1000 - 10, now_ms // 1000 + 10) == samples[:1]


def test_interruption_candidates_with_injected_clock(
    store: SqliteStore, registry: Registry, tmp_path: Path
) -> None:
    now = [float(START + 30 * DAY)]
    ingest = make_ingest(store, registry, tmp_path / "state.sqlite3", clock=lambda: now[0])
    ingest.pipeline.handle(uplink(METER_A), batch(METER_A, records(3)))
    heard = now[0]
    now[0] += 3600
    ingest.pipeline.handle(uplink(METER_B), batch(METER_B, records(3)))
    assert ingest.state.interruption_candidates(heard + 6 * 3600) == []
    assert ingest.state.interruption_candidates(heard + 6 * 3600 + 1) == [(METER_A, heard)]
    later = heard + 8 * 3600
    assert ingest.state.interruption_candidates(later) == [
        (METER_A, heard),
        (METER_B, heard + 3600),
    ]
