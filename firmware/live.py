"""Live mode: per-phase power every second, only while someone is watching.

Cellular data costs money, so high-rate data flows only after the portal asks
(``{"cmd": "live", "minutes": N}``, capped by ``live.max_minutes``) and stops by
itself when the time is up; ``live_stop`` ends it early. Samples come from the
regular meter polls, at most one per ``live.sample_s``, and go out at QoS 0,
never queued: a late live sample is worthless, the minute records carry the
history (same rules as edge_agent/live.py).
"""

import time

from protocol.live import encode_live

try:
    from typing import Any
except ImportError:
    pass

# What the portal's live view draws: active power per phase and the total.
LIVE_CHANNELS = ("p_l1_w", "p_l2_w", "p_l3_w", "p_total_w")


class Live:
    """The live window (ticks) and the sampler that turns readings into payloads."""

    def __init__(self, device_id: str, sample_s: float, max_minutes: int) -> None:
        self.device_id = device_id
        self.sample_ms = int(sample_s * 1000)
        self.max_minutes = max_minutes
        self._until = None  # type: int | None  # ticks_ms when live mode ends
        self._last = None  # type: int | None  # ticks_ms of the last sample sent
        self.sent = 0

    def start(self, minutes: int, now_ms: int) -> int:
        """Live for ``minutes`` (capped) from now; returns the minutes granted."""
        minutes = max(1, min(minutes, self.max_minutes))
        self._until = time.ticks_add(now_ms, minutes * 60000)
        self._last = None
        return minutes

    def stop(self) -> None:
        self._until = None

    def active(self, now_ms: int) -> bool:
        until = self._until
        if until is not None and time.ticks_diff(until, now_ms) <= 0:
            self._until = None
        return self._until is not None

    def remaining_s(self, now_ms: int) -> int:
        """Seconds of live mode left (0 when off), for the status's ``live_until``."""
        until = self._until
        if until is None or not self.active(now_ms):
            return 0
        return max(0, time.ticks_diff(until, now_ms) // 1000)

    def sample(self, reading: "dict[str, Any]", utc_ms: int, now_ms: int) -> bytes | None:
        """The live payload for this reading, or None (off, too soon, nothing to show)."""
        if not self.active(now_ms):
            return None
        last = self._last
        if last is not None and time.ticks_diff(now_ms, last) < self.sample_ms:
            return None
        values = {}
        for name in LIVE_CHANNELS:
            if name in reading:
                values[name] = reading[name]
        if not values:
            return None
        self._last = now_ms
        self.sent += 1
        return encode_live(self.device_id, [(utc_ms, values)])
