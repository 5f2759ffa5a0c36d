"""One watcher's view of the live hub: an async iterator of :class:`LiveEvent`.

Created by :meth:`LiveHub.subscribe` inside a running event loop. The hub hands
events over from paho's network thread with ``loop.call_soon_threadsafe``; they
land in a bounded queue owned by that loop. A watcher that falls behind loses
its *oldest* events (counted in ``dropped``): the hub never waits for anyone,
and the newest picture of the power is the one worth showing.

Thread-safety: :meth:`offer` and :meth:`close` may be called from any thread;
iteration (``async for``, :meth:`next_event`) belongs to the subscription's loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable
from types import TracebackType
from typing import Final

from portal_api.live.events import LiveEvent

__all__ = ["LiveClosedError", "LiveSubscription"]


class LiveClosedError(Exception):
    """The subscription was closed (by its owner or because the hub stopped)."""


class _Closed:
    """The wake-up sentinel put into the queue by :meth:`LiveSubscription.close`."""


_CLOSED: Final = _Closed()


class LiveSubscription:
    """Events of ``device_ids`` for one watcher; ``close()`` (or ``async with``) ends it."""

    def __init__(
        self,
        device_ids: frozenset[str],
        loop: asyncio.AbstractEventLoop,
        maxsize: int,
        *,
        on_close: Callable[[LiveSubscription], None],
        on_drop: Callable[[int], None],
    ) -> None:
        self.device_ids = device_ids
        self._loop = loop
        self._maxsize = maxsize
        # Unbounded for asyncio; the bound is kept by _put so the close sentinel
        # always fits and the oldest event, not the newest, is the one dropped.
        self._queue: asyncio.Queue[LiveEvent | _Closed] = asyncio.Queue()
        self._on_close = on_close
        self._on_drop = on_drop
        self._lock = threading.Lock()
        self._closed = False
        self.dropped = 0

    @property
    def closed(self) -> bool:
        return self._closed

    def pending(self) -> int:
        """Events waiting to be read (at most the queue size)."""
        return self._queue.qsize()

    # -- producer side (any thread) ----------------------------------------------------

    def offer(self, event: LiveEvent) -> bool:
        """Queue ``event`` for this watcher; never blocks. False once closed."""
        if self._closed:
            return False
        try:
            self._loop.call_soon_threadsafe(self._put, event)
        except RuntimeError:
            # The watcher's event loop is gone without closing us: stop feeding it.
            self.close()
            return False
        return True

    def _put(self, event: LiveEvent) -> None:
        # On the subscription's loop: the only place events enter the queue.
        if self._closed:
            return
        lost = 0
        while self._queue.qsize() >= self._maxsize:
            self._queue.get_nowait()
            lost += 1
        self._queue.put_nowait(event)
        if lost:
            self.dropped += lost
            self._on_drop(lost)

    def close(self) -> None:
        """End the subscription (idempotent): the hub forgets it, iteration stops."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._on_close(self)
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self._loop:
            self._wake()
        else:
            # RuntimeError: the loop is closed, so nobody is waiting.
            with contextlib.suppress(RuntimeError):
                self._loop.call_soon_threadsafe(self._wake)

    def _wake(self) -> None:
        self._queue.put_nowait(_CLOSED)

    # -- consumer side (the subscription's loop) ------------------------------------------

    async def next_event(self, timeout: float | None = None) -> LiveEvent | None:
        """The next event; None after ``timeout`` seconds without one.

        Raises :class:`LiveClosedError` once the subscription is closed.
        """
        if self._closed:
            raise LiveClosedError
        try:
            async with asyncio.timeout(timeout):
                item = await self._queue.get()
        except TimeoutError:
            return None
        if isinstance(item, _Closed) or self._closed:
            raise LiveClosedError
        return item

    def __aiter__(self) -> LiveSubscription:
        return self

    async def __anext__(self) -> LiveEvent:
        try:
            event = await self.next_event()
        except LiveClosedError:
            raise StopAsyncIteration from None
        assert event is not None  # no timeout: only an event or the end
        return event

    async def __aenter__(self) -> LiveSubscription:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
