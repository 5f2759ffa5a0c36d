"""Run an asyncio server on a private event loop in a daemon thread.

The simulators are asyncio servers, but tests and the stack drive them from plain
threads. A subclass provides ``start_async`` (listen, in the running loop) and
``aclose``; ``start()`` returns once it listens (or raises its bind error) and
``stop()`` closes it from any thread.
"""

from __future__ import annotations

import asyncio
import threading
from abc import ABC, abstractmethod
from typing import Self

__all__ = ["LoopThreadServer"]


class LoopThreadServer(ABC):
    """Base for servers that run in their own event-loop thread."""

    thread_name = "sim-loop"
    _loop: asyncio.AbstractEventLoop | None = None
    _thread: threading.Thread | None = None

    @abstractmethod
    async def start_async(self) -> None:
        """Start listening in the running loop."""

    @abstractmethod
    async def aclose(self) -> None:
        """Stop listening and close every connection."""

    def start(self) -> Self:
        """Run on a private event loop in a daemon thread; returns once listening."""
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            self._loop = loop
            try:
                loop.run_until_complete(self.start_async())
            except BaseException as exc:  # hand a bind error to the caller
                failure.append(exc)
                ready.set()
                loop.close()
                return
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self.aclose())
            loop.close()

        self._thread = threading.Thread(target=run, name=self.thread_name, daemon=True)
        self._thread.start()
        ready.wait()
        if failure:
            raise failure[0]
        return self

    def stop(self) -> None:
        """Stop a server started with :meth:`start` (from any thread)."""
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
