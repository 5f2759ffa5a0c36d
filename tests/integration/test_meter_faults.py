"""e) and f): what the meter does wrong, the agent survives and never turns into readings.

e) The meter stops answering for several minutes, then comes back: the agent
   keeps running, counts the timeouts (and says so in its retained status), makes
   no record for the dead minutes and resumes by itself. Implausible values (a
   voltage of 10^9 V, NaN power) are dropped, counted, and never uploaded.
f) The meter is swapped (counters restart near 0): the agent keeps going and the
   records simply show the counters going down; detecting that is the cloud's job.
"""

from __future__ import annotations

import math
from pathlib import Path

from edge_agent.clock import AcceleratedClock
from tests.fixtures.mosquitto import MosquittoBroker
from tests.integration.harness import (
    T0,
    assert_no_gaps,
    collector,
    make_agent,
    start_meter,
    wait_for,
    write_config,
)


def test_dead_meter_and_implausible_values(mosquitto: MosquittoBroker, tmp_path: Path) -> None:
    clock = AcceleratedClock(60, start=T0)
    meter = start_meter(clock)
    cloud = collector(mosquitto.host, mosquitto.port).start()
    config = write_config(tmp_path, serial_port=meter.path, mqtt_port=mosquitto.port)
    agent = make_agent(config, clock)
    agent.start()
    try:
        cloud.wait_until(lambda: len(cloud.records) >= 2, 30, "records before the fault")

        dead_from = clock.now()
        meter.sim.faults.no_reply()  # until cleared
        wait_for(lambda: clock.now() >= dead_from + 5 * 60, 30, "five dead minutes")
        meter.sim.faults.clear("no_reply")
        dead_to = clock.now()

        meter.sim.faults.implausible("u_l1_v", 1e9)  # within the map's format, not physics
        meter.sim.faults.implausible("p_l2_w", math.nan)  # "not available"
        bad_from = clock.now()
        wait_for(lambda: clock.now() >= bad_from + 3 * 60, 30, "three implausible minutes")
        meter.sim.faults.clear()
        clean_from = clock.now()

        cloud.wait_until(
            lambda: any(r.record.ts >= clean_from + 60 for r in cloud.records),
            30,
            "records after the meter recovered",
        )
        cloud.wait_until(
            lambda: any(s.get("modbus_errors", {}).get("timeout", 0) > 0 for s in cloud.statuses),
            30,
            "a status reporting the timeouts",
        )
        errors = agent.poller.errors.snapshot()
        alive = agent.running
    finally:
        agent.stop()
        meter.stop()

    assert alive
    assert errors["timeout"] >= 5
    assert errors["out_of_range"] >= 1 and errors["nan"] >= 1
    records = {r.record.ts: r.record for r in cloud.records}
    assert_no_gaps(cloud.seqs(), max(r.seq for r in records.values()))

    # No fabricated readings: a minute entirely inside the dead time has no record,
    # and the minutes it touched say how incomplete they are.
    first_dead = math.ceil(dead_from / 60) * 60
    for minute in range(first_dead, int(dead_to // 60) * 60 - 60 + 1, 60):
        assert minute not in records, f"a record for dead minute {minute}"
    for ts in (int(dead_from // 60) * 60, int(dead_to // 60) * 60):
        if ts in records:
            assert records[ts].samples < records[ts].expected

    # Nothing implausible went up: no impossible voltage, no NaN anywhere.
    for record in records.values():
        for name, triple in record.stats.items():
            assert all(math.isfinite(v) for v in triple), (record.ts, name)
        if "u_l1_v" in record.stats:
            assert record.stats["u_l1_v"][2] < 500.0
    whole_bad = [ts for ts in records if bad_from + 1 <= ts and ts + 60 <= clean_from - 1]
    assert whole_bad, "the implausible stretch covered no whole minute"
    for ts in whole_bad:
        assert "u_l1_v" not in records[ts].stats and "p_l2_w" not in records[ts].stats
        assert "u_l2_v" in records[ts].stats  # the rest of the poll was kept

    # Records resumed at full rate.
    after = [r for ts, r in records.items() if ts >= clean_from + 60]
    assert after and all(r.samples >= 12 for r in after[:-1])


def test_meter_swap_shows_as_counters_going_down(
    mosquitto: MosquittoBroker, tmp_path: Path
) -> None:
    clock = AcceleratedClock(60, start=T0)
    meter = start_meter(clock)
    cloud = collector(mosquitto.host, mosquitto.port).start()
    config = write_config(tmp_path, serial_port=meter.path, mqtt_port=mosquitto.port)
    agent = make_agent(config, clock)
    agent.start()
    try:
        cloud.wait_until(lambda: len(cloud.records) >= 3, 30, "records before the swap")
        meter.sim.faults.counter_reset(start_wh=0.0)
        swapped = clock.now()
        cloud.wait_until(
            lambda: any(r.record.ts >= swapped + 120 for r in cloud.records),
            30,
            "records after the swap",
        )
    finally:
        agent.stop()
        meter.stop()

    records = sorted((r.record for r in cloud.records), key=lambda r: r.seq)
    imports = [r.counters["e_imp_wh"] for r in records]
    drops = [i for i in range(1, len(imports)) if imports[i] < imports[i - 1]]
    assert len(drops) == 1, imports  # one step down, where the meter was swapped
    after = imports[drops[0] :]
    assert after[0] < 1000 and after == sorted(after)  # the new meter counts from ~0 Wh
    assert_no_gaps(cloud.seqs(), records[-1].seq)
