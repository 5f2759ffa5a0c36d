"""Live mode: per-phase power every second, only while someone is watching.

Cellular data costs money, so high-rate data flows only after the portal asks
(``{"cmd": "live", "minutes": N}``) and only for N minutes (capped by
``[live] max_minutes``); then it stops by itself, with no message needed. A
``live_stop`` ends it early. Samples go out at QoS 0 and are never queued: a late
live sample is worthless, the minute records carry the history.

:class:`LiveWindow` holds the state (thread-safe: commands arrive on paho's
network thread, the poll thread reads it); :class:`LivePublisher` turns the poll
thread's validated readings into live messages. Samples come from the regular
polls, at most one per ``sample_s``; with a poll period longer than ``sample_s``
they come once per poll.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Mapping

import structlog

from edge_agent.clock import Clock
from protocol.codec import encode_live

__all__ = ["LIVE_CHANNELS", "LivePublisher", "LiveWindow"]

log = structlog.get_logger(__name__)

# What the portal's live view draws: active power per phase and the total.
LIVE_CHANNELS = ("p_l1_w", "p_l2_w", "p_l3_w", "p_total_w")


class LiveWindow:
    """Until when live mode is on, in agent-clock UTC seconds; off by itself after."""

    def __init__(self, clock: Clock, max_minutes: int, default_minutes: int) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._until: float | None = None
        self.max_minutes = max_minutes
        self.default_minutes = default_minutes

    def start(self, minutes: float | None) -> float:
        """Turn live mode on for ``minutes`` (default if None, capped); returns the end."""
        wanted = self.default_minutes if minutes is None else minutes
        if not math.isfinite(wanted) or wanted <= 0:
            raise ValueError(f"live minutes must be a positive number, got {minutes!r}")
        granted = min(float(wanted), float(self.max_minutes))
        until = self._clock.now() + granted * 60.0
        with self._lock:
            self._until = until
        log.info("live mode on", minutes_requested=minutes, minutes_granted=granted)
        return until

    def stop(self) -> None:
        with self._lock:
            was, self._until = self._until, None
        if was is not None:
            log.info("live mode off", reason="live_stop command")

    def until(self) -> float | None:
        """The end of live mode, or None when it is off (or has run out)."""
        with self._lock:
            until = self._until
            if until is not None and self._clock.now() >= until:
                self._until = until = None
                log.info("live mode off", reason="time is up")
            return until


class LivePublisher:
    """Called by the poll thread after every poll; publishes while the window is open."""

    def __init__(
        self,
        window: LiveWindow,
        device_id: str,
        publish: Callable[[bytes], bool],
        sample_s: float,
    ) -> None:
        self._window = window
        self._device_id = device_id
        self._publish = publish
        self.sample_s = sample_s
        self._last_ts: float | None = None
        self.sent = 0

    def offer(self, ts: float, values: Mapping[str, float]) -> bool:
        """Publish the power readings of a poll taken at ``ts`` if live; True if sent."""
        if self._window.until() is None:
            self._last_ts = None
            return False
        # A little slack so polls on a 1 s grid with jitter are not skipped.
        if self._last_ts is not None and ts - self._last_ts < self.sample_s * 0.9:
            return False
        sample = {ch: values[ch] for ch in LIVE_CHANNELS if ch in values}
        if not sample:
            return False  # the meter did not answer: nothing true to show
        payload = encode_live(self._device_id, [(round(ts * 1000), sample)])
        if not self._publish(payload):
            return False
        self._last_ts = ts
        self.sent += 1
        return True
