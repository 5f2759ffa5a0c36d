"""edge_agent.status: the status message and when it is published."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from edge_agent import __version__
from edge_agent.clock import FakeClock
from edge_agent.status import StatusInputs, StatusReporter, build_status, last_will
from protocol.codec import CLOCK_ESTIMATED, CLOCK_SYNCED, decode_status, encode_status

NOW = 1_767_225_600.0

QUIET = StatusInputs(queue_depth=1, oldest_unsent_ts=NOW - 30, store_full_in_s=None)


def test_build_status_reports_everything() -> None:
    inputs = StatusInputs(
        queue_depth=1234,
        oldest_unsent_ts=NOW - 7200.5,
        store_full_in_s=86400.7,
        store_bytes=5_000_000,
        records_dropped=0,
        modbus_errors={"timeout": 3, "crc": 1},
        clock_quality=CLOCK_ESTIMATED,
        live_until=NOW + 300,
        signal_dbm=-71,
    )
    assert build_status(inputs, NOW, uptime_s=99.9) == {
        "state": "online",
        "version": __version__,
        "ts": int(NOW),
        "uptime_s": 99,
        "queue_depth": 1234,
        "oldest_unsent_age_s": 7200,
        "store_full_in_s": 86400,
        "store_bytes": 5_000_000,
        "records_dropped": 0,
        "modbus_errors": {"crc": 1, "timeout": 3},
        "clock": "estimated",
        "live_until": int(NOW) + 300,
        "signal_dbm": -71,
    }
    empty = build_status(StatusInputs(0, None, None), NOW, 0)
    assert empty["oldest_unsent_age_s"] is None
    assert empty["store_full_in_s"] is None
    assert empty["live_until"] is None
    assert empty["clock"] == "synced"
    assert empty["signal_dbm"] is None  # no modem source: unknown


def test_last_will_is_offline() -> None:
    assert last_will() == {"state": "offline", "version": __version__}
    assert decode_status(encode_status(last_will())) == last_will()


def test_status_goes_through_the_codec() -> None:
    inputs = StatusInputs(
        queue_depth=10**6,
        oldest_unsent_ts=0.0,
        store_full_in_s=float("inf"),
        modbus_errors={kind: 10**9 for kind in ("timeout", "crc", "exception", "implausible")},
        live_until=NOW + 1e6,
    )
    status = build_status(inputs, NOW, 10**9)
    assert status["store_full_in_s"] is None  # JSON has no infinity
    assert decode_status(encode_status(status)) == status


def test_first_call_publishes_then_heartbeat_interval() -> None:
    clock = FakeClock(NOW)
    reporter = StatusReporter(clock, interval_s=3600)
    first = reporter.due(QUIET)
    assert first is not None and first["uptime_s"] == 0
    clock.advance(3599)
    assert reporter.due(QUIET) is None
    clock.advance(1)
    beat = reporter.due(QUIET)
    assert beat is not None and beat["uptime_s"] == 3600
    assert reporter.uptime_s == 3600


def test_meaningful_changes_publish_after_the_minimum_gap() -> None:
    clock = FakeClock(NOW)
    reporter = StatusReporter(clock, interval_s=3600, min_gap_s=5)
    reporter.due(QUIET)
    changed = replace(QUIET, clock_quality=CLOCK_ESTIMATED)
    clock.advance(1)
    assert reporter.due(changed) is None  # held back by the gap, not forgotten
    clock.advance(4)
    sent = reporter.due(changed)
    assert sent is not None and sent["clock"] == "estimated"
    clock.advance(10)
    assert reporter.due(changed) is None  # no change any more
    steps: list[dict[str, Any]] = [
        {"state": "degraded"},
        {"live_until": NOW + 300.0},
        {"clock_quality": CLOCK_SYNCED},
    ]
    for step in steps:
        changed = replace(changed, **step)
        clock.advance(10)
        assert reporter.due(changed) is not None, step


def test_counts_only_matter_when_they_cross_a_decade() -> None:
    clock = FakeClock(NOW)
    reporter = StatusReporter(clock, interval_s=3600, min_gap_s=0)
    reporter.due(QUIET)

    def publishes(**changes: Any) -> bool:
        clock.advance(1)
        return reporter.due(replace(QUIET, **changes)) is not None

    assert publishes(modbus_errors={"timeout": 1})  # the first error is news
    assert not publishes(modbus_errors={"timeout": 9})
    assert publishes(modbus_errors={"timeout": 10})
    assert not publishes(modbus_errors={"timeout": 99})
    assert publishes(modbus_errors={"timeout": 99, "crc": 1})  # a new kind of error
    assert not publishes(modbus_errors={"timeout": 99, "crc": 1}, queue_depth=9)
    assert publishes(modbus_errors={"timeout": 99, "crc": 1}, queue_depth=10)
    assert not publishes(modbus_errors={"timeout": 99, "crc": 1}, queue_depth=99)
    assert publishes(modbus_errors={"timeout": 99, "crc": 1}, queue_depth=100)
    assert publishes(modbus_errors={"timeout": 99, "crc": 1}, queue_depth=100, records_dropped=1)


def test_force_publishes_and_resets_the_schedule() -> None:
    clock = FakeClock(NOW)
    reporter = StatusReporter(clock, interval_s=3600)
    reporter.due(QUIET)
    clock.advance(100)
    assert reporter.force(QUIET)["uptime_s"] == 100
    clock.advance(3599)
    assert reporter.due(QUIET) is None
