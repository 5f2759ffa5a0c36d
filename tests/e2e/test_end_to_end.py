"""Meter to database: SDM630 simulator -> edge agent -> Mosquitto -> ingest -> InfluxDB.

Everything is real (pty line, agent, broker, ``python -m ingest.cli run``,
influxd); only time is accelerated for the meter and the agent (60x: a simulated
minute per real second). See tests/e2e/conftest.py for the wiring.

What is checked once the run is over (:func:`check_store`):

* **records**: the store holds one 1-minute record per minute, no gaps, each
  seq the agent produced exactly once (the agent's queue is empty, its seqs are
  1..last), no dead letters;
* **rollups**: every complete quarter-hour (at least two) has completeness 1.0,
  reconciles to the Wh with the stored register readings, equals the site's row,
  and is within :func:`energy_bound` of the load model's exact integral
  ``energy_between(t1, t2)`` of ``e_imp_wh``.
"""

from __future__ import annotations

import contextlib
import math
import sqlite3
import time

import pytest

from ingest.store import EnergyKey
from protocol.codec import CLOCK_SYNCED
from tests.e2e.conftest import COUNTER, DEVICE, MINUTE, QUARTER, SITE, EndToEnd, wait_for

REGISTER_RESOLUTION_WH = 10.0  # the simulator truncates the float kWh registers to 10 Wh
AGENT_FLOOR_WH = 1.0  # the agent floors counters to whole Wh
FLOAT32_REL = 2.0**-24  # half an ulp of a float32 register, relative


def run_end(t0: float) -> float:
    """Simulated end of a run: two whole quarter-hours after the first boundary
    (10:00 and 10:15 from a 09:57:30 start) and a minute to close the record of
    10:29, whose counter is the reading at 10:30. ``finish`` then drains the queue."""
    return math.ceil(t0 / QUARTER) * QUARTER + 2 * QUARTER + MINUTE + 15


def energy_bound(run: EndToEnd, t1: int, t2: int) -> float:
    """How far a stored 15-minute import may be from ``energy_between(t1, t2)``.

    The stored value is ``R(t2) - R(t1)``, R the register reading stamped at a
    boundary. Each R differs from the exact counter at the boundary because:

    * the simulator truncates the float kWh register to 10 Wh: the difference
      of two truncated values is off by less than 10 Wh;
    * the agent floors to whole Wh (< 1 Wh on the difference) and the float32
      register rounds by half an ulp (value x 2^-24) at each end;
    * the reading is the meter's counter when the last poll of the minute read
      it, not at the boundary itself: it was read at the last read of the
      register before the boundary or the first one after it (the meter records
      both), so the energy counted between those two reads bounds the error at
      each end (the resolution of the counter in time; ~1-3 kWh/min here).
    """
    bound = REGISTER_RESOLUTION_WH + AGENT_FLOOR_WH
    for t in (t1, t2):
        before, after = run.meter.reads_around(t)
        bound += run.load.energy_between(before, after)[COUNTER]
        bound += run.load.counters_at(t)[COUNTER] * FLOAT32_REL
    return bound


def check_store(run: EndToEnd, last_seq: int) -> int:
    """Every record once, one per minute, and right rollups; the number of quarter-hours."""
    records = run.stored()
    assert records, "nothing stored"
    # exactly once: the agent made seqs 1..last_seq and emptied its queue
    seqs = sorted(r.seq for r in records)
    produced = set(range(1, last_seq + 1))
    assert seqs == sorted(produced), (
        f"{len(seqs)} stored for {last_seq} produced; missing {sorted(produced - set(seqs))}, "
        f"unexpected {sorted(set(seqs) - produced)}"
    )
    assert len({(DEVICE, r.ts) for r in records}) == len(records) == last_seq
    # one per minute, no gaps
    first, last = records[0].ts, records[-1].ts
    assert [r.ts for r in records] == list(range(first, last + MINUTE, MINUTE))
    assert all(r.period_s == MINUTE and r.span == 1 for r in records)
    assert all(r.clock == CLOCK_SYNCED for r in records)
    with sqlite3.connect(run.state_path) as db:
        dead = db.execute("SELECT reason, detail FROM dead_letters").fetchall()
    assert dead == []

    readings = {r.ts + r.period_s: r.counters[COUNTER] for r in records}
    start = math.ceil(min(readings) / QUARTER) * QUARTER
    quarters = range(start, max(readings) - QUARTER + 1, QUARTER)
    assert len(quarters) >= 2, f"only {len(quarters)} complete quarter-hours"
    for t1 in quarters:
        t2 = t1 + QUARTER
        rows = run.store.energy(EnergyKey("meter", DEVICE), "15min", t1, t2)
        assert len(rows) == 1, (t1, rows)
        row = rows[0]
        assert row.completeness == 1.0, (t1, row)
        # the rollup is the register's own difference, to the Wh
        assert row.import_wh == readings[t2] - readings[t1], (t1, row)
        # ... and the register's difference is the simulated load's energy
        truth = run.load.energy_between(t1, t2)[COUNTER]
        bound = energy_bound(run, t1, t2)
        assert abs(row.import_wh - truth) <= bound, (t1, row.import_wh, truth, bound)
        # a one-meter site: the site's row is the meter's
        (site,) = run.store.energy(EnergyKey("site", SITE), "15min", t1, t2)
        assert (site.import_wh, site.export_wh, site.completeness) == (
            row.import_wh,
            row.export_wh,
            1.0,
        )
    return len(quarters)


def test_meter_to_influxdb_rollups_match_the_simulated_energy(e2e: EndToEnd) -> None:
    """Two and a half quarter-hours through the whole chain; the store matches the load."""
    e2e.start()
    e2e.wait_until_simulated(run_end(e2e.t0))
    last_seq = e2e.finish()
    with contextlib.suppress(AssertionError):  # check_store names what is missing
        e2e.wait_stored(lambda recs: len(recs) >= last_seq, 30, f"{last_seq} records stored")
    assert check_store(e2e, last_seq) >= 2
    assert e2e.ingest.stop() == 0


# Mosquitto 2.0.11 does not restore a persistent session's *shared* subscription
# after a restart: until the ingest worker subscribes again, an uplink gets the
# PUBACK "No matching subscribers" (a success code), the agent deletes it, and the
# record is lost (docs/testing.md, "End-to-end tests"). So here the agent waits
# 4-8 real seconds (its backoff, with jitter) before reconnecting, the worker 1 s
# (paho's delay), and the test checks that the worker had subscribed again first.
SLOW_RECONNECT = {"mqtt": {"backoff_min_s": 8.0, "backoff_max_s": 8.0}}


@pytest.mark.parametrize("agent_extra", [SLOW_RECONNECT], ids=["agent-reconnects-last"])
def test_faults_lose_and_duplicate_nothing(e2e: EndToEnd) -> None:
    """Ingest killed -9, InfluxDB stopped, the broker restarted: every record once."""
    e2e.start()

    def stored_after(t: float) -> bool:
        return any(r.ts >= t for r in e2e.stored())

    # (a) ingest crashes mid-stream, then comes back with its persistent session
    e2e.wait_stored(lambda recs: len(recs) >= 3, 30, "first records")
    e2e.ingest.kill()
    time.sleep(3.0)  # three agent minutes published while no worker runs
    e2e.ingest.start()
    restarted = e2e.clock.now()
    wait_for_store = 30.0
    e2e.wait_stored(lambda recs: any(r.ts >= restarted for r in recs), wait_for_store, "(a)")

    # (b) the store goes away: nothing is acknowledged until it is back
    e2e.influxdb.stop()
    time.sleep(4.0)
    e2e.influxdb.start()
    back = e2e.clock.now()
    e2e.wait_stored(lambda recs: any(r.ts >= back for r in recs), wait_for_store, "(b)")

    # (c) the broker restarts (persistence on): agent and worker reconnect
    mark = len(e2e.mosquitto.log_text())
    e2e.mosquitto.restart()
    back = e2e.clock.now()
    agent_back = f"as {DEVICE} "
    wait_for(lambda: agent_back in e2e.mosquitto.log_text()[mark:], 30, "the agent's reconnect")
    after = e2e.mosquitto.log_text()[mark:]
    resubscribed = after.find("myenergy/v1/+/up")
    assert 0 <= resubscribed < after.find(agent_back), "the agent reconnected first"
    e2e.wait_stored(lambda recs: any(r.ts >= back for r in recs), wait_for_store, "(c)")
    assert not stored_after(run_end(e2e.t0))

    e2e.wait_until_simulated(run_end(e2e.t0))
    last_seq = e2e.finish()
    with contextlib.suppress(AssertionError):  # check_store names what is missing
        e2e.wait_stored(lambda recs: len(recs) >= last_seq, 30, f"{last_seq} records stored")
    assert check_store(e2e, last_seq) >= 2
    assert e2e.ingest.stop() == 0
    log = e2e.ingest.log_text()
    assert "not stored; will retry" in log  # (b) reached the worker
    assert "disconnected; reconnecting" in log  # (c) reached the worker
    assert e2e.agent.uplink.counters.connects >= 2  # (c) reached the agent
