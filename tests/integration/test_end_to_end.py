"""a) Simulated SDM630 on a pty (and on Modbus TCP) -> agent -> Mosquitto -> a subscriber.

The agent and the meter share one clock running 60x, so eight minutes of records
take about eight seconds. What arrives is checked against the load model the
meter measures: every instantaneous statistic lies within the load's range over
that minute (within the wire's resolution), and every counter is a value the
meter's exact energy integral took during that minute (within the meter's own
10 Wh counter resolution and float32 registers).
"""

from __future__ import annotations

from pathlib import Path

from edge_agent.clock import AcceleratedClock
from hardware.maps import load_map
from hardware.vocabulary import CHANNELS, COUNTER
from protocol import channels
from simulators.load import LoadModel
from simulators.meter import SimulatedMeter
from simulators.tcp import serve_tcp
from tests.fixtures.mosquitto import MosquittoBroker
from tests.integration.harness import (
    MODEL,
    T0,
    assert_no_gaps,
    collector,
    make_agent,
    resolution_tolerance,
    start_meter,
    write_config,
)

METER_COUNTER_RESOLUTION_WH = 10.0  # SimulatedMeter's float register truncation
RECORDS = 8
SPEED = 60.0
# A poll is stamped when it starts; the meter measures when the request reaches it,
# up to ~50 ms of real bus time later, i.e. up to 3 s of a 60x clock.
LAG_S = SPEED * 0.05


def _resolution(name: str) -> float:
    return float(channels.get(name).resolution)


def test_records_match_the_simulated_load(mosquitto: MosquittoBroker, tmp_path: Path) -> None:
    clock = AcceleratedClock(SPEED, start=T0)
    meter = start_meter(clock)
    cloud = collector(mosquitto.host, mosquitto.port).start()
    config = write_config(tmp_path, serial_port=meter.path, mqtt_port=mosquitto.port)
    agent = make_agent(config, clock)
    agent.start()
    try:
        cloud.wait_until(lambda: len(cloud.records) >= RECORDS, 60, f"{RECORDS} records")
    finally:
        agent.stop()
        meter.stop()

    records = sorted((r.record for r in cloud.records), key=lambda r: r.seq)
    assert_no_gaps(cloud.seqs(), records[-1].seq)
    assert [r.ts - records[0].ts for r in records] == [60 * i for i in range(len(records))]
    assert all(r.ts % 60 == 0 and r.period_s == 60 and r.span == 1 for r in records)
    # the agent started mid-minute; every later minute had at least a dozen polls
    assert all(r.samples >= 12 and r.expected == 60 for r in records[1:-1])
    assert all(r.samples <= r.expected for r in records)

    load = meter.load
    for record in records:
        steps = [record.ts + k + 0.5 for k in range(60 + round(LAG_S))]
        instants = [load.instant_at(t) for t in steps]
        for name, (mean, lo, hi) in record.stats.items():
            truth = [values[name] for values in instants]
            tol = resolution_tolerance(max(abs(min(truth)), abs(max(truth))), _resolution(name))
            assert min(truth) - tol <= lo <= mean <= hi <= max(truth) + tol, (record.ts, name)
        start, end = load.counters_at(record.ts), load.counters_at(record.ts + 60 + LAG_S)
        assert set(record.counters) == {p for p, s in CHANNELS.items() if s.kind == COUNTER}
        for name, value in record.counters.items():
            tol = 2.0  # float32 kWh register (< 1 Wh here) + the agent's floor to whole Wh
            shown_lo = (start[name] // METER_COUNTER_RESOLUTION_WH) * METER_COUNTER_RESOLUTION_WH
            shown_hi = (end[name] // METER_COUNTER_RESOLUTION_WH) * METER_COUNTER_RESOLUTION_WH
            assert shown_lo - tol <= value <= shown_hi + tol, (record.ts, name)
            # the value is a reading of the meter's 10 Wh counter, not an interpolation
            offset = value % METER_COUNTER_RESOLUTION_WH
            assert min(offset, METER_COUNTER_RESOLUTION_WH - offset) <= tol, (record.ts, name)

    # Counters only grow here, and a whole minute of a business's morning shows.
    imports = [r.counters["e_imp_wh"] for r in records]
    assert imports == sorted(imports) and imports[-1] > imports[0]
    # Fresh data: nothing was historical, and the queue is empty once acknowledged.
    assert not any(r.historical for r in cloud.records)


def test_modbus_tcp_meter(mosquitto: MosquittoBroker, tmp_path: Path) -> None:
    """The same path with the meter on Modbus TCP (a TCP meter or an RS-485 gateway)."""
    clock = AcceleratedClock(SPEED, start=T0)
    load = LoadModel(11, "household")
    server = serve_tcp(SimulatedMeter(load_map(MODEL), load, clock, 1))
    cloud = collector(mosquitto.host, mosquitto.port).start()
    config = write_config(
        tmp_path,
        serial_port="",
        mqtt_port=mosquitto.port,
        extra={"meter": {"transport": "tcp", "host": "127.0.0.1", "tcp_port": server.port}},
    )
    agent = make_agent(config, clock)
    agent.start()
    try:
        cloud.wait_until(lambda: len(cloud.records) >= 3, 30, "records from a TCP meter")
    finally:
        agent.stop()
        server.stop()
    records = sorted((r.record for r in cloud.records), key=lambda r: r.seq)
    assert_no_gaps(cloud.seqs(), records[-1].seq)
    assert all(r.samples >= 12 for r in records[1:-1])
    assert agent.poller.errors.snapshot() == {}
    for record in records[1:]:
        truth = [load.instant_at(record.ts + k + 0.5)["u_l1_v"] for k in range(60 + 3)]
        _, lo, hi = record.stats["u_l1_v"]
        assert min(truth) - 0.2 <= lo <= hi <= max(truth) + 0.2
