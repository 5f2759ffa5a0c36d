"""Test helpers of the live link: a uvicorn server in a thread and an SSE reader.

* :class:`UvicornThread` serves an ASGI app on 127.0.0.1:<free port> from a
  background thread (uvicorn installs no signal handlers off the main thread);
* :func:`read_events` turns the lines of a ``text/event-stream`` response into
  :class:`SseEvent` values, comments included (the heartbeat is one).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from portal_api.web.server_thread import UvicornThread as ServedApp
from tests.fixtures.ports import LOOPBACK, free_port


class UvicornThread(ServedApp):
    """``with UvicornThread(app) as server:`` -> ``server.url`` serves ``app`` on a free port."""

    def __init__(self, app: Any, *, start_timeout: float = 10.0) -> None:
        super().__init__(app, host=LOOPBACK, port=free_port(), start_timeout_s=start_timeout)


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
