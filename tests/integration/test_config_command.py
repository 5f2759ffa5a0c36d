"""The cloud's commands to the agent: validation of ``config``, and the dispatcher.

Unit level (no broker): ``plan_config_change`` with the real schema and the real
bus check of the sdm630 map at its 9600 baud, and ``CommandHandler`` applying
decoded commands to a live window, a clock and the runtime settings.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from edge_agent.agent import check_bus
from edge_agent.clock import Clock, FakeClock, SystemClock
from edge_agent.commands import CommandHandler, RuntimeSettings, plan_config_change
from edge_agent.config import AgentConfig, load_config
from edge_agent.live import LiveWindow
from hardware.maps import load_map
from hardware.planner import BusBudgetError, plan_requests

SAMPLE = Path(__file__).parents[2] / "edge_agent" / "agent.sample.toml"


@pytest.fixture
def config() -> AgentConfig:
    return load_config(SAMPLE, {})  # sdm630, 9600 8N1, poll_s 1


def _check_poll(config: AgentConfig):
    meter_map = load_map(config.meter.model)
    requests = plan_requests(meter_map)
    return lambda poll_s: check_bus(meter_map, requests, config, poll_s)


def test_runtime_settings_are_applied(config: AgentConfig) -> None:
    new, outcome = plan_config_change(
        config,
        {"poll_s": 5, "status_s": 600, "upload_s": 120, "live_sample_s": 2},
        _check_poll(config),
    )
    assert outcome.rejected == {}
    assert new.meter.poll_s == 5.0
    assert new.meter.expected_per_minute == 12
    assert new.status.interval_s == 600
    assert new.mqtt.upload_interval_s == 120
    assert new.live.sample_s == 2.0


def test_a_poll_period_the_bus_cannot_carry_is_refused_with_the_reason(
    config: AgentConfig,
) -> None:
    with pytest.raises(BusBudgetError):  # the premise: 2 requests at 9600 baud take ~0.33 s
        _check_poll(config)(0.2)
    new, outcome = plan_config_change(config, {"poll_s": 0.2}, _check_poll(config))
    assert new is config
    assert "bus time" in outcome.rejected["poll_s"]


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"poll_s": 7}, "divide 60"),  # 60/7 polls is not a whole number
        ({"poll_s": "fast"}, "number"),
        ({"poll_s": 0}, "greater than or equal"),
        ({"status_s": 5}, "greater than or equal"),
        ({"upload_s": 0}, "greater than 0"),
        ({"mqtt.host": "evil.example"}, "run time"),
        ({"device.id": "other"}, "run time"),
    ],
)
def test_invalid_or_unsafe_changes_are_refused(
    config: AgentConfig, changes: dict[str, object], reason: str
) -> None:
    new, outcome = plan_config_change(config, changes, _check_poll(config))
    assert new == config
    assert outcome.applied == {}
    (key,) = changes
    assert reason in outcome.rejected[key]


def test_valid_keys_apply_even_when_others_are_refused(config: AgentConfig) -> None:
    new, outcome = plan_config_change(
        config, {"poll_s": 2, "status_s": 30, "upload_s": 300}, _check_poll(config)
    )
    assert outcome.applied == {"poll_s": 2, "upload_s": 300}
    assert set(outcome.rejected) == {"status_s"}
    assert (new.meter.poll_s, new.mqtt.upload_interval_s) == (2.0, 300)
    assert new.status.interval_s == config.status.interval_s


def _handler(
    config: AgentConfig, clock: Clock
) -> tuple[CommandHandler, LiveWindow, RuntimeSettings]:
    live_clock = FakeClock(start=1_772_445_600.0)
    live = LiveWindow(live_clock, config.live.max_minutes, config.live.default_minutes)
    settings = RuntimeSettings(config)
    handler = CommandHandler(
        live=live, clock=clock, settings=settings, check_poll=_check_poll(config)
    )
    return handler, live, settings


def _cmd(**fields: object) -> bytes:
    return json.dumps(fields).encode()


def test_live_commands(config: AgentConfig) -> None:
    handler, live, _ = _handler(config, FakeClock())
    assert handler.handle(_cmd(cmd="live", minutes=2))
    until = live.until()
    assert until is not None
    assert handler.handle(_cmd(cmd="live", minutes=1440))  # a day: capped
    capped = live.until()
    assert capped is not None and capped - until == pytest.approx((30 - 2) * 60)
    assert handler.handle(_cmd(cmd="live_stop"))
    assert live.until() is None


def test_config_command_replaces_settings_and_notifies(config: AgentConfig) -> None:
    handler, _, settings = _handler(config, FakeClock())
    seen: list[tuple[float, float]] = []
    settings.on_change(lambda c: seen.append((c.meter.poll_s, c.live.sample_s)))
    assert handler.handle(_cmd(cmd="config", poll_s=10, live_sample_s=2))
    assert seen == [(10.0, 2.0)]
    # 7 s does not divide the minute: refused on its own, the sample period applies
    assert handler.handle(_cmd(cmd="config", poll_s=7, live_sample_s=5))
    assert seen[-1] == (10.0, 5.0)
    assert handler.refused == 1
    assert not handler.handle(_cmd(cmd="config", poll_s=0.2))  # the bus cannot
    assert settings.current.meter.poll_s == 10.0
    assert handler.refused == 2


def test_expired_and_retained_commands_are_ignored(config: AgentConfig) -> None:
    clock = FakeClock(start=1_772_445_600.0)
    handler, live, _ = _handler(config, clock)
    assert not handler.handle(_cmd(cmd="live", minutes=5, exp=1_772_445_599))
    assert not handler.handle(_cmd(cmd="live", minutes=5), retained=True)
    assert live.until() is None
    assert handler.handle(_cmd(cmd="live", minutes=5, exp=1_772_445_660))
    assert live.until() is not None


def test_time_command_anchors_an_unsynchronised_clock(config: AgentConfig) -> None:
    clock = SystemClock(synced_fn=lambda: False)
    handler, _, _ = _handler(config, clock)
    assert handler.handle(_cmd(cmd="time", utc=1_900_000_000.0))
    assert clock.now() == pytest.approx(1_900_000_000.0, abs=1.0)
    # a retained time command is stale by nature
    assert not handler.handle(_cmd(cmd="time", utc=1_800_000_000.0), retained=True)
    assert clock.now() == pytest.approx(1_900_000_000.0, abs=1.0)


def test_time_command_is_ignored_when_ntp_is_in_charge(config: AgentConfig) -> None:
    clock = SystemClock(synced_fn=lambda: True)
    handler, _, _ = _handler(config, clock)
    assert not handler.handle(_cmd(cmd="time", utc=1_900_000_000.0))
    assert clock.now() < 1_900_000_000.0


@pytest.mark.parametrize(
    "payload",
    [
        b"",
        b"not json",
        b"[]",
        _cmd(cmd="reboot"),
        _cmd(cmd="live", minutes="soon"),
        _cmd(cmd="live", minutes=0),
        _cmd(cmd="config", mqtt_host="evil.example"),  # not a field of the protocol
        _cmd(cmd="config", poll_s=1, baudrate=19200),  # the whole command is refused
    ],
)
def test_bad_commands_are_refused_not_raised(config: AgentConfig, payload: bytes) -> None:
    handler, live, _ = _handler(config, FakeClock())
    assert not handler.handle(payload)
    assert live.until() is None
