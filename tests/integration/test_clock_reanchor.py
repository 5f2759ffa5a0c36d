"""Re-anchoring: a module whose RTC lost its time measures anyway, then learns the time.

The simulated site (meter) lives in real time on a 60x clock; the agent's clock reads
the same clock about 26 years late (2000-01-01) and says unanchored, as a module with
a flat RTC battery would. The records it sends meanwhile carry those 2000 stamps and
``CLOCK_UNANCHORED``. Then the cloud's ``time`` command anchors it: the records still
queued arrive re-stamped in real time and flagged ``CLOCK_ESTIMATED``, the minute in
progress too, continued without a gap or a duplicate minute by the synced ones; what
had been sent before stays unanchored.
"""

from __future__ import annotations

import threading
from pathlib import Path

import structlog

from edge_agent.clock import PLAUSIBLE_SINCE, AcceleratedClock
from hardware.vocabulary import CHANNELS, COUNTER
from protocol import topics
from protocol.codec import (
    CLOCK_ESTIMATED,
    CLOCK_SYNCED,
    CLOCK_UNANCHORED,
    Record,
    encode_command,
)
from tests.fixtures.mosquitto import MosquittoBroker
from tests.integration.harness import (
    DEVICE,
    T0,
    assert_no_gaps,
    collector,
    make_agent,
    start_meter,
    wait_for,
    write_config,
)

SPEED = 60.0
RTC_LOST = 946_684_800.0  # 2000-01-01T00:00Z
# How late the agent's clock reads. Not a whole number of minutes: its minutes start
# 53 s into the site's, so re-stamping (floor to the minute) is exact within that.
BEHIND = T0 - RTC_LOST + 23.0
ALIGN = BEHIND - BEHIND % 60  # what re-anchoring adds to an unanchored minute's ts
LAG_S = SPEED * 0.05  # the meter answers up to ~50 ms of real time after the stamp
METER_COUNTER_RESOLUTION_WH = 10.0


class LostRtcClock:
    """The site's clock read ``behind`` seconds late and unanchored, until anchored.

    ``anchor`` and ``take_anchor_step`` behave as ``edge_agent.clock.FakeClock``'s: the
    clock steps to the given time, says synced, and hands the step out once.
    """

    def __init__(self, site: AcceleratedClock, behind: float) -> None:
        self._site = site
        self._offset = -behind
        self._quality = CLOCK_UNANCHORED
        self._step: float | None = None
        self._lock = threading.Lock()

    def now(self) -> float:
        with self._lock:
            return self._site.now() + self._offset

    def monotonic(self) -> float:
        return self._site.monotonic()

    def quality(self) -> int:
        with self._lock:
            return self._quality

    def wait(self, stop: threading.Event, seconds: float) -> bool:
        return self._site.wait(stop, seconds)

    def anchor(self, utc: float) -> float:
        with self._lock:
            step = utc - (self._site.now() + self._offset)
            self._offset += step
            if self._quality == CLOCK_UNANCHORED:
                self._step = step
            self._quality = CLOCK_SYNCED
        return step

    def take_anchor_step(self) -> float | None:
        with self._lock:
            step, self._step = self._step, None
        return step


def test_queued_records_are_re_anchored_when_the_cloud_sends_the_time(
    mosquitto: MosquittoBroker, tmp_path: Path
) -> None:
    site = AcceleratedClock(SPEED, start=T0)
    meter = start_meter(site)
    clock = LostRtcClock(site, BEHIND)
    cloud = collector(mosquitto.host, mosquitto.port).start()
    config = write_config(
        tmp_path,
        serial_port=meter.path,
        mqtt_port=mosquitto.port,
        extra={"mqtt": {"upload_interval_s": 60}},
    )
    agent = make_agent(config, clock)
    command = topics.command(DEVICE)
    with structlog.testing.capture_logs() as logs:
        agent.start()
        try:
            cloud.wait_until(lambda: len(cloud.records) >= 2, 30, "unanchored records")
            # Hold uploads back, so that some records are still queued at the anchor.
            cloud.client.publish(command, encode_command({"cmd": "config", "upload_s": 3600}))
            wait_for(lambda: agent.uplink.upload_interval_s == 3600, 10, "the config command")
            held = agent.queue.depth()
            wait_for(lambda: agent.queue.depth() >= held + 3, 20, "three queued records")
            cloud.drain(0.2)
            sent_before = {r.record.seq for r in cloud.records}

            cloud.client.publish(command, encode_command({"cmd": "time", "utc": site.now()}))
            wait_for(
                lambda: any(e["event"] == "records re-anchored" for e in logs), 10, "re-anchoring"
            )
            cloud.client.publish(command, encode_command({"cmd": "config", "upload_s": 60}))
            cloud.wait_until(
                lambda: any(r.record.clock == CLOCK_SYNCED for r in cloud.records),
                30,
                "a synced record",
            )
        finally:
            agent.stop()
            meter.stop()

    (event,) = [e for e in logs if e["event"] == "records re-anchored"]
    assert event["records"] >= 3
    assert abs(event["step_s"] - BEHIND) < 5.0  # the command's trip, in agent seconds

    records: dict[int, Record] = {}
    for received in cloud.records:  # at least once: a duplicate is the same record
        seen = records.setdefault(received.record.seq, received.record)
        assert (seen.ts, seen.clock) == (received.record.ts, received.record.clock)
    seqs = sorted(records)
    assert_no_gaps(set(seqs), seqs[-1])
    by_clock = {
        flag: [records[s] for s in seqs if records[s].clock == flag]
        for flag in (CLOCK_UNANCHORED, CLOCK_ESTIMATED, CLOCK_SYNCED)
    }
    unanchored, estimated, synced = by_clock.values()

    # Sent before the anchor: unanchored, stamped in 2000, and nothing else is.
    assert {r.seq for r in unanchored} == sent_before
    assert all(r.ts < PLAUSIBLE_SINCE for r in unanchored)
    # Queued at the anchor, and the minute in progress: re-stamped, estimated.
    assert len(estimated) >= event["records"]
    last = unanchored[-1]
    for record in estimated:
        assert record.ts == last.ts + 60 * (record.seq - last.seq) + ALIGN, record.seq
    # Re-anchored and synced minutes join up: one record a minute, none twice.
    later = estimated + synced
    assert [r.seq for r in later] == list(range(last.seq + 1, seqs[-1] + 1))
    assert [r.ts - later[0].ts for r in later] == [60 * i for i in range(len(later))]
    # Real time: the meter's counters were these values then (a minute's slack for
    # the re-stamped minutes, which began up to a minute after their stamp).
    load = meter.load
    for record in later:
        start = load.counters_at(record.ts)
        end = load.counters_at(record.ts + 120 + LAG_S)
        for name in (p for p, s in CHANNELS.items() if s.kind == COUNTER):
            lo = start[name] // METER_COUNTER_RESOLUTION_WH * METER_COUNTER_RESOLUTION_WH
            hi = end[name] // METER_COUNTER_RESOLUTION_WH * METER_COUNTER_RESOLUTION_WH
            assert lo - 2.0 <= record.counters[name] <= hi + 2.0, (record.seq, name)
    # The cloud was told at once that this device needs the time.
    assert cloud.statuses and cloud.statuses[0]["clock"] == "unanchored"
