"""An ASGI app served by uvicorn from a background thread of this process.

``myenergy-portal run`` serves from the main thread; the stack, the tests and the
benchmarks run the portal beside other work in one process. Off the main thread
uvicorn installs no signal handlers, so Ctrl-C stays with the host program.

    with UvicornThread(app, host="127.0.0.1", port=8000) as server:
        httpx.get(server.url + "/login")
"""

from __future__ import annotations

import threading
import time
from typing import Any

import uvicorn

__all__ = ["ServerStartError", "UvicornThread"]


class ServerStartError(RuntimeError):
    """uvicorn did not start listening in time (port taken, app failed at startup)."""


class UvicornThread:
    """``app`` served on ``host:port``; :meth:`start` returns once uvicorn listens."""

    def __init__(
        self,
        app: Any,
        *,
        host: str,
        port: int,
        start_timeout_s: float = 30.0,
        stop_timeout_s: float = 15.0,
    ) -> None:
        self.host = host
        self.port = port
        self.url = f"http://{host}:{port}"
        self.server = uvicorn.Server(
            uvicorn.Config(
                app,
                host=host,
                port=port,
                log_level="warning",
                access_log=False,
                lifespan="on",
                # Open event streams (live view) would hold a shutdown forever.
                timeout_graceful_shutdown=2,
            )
        )
        self._thread = threading.Thread(target=self.server.run, name="uvicorn", daemon=True)
        self._start_timeout_s = start_timeout_s
        self._stop_timeout_s = stop_timeout_s

    def start(self) -> None:
        self._thread.start()
        deadline = time.monotonic() + self._start_timeout_s
        while not self.server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise ServerStartError(f"the web server did not start on {self.url}")
            time.sleep(0.02)

    def stop(self) -> None:
        """Stop serving (idempotent); waits for the thread up to ``stop_timeout_s``."""
        self.server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(self._stop_timeout_s)

    def __enter__(self) -> UvicornThread:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
