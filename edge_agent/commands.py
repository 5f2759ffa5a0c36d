"""Commands from the cloud (topic ``protocol.topics.command(dev)``): check, then apply.

``protocol.codec.decode_command`` checks the shape of every command field by field
(unknown fields, wrong types and out-of-range values make the whole command
invalid); this module applies the valid ones:

``live`` {minutes} / ``live_stop``
    start or stop live mode (:mod:`edge_agent.live`).
``time`` {utc}
    re-anchor the clock (only a clock that can be anchored; ignored while the
    kernel clock is NTP-synchronised).
``config`` {poll_s, upload_s, status_s, live_sample_s}
    change settings while running. Each key is validated on its own by the same
    schema as the file (``edge_agent.config.override``) and, for ``poll_s``,
    against the bus (``check_poll_period``); what passes is applied, what does
    not is refused with a logged reason. The broker, the serial line and the
    device id are not in the protocol's ``config`` at all: changing them under a
    running agent could leave the module unreachable with nobody on site.

Every command may carry ``exp`` (UTC seconds): a command that waited in the
persistent session past it is ignored, unless our clock is unanchored (then we
cannot tell). A retained command is always ignored: a command is an
instruction for now, and a retained one would replay at every reconnect.

Runtime changes last until the agent restarts; the cloud re-sends them after the
device's birth status if they should stick.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import structlog

from edge_agent.clock import Clock
from edge_agent.config import AgentConfig, ConfigError, leaf_keys, override
from edge_agent.live import LiveWindow
from protocol.codec import CLOCK_UNANCHORED, DecodeError, decode_command

__all__ = [
    "RUNTIME_KEYS",
    "Anchorable",
    "CommandHandler",
    "ConfigOutcome",
    "RuntimeSettings",
]

log = structlog.get_logger(__name__)

# The protocol's config fields and the settings they change (all safe at run time).
RUNTIME_KEYS: dict[str, str] = {
    "poll_s": "meter.poll_s",
    "upload_s": "mqtt.upload_interval_s",
    "status_s": "status.interval_s",
    "live_sample_s": "live.sample_s",
}
assert {tuple(k.split(".")) for k in RUNTIME_KEYS.values()} <= set(leaf_keys()), "stale keys"


@runtime_checkable
class Anchorable(Protocol):
    """A clock the cloud can set (``edge_agent.clock.SystemClock``)."""

    def anchor(self, utc: float) -> float | None: ...


class RuntimeSettings:
    """The configuration in force; replaced whole (it is frozen) under a lock.

    Listeners run after each change, in the thread that applied it, with the new
    configuration; they must be quick (set a value, not do I/O).
    """

    def __init__(self, config: AgentConfig) -> None:
        self._lock = threading.Lock()
        self._config = config
        self._listeners: list[Callable[[AgentConfig], None]] = []

    @property
    def current(self) -> AgentConfig:
        with self._lock:
            return self._config

    def on_change(self, listener: Callable[[AgentConfig], None]) -> None:
        self._listeners.append(listener)

    def replace(self, config: AgentConfig) -> None:
        with self._lock:
            self._config = config
        for listener in self._listeners:
            listener(config)


@dataclass(frozen=True)
class ConfigOutcome:
    """What a ``config`` command did: keys applied, and keys refused with the reason."""

    applied: dict[str, object]
    rejected: dict[str, str]


def plan_config_change(
    current: AgentConfig,
    changes: Mapping[str, object],
    check_poll: Callable[[float], None],
) -> tuple[AgentConfig, ConfigOutcome]:
    """Validate a ``config`` command key by key; returns the new config and the outcome.

    ``check_poll(poll_s)`` raises ValueError when the bus cannot carry a poll in
    ``poll_s`` (``hardware.planner.check_poll_period`` bound to the meter).
    Pure apart from calling ``check_poll``: the caller decides to install the result.
    """
    applied: dict[str, object] = {}
    rejected: dict[str, str] = {}
    config = current
    for name, value in changes.items():
        key = RUNTIME_KEYS.get(name)
        if key is None:
            rejected[name] = "not a setting that can change at run time"
            continue
        try:
            candidate = override(config, {key: value}, source=f"config command {name}")
            if key == "meter.poll_s":
                check_poll(candidate.meter.poll_s)
        except ConfigError as exc:
            rejected[name] = "; ".join(f"{p.key}: {p.message}" for p in exc.problems)
            continue
        except ValueError as exc:  # BusBudgetError
            rejected[name] = str(exc)
            continue
        config = candidate
        applied[name] = value
    return config, ConfigOutcome(applied, rejected)


class CommandHandler:
    """Decodes a command message and applies it. Runs on paho's network thread, so it
    only flips state; nothing here waits for I/O."""

    def __init__(
        self,
        *,
        live: LiveWindow,
        clock: Clock,
        settings: RuntimeSettings,
        check_poll: Callable[[float], None],
    ) -> None:
        self._live = live
        self._clock = clock
        self._settings = settings
        self._check_poll = check_poll
        self.handled = 0
        self.refused = 0

    def handle(self, payload: bytes, retained: bool = False) -> bool:
        """Apply one command; True if it was (at least partly) applied."""
        try:
            command = decode_command(payload)
        except DecodeError as exc:
            return self._refuse("?", f"invalid command: {exc}")
        name = str(command["cmd"])
        if retained:
            return self._refuse(name, "retained command ignored")
        expires = command.get("exp")
        if (
            isinstance(expires, int)
            and self._clock.quality() != CLOCK_UNANCHORED
            and self._clock.now() > expires
        ):
            return self._refuse(name, "expired while queued")
        self.handled += 1
        if name == "live":
            minutes = command["minutes"]
            assert isinstance(minutes, int)  # decode_command checked it
            self._live.start(minutes)
            return True
        if name == "live_stop":
            self._live.stop()
            return True
        if name == "time":
            utc = command["utc"]
            assert isinstance(utc, int | float)
            return self._time(float(utc))
        return self._config(command)

    def _time(self, utc: float) -> bool:
        if not isinstance(self._clock, Anchorable):
            return self._refuse("time", "this clock cannot be re-anchored")
        step = self._clock.anchor(utc)
        if step is None:
            log.info("time command ignored", reason="kernel clock is synchronised (NTP wins)")
            return False
        log.info("clock re-anchored", step_s=round(step, 3))
        return True

    def _config(self, command: Mapping[str, object]) -> bool:
        changes = {k: v for k, v in command.items() if k in RUNTIME_KEYS}
        config, outcome = plan_config_change(self._settings.current, changes, self._check_poll)
        for name, reason in outcome.rejected.items():
            log.warning("config change refused", key=name, reason=reason)
        if outcome.applied:
            self._settings.replace(config)
            log.info(
                "config changed at run time", **{k: str(v) for k, v in outcome.applied.items()}
            )
        if outcome.rejected:
            self.refused += 1
        return bool(outcome.applied)

    def _refuse(self, name: str, reason: str) -> bool:
        self.refused += 1
        log.warning("command refused", cmd=name, reason=reason)
        return False
