"""simulators/history.py: days of history through ingest's real pipeline, joined to the live meter.

In process, real stores (SQLite time series, SQLite registry, ingest's state):
the backfill's records pass validation, the rollups exist for every unit with
completeness 1 on whole days, the energy is the load model's, the counters run
on into the live simulated meter without a step, and the sequence numbers the
history took are skipped by the agent's queue.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from edge_agent.queue import RecordQueue
from hardware.vocabulary import COUNTER
from ingest.cli_run import site_meters_of
from ingest.deadletter import DeadLetterStore
from ingest.device_state import DeviceStateStore
from ingest.metrics import Metrics
from ingest.pipeline import Pipeline
from ingest.registry import Registry
from ingest.store import EnergyKey, SqliteStore
from simulators.clock import FakeClock
from simulators.history import DAY_S, backfill, history_records, reserve_seqs, shown_counter
from simulators.meter import SimulatedMeter
from simulators.stack_meters import meter_load
from simulators.stack_sites import Site, plan_sites

SOFIA = ZoneInfo("Europe/Sofia")
# The live meter starts at 2026-03-04 10:07 Sofia: two days of history hold the whole
# local day of 3 March.
END = int(dt.datetime(2026, 3, 4, 10, 7, tzinfo=SOFIA).timestamp())
DAY_START = int(dt.datetime(2026, 3, 3, tzinfo=SOFIA).timestamp())
DAY_END = int(dt.datetime(2026, 3, 4, tzinfo=SOFIA).timestamp())


@dataclass
class Cloud:
    store: SqliteStore
    pipeline: Pipeline
    state: DeviceStateStore
    deadletters: DeadLetterStore


@pytest.fixture
def cloud(tmp_path: Path) -> Iterator[Cloud]:
    store = SqliteStore(tmp_path / "ts.sqlite3")
    store.init()
    registry = Registry.open(f"sqlite:///{tmp_path / 'registry.sqlite3'}")
    state = DeviceStateStore(tmp_path / "state.sqlite3")
    deadletters = DeadLetterStore(tmp_path / "state.sqlite3")
    installed = dt.datetime.fromtimestamp(END - 3 * DAY_S, dt.UTC)
    for site in plan_sites(4):
        registry.add_device(
            site.device_id, f"site-{site.index}", site.model, installed_at=installed
        )
    pipeline = Pipeline(
        store,
        registry,
        site_meters_of(registry),
        deadletters=deadletters,
        state=state,
        metrics=Metrics(),
        clock=lambda: END + 30.0,  # the stack's simulated "now": just after the history
    )
    yield Cloud(store, pipeline, state, deadletters)
    store.close()
    state.close()
    deadletters.close()
    registry.close()


def _site(model: str) -> Site:
    return next(s for s in plan_sites(4) if s.model == model)


@pytest.mark.parametrize("model", ["sdm630", "em340", "pm5100", "sdm120"])
def test_backfill_makes_complete_rollups_that_join_the_live_meter(
    cloud: Cloud, tmp_path: Path, model: str
) -> None:
    site = _site(model)
    load = meter_load(site, tmp_path / "state", start=END)
    c0 = load.counters_at(END)
    seen: list[tuple[int, int]] = []
    result = backfill(
        cloud.pipeline,
        site,
        end=END,
        days=2,
        end_counters=c0,
        first_seq=1,
        progress=lambda _dev, done, total: seen.append((done, total)),
    )
    assert (result.records, result.refused) == (2880, 0)
    assert seen[-1] == (2880, 2880)
    assert cloud.deadletters.count() == 0
    assert cloud.state.gaps(site.device_id) == []

    records = cloud.store.records(site.device_id, END - 2 * DAY_S, END)
    assert len(records) == 2880 and records[-1].ts + 60 == END
    assert all(r.samples == r.expected == 60 for r in records)

    # Every rollup unit exists; the whole local day is complete and is the model's energy.
    key = EnergyKey("meter", site.device_id)
    (day,) = cloud.store.energy(key, "day", DAY_START, DAY_START + 1)
    assert (day.start, day.end, day.completeness) == (DAY_START, DAY_END, 1.0)
    quarters = cloud.store.energy(key, "15min", DAY_START, DAY_END)
    assert len(quarters) == 96 and all(q.completeness == 1.0 for q in quarters)
    assert sum(q.import_wh for q in quarters) == day.import_wh
    hours = cloud.store.energy(key, "hour", DAY_START, DAY_END)
    assert len(hours) == 24 and all(h.completeness == 1.0 for h in hours)
    assert cloud.store.energy(key, "month", DAY_START - 3 * DAY_S, DAY_END)
    site_key = EnergyKey("site", f"site-{site.index}")
    assert cloud.store.energy(site_key, "day", DAY_START, DAY_START + 1)[0].completeness == 1.0
    truth = load.energy_between(DAY_START, DAY_END)
    counters = {p.channel: p for p in site.meter_map.points if p.kind == COUNTER}
    resolution = max(10.0, abs(counters["e_imp_wh"].scale))  # the meter's register step
    assert abs(day.import_wh - truth["e_imp_wh"]) <= 2 * resolution
    assert abs(day.export_wh - truth["e_exp_wh"]) <= 2 * resolution

    # The live meter starts from the counters the history ended at: no step, either way.
    last = records[-1].counters
    for channel, point in counters.items():
        assert last[channel] == shown_counter(point, c0[channel], 10.0), channel
    clock = FakeClock(END + 60.0)
    meter = SimulatedMeter(site.meter_map, load, clock, slave_id=1)
    first_live = {ch: math.floor(v) for ch, v in meter.refresh().items() if ch in counters}
    for channel in counters:
        assert last[channel] <= first_live[channel], channel
    increase = first_live["e_imp_wh"] - last["e_imp_wh"]
    assert increase <= load.energy_between(END, END + 60)["e_imp_wh"] + resolution


def test_history_counters_never_step_back_and_records_are_whole_minutes() -> None:
    site = _site("sdm630")
    c0 = meter_load(site, Path("/nonexistent"), start=END).counters_at(END)
    chunks = list(history_records(site, END, 1.5, c0, 100))
    assert [len(c) for c in chunks] == [1440, 720]
    records = [r for c in chunks for r in c]
    assert [r.seq for r in records] == list(range(100, 100 + 2160))
    assert all(r.ts % 60 == 0 for r in records)
    for channel in ("e_imp_wh", "e_exp_wh"):
        values = [r.counters[channel] for r in records]
        assert values == sorted(values), channel
    # Instants are the model's: the mean power of a minute from its 1-second steps.
    r = records[-1]
    mean, lo, hi = r.stats["p_total_w"]
    assert lo <= mean <= hi


def test_reserved_sequence_numbers_are_skipped_by_the_agents_queue(tmp_path: Path) -> None:
    path = tmp_path / "dev" / "queue.sqlite3"
    assert reserve_seqs(path, 2880, 8 * 1024 * 1024) == 1
    assert reserve_seqs(path, 10, 8 * 1024 * 1024) == 2881
    with RecordQueue(path, 8 * 1024 * 1024) as queue:
        assert queue.next_seq == 2891


def test_history_must_end_on_a_minute() -> None:
    site = _site("em340")
    with pytest.raises(ValueError, match="whole minute"):
        next(history_records(site, END + 1, 1, {}, 1))
