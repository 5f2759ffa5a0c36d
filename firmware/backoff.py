"""Reconnect backoff: exponential with full jitter, in ticks, never blocking.

Used by the uplink (MQTT reconnects) and the modem bring-up. A failed attempt
doubles the window ``[min_ms, cap]`` (cap = min_ms * 2**failures: 2, 4, 8...
times min_ms, at most ``max_ms``) and the next attempt waits a uniformly random time in it: a fleet
that lost its broker at the same moment spreads its reconnects over the whole
window instead of stampeding it in lockstep (edge_agent.uplink.Backoff does the
same with "equal jitter"). The floor ``min_ms`` keeps a module from hammering a
broker that refuses it (bad password) in a tight loop.

The count of failures is forgotten only when a connection *stayed up* for
``stable_ms``: a link that connects and drops at once (broker kicks us, TLS
dies after the handshake) keeps growing the wait, as if it never connected.

Nothing sleeps here: the caller asks :meth:`ready` every loop turn. Times are
``time.ticks_ms()`` values compared with ticks_diff (they wrap).
"""

import random
import time

from micropython import const

try:
    from typing import Callable
except ImportError:
    pass

_MAX_SHIFT = const(20)  # 2**20 * min_ms is beyond any sensible max_ms


class Backoff:
    """When the next attempt may start; ``failed``/``up`` tell it what happened."""

    def __init__(
        self,
        min_ms: int = 1000,
        max_ms: int = 300000,
        stable_ms: int = 60000,
        rand: "Callable[[int, int], int] | None" = None,
    ) -> None:
        if min_ms <= 0 or max_ms < min_ms:
            raise ValueError("backoff needs 0 < min_ms <= max_ms")
        self.min_ms = min_ms
        self.max_ms = max_ms
        self.stable_ms = stable_ms
        # randint(a, b) source; injectable so a test can pin the jitter.
        self._randint = rand if rand is not None else random.randint
        self.failures = 0  # consecutive failed attempts (or short-lived connections)
        self.delay_ms = 0  # the wait chosen at the last failure
        self._next: "int | None" = None  # ticks before which no attempt may start
        self._up_since: "int | None" = None  # ticks when the current connection came up

    def cap_ms(self) -> int:
        """The upper end of the jitter window after ``failures`` failures."""
        shift = min(self.failures, _MAX_SHIFT)
        return min(self.max_ms, self.min_ms << shift)

    def ready(self, now_ms: int) -> bool:
        """True when an attempt may start now."""
        return self._next is None or time.ticks_diff(now_ms, self._next) >= 0

    def wait_ms(self, now_ms: int) -> int:
        """How long until :meth:`ready` (0 if it is already)."""
        if self._next is None:
            return 0
        return max(0, time.ticks_diff(self._next, now_ms))

    def up(self, now_ms: int) -> None:
        """The attempt succeeded: the connection is up (from now on)."""
        self._up_since = now_ms
        self._next = None

    def failed(self, now_ms: int) -> int:
        """An attempt failed, or a connection ended: schedule the next; the delay in ms."""
        if self._up_since is not None:
            if time.ticks_diff(now_ms, self._up_since) >= self.stable_ms:
                self.failures = 0  # it stayed up: start again from the floor
            self._up_since = None
        self.failures += 1
        cap = self.cap_ms()
        self.delay_ms = self._randint(self.min_ms, cap) if cap > self.min_ms else self.min_ms
        self._next = time.ticks_add(now_ms, self.delay_ms)
        return self.delay_ms

    def reset(self) -> None:
        """Forget every failure: the next attempt may start at once."""
        self.failures = 0
        self.delay_ms = 0
        self._next = None
        self._up_since = None
