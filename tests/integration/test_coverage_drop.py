"""b) Coverage drop: the mobile link fails for over two hours of records, then returns.

The real agent polls the real simulated meter on a 120x clock; between agent and
broker sits ``simulators.link.LinkProxy``. The link is first cut (connections
reset, new ones refused), then blackholed (connections accepted, every byte
silently dropped: only the keepalive notices). Afterwards every record has
reached the persistent-session subscriber on the broker side: the sequence has
no gaps, deduplicated by (device, ts) nothing is duplicated, and the backlog came
flagged historical while the records made after the link returned did not.
"""

from __future__ import annotations

from pathlib import Path

from edge_agent.clock import AcceleratedClock
from simulators.link import LinkProxy
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

SPEED = 120.0
CUT_MINUTES = 60
BLACKHOLE_MINUTES = 65


def test_two_hours_without_coverage_lose_nothing(
    mosquitto: MosquittoBroker, tmp_path: Path
) -> None:
    clock = AcceleratedClock(SPEED, start=T0)
    meter = start_meter(clock)
    cloud = collector(mosquitto.host, mosquitto.port).start()
    with LinkProxy("127.0.0.1", 0, mosquitto.host, mosquitto.port) as link:
        config = write_config(
            tmp_path,
            serial_port=meter.path,
            mqtt_port=link.port,
            extra={"mqtt": {"batch_max_records": 30, "max_in_flight": 3}},
        )
        agent = make_agent(config, clock)
        agent.start()
        try:
            cloud.wait_until(lambda: len(cloud.records) >= 3, 30, "records before the outage")

            outage_start = clock.now()
            link.set_mode("cut")
            wait_for(lambda: clock.now() >= outage_start + CUT_MINUTES * 60, 60, "the cut")
            link.set_mode("blackhole")
            wait_for(
                lambda: clock.now() >= outage_start + (CUT_MINUTES + BLACKHOLE_MINUTES) * 60,
                60,
                "the blackhole",
            )
            outage_end = clock.now()
            during = agent.queue.depth()
            link.set_mode("pass")

            last_seq = agent.queue.next_seq - 1
            cloud.wait_until(lambda: cloud.seqs() >= set(range(1, last_seq + 1)), 90, "the backlog")
            # ...and normal operation resumes: records made after the return arrive too
            resumed = clock.now()
            cloud.wait_until(
                lambda: any(r.record.ts >= resumed for r in cloud.records), 30, "fresh records"
            )
        finally:
            agent.stop()
            meter.stop()
        stats = link.stats()

    assert during >= 120, f"only {during} records queued during the outage"
    assert stats.rejected > 0, "the cut never refused a connection"
    assert stats.dropped_up > 0, "the blackhole never swallowed anything"

    received = cloud.records
    last = max(r.record.seq for r in received)
    assert_no_gaps(cloud.seqs(), last)
    unique = cloud.unique_records()
    # after dedup by (device, ts) there is exactly one record per seq: nothing duplicated
    assert sorted(r.seq for r in unique.values()) == list(range(1, last + 1))
    # the minutes of the outage came late and flagged historical (beyond the first
    # few, which may have been in flight or fresh when the link went)
    backlog = [r for r in received if outage_start + 300 <= r.record.ts < outage_end - 300]
    assert len(backlog) >= 110
    assert all(r.historical for r in backlog)
    assert not any(r.historical for r in received if r.record.ts >= resumed)
    # no minute of polling is missing: one record per minute from start to end
    minutes = sorted(unique)
    assert minutes == list(range(minutes[0], minutes[-1] + 60, 60))
