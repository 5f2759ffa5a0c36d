"""Test helpers of the live link: a uvicorn server in a thread and an SSE reader.

* :class:`UvicornThread` serves an ASGI app on 127.0.0.1:<free port> from a
  background thread (uvicorn installs no signal handlers off the main thread);
* :func:`read_events` turns the lines of a ``text/event-stream`` response into
  :class:`SseEvent` values, comments included (the heartbeat is one).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import uvicorn

from tests.fixtures.ports import LOOPBACK, free_port


class UvicornThread:
    """``with UvicornThread(app) as server:`` -> ``server.url`` serves ``app``."""

    def __init__(self, app: Any, *, start_timeout: float = 10.0) -> None:
        self.port = free_port()
        self.url = f"http://{LOOPBACK}:{self.port}"
        config = uvicorn.Config(
            app,
            host=LOOPBACK,
            port=self.port,
            log_level="warning",
            lifespan="on",
            timeout_graceful_shutdown=2,
        )
        self.server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self.server.run, name="uvicorn", daemon=True)
        self._start_timeout = start_timeout

    def start(self) -> None:
        self._thread.start()
        deadline = time.monotonic() + self._start_timeout
        while not self.server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"uvicorn did not start on {self.url}")
            time.sleep(0.02)

    def stop(self) -> None:
        self.server.should_exit = True
        self._thread.join(15)

    def __enter__(self) -> UvicornThread:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


@dataclass
class SseEvent:
    """One event of the stream (``event`` None for a comment-only block)."""

    event: str | None = None
    data: str | None = None
    comments: list[str] = field(default_factory=list)
    retry: int | None = None

    def json(self) -> Any:
        assert self.data is not None, "an event without data"
        return json.loads(self.data)


def read_events(lines: Iterable[str]) -> Iterator[SseEvent]:
    """SSE blocks of ``lines`` (as httpx's ``iter_lines`` gives them), in order."""
    current = SseEvent()
    started = False
    for line in lines:
        if line == "":
            if started:
                yield current
            current, started = SseEvent(), False
            continue
        started = True
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "":
            current.comments.append(value)
        elif name == "event":
            current.event = value
        elif name == "data":
            current.data = value if current.data is None else current.data + "\n" + value
        elif name == "retry":
            current.retry = int(value)
