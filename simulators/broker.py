"""The MQTT broker of `myenergy-stack`, on loopback, started from Python.

    broker = start_broker()          # Mosquitto if installed, else amqtt in-process
    ...                              # broker.host, broker.port, broker.kind
    broker.stop()

Two implementations with the same small interface (host, port, url, kind,
start(), stop()):

- `LocalMosquitto`: the Debian `mosquitto` package run as a child process.
  MQTT v5 and 3.1.1, at-least-once delivery that survives client crashes,
  shared subscriptions, sessions kept across restarts when given a state_dir.
  This is what the edge agent (MQTT v5 only) and ingest need.
- `EmbeddedBroker`: amqtt 0.12.1 inside this process (zero install), in a
  background thread with its own asyncio loop (`start()` / `stop()`), or inside
  a running loop (`await start_async()` / `await stop_async()`).

What amqtt 0.12.1 does and does not do, as checked by
tests/infra/test_embedded_broker.py with a paho-mqtt 2.2 client:

- Works: QoS 1 publish with PUBACK; persistent sessions (clean_session=False)
  keep subscriptions and queue QoS 1 messages for an offline subscriber;
  retained messages; last will (also retained).
- MQTT 3.1.1 only. An MQTT v5 CONNECT is refused ("unacceptable protocol
  version"), so the edge agent's v5 uplink cannot connect to it.
- No shared subscriptions: `$share/ingest/...` is taken as a literal filter and
  never matches; ingest must subscribe to `myenergy/v1/+/up` directly.
- An in-flight QoS 1 message that the subscriber has not acknowledged is
  dropped when the connection ends, or when no PUBACK comes within 5 s
  (amqtt/mqtt/protocol/handler.py, `_handle_qos1_message_flow`), instead of
  being resent on reconnect. Ingest's "acknowledge only after storing" does not
  protect against an ingest crash on this broker.
- amqtt's AnonymousAuthPlugin marks every session "anonymous" when anonymous
  access is allowed, and then queues nothing for offline persistent sessions
  (while still answering session_present=1). `LoopbackAuthPlugin` below accepts
  loopback clients without that mark, which is what makes the sessions work.
- Queued messages arrive on reconnect with the RETAIN flag set (amqtt reuses its
  retained-message path); MQTT 3.1.1 says retain=0 there.
- Everything is in memory: stopping the broker loses sessions, queued and
  retained messages.

No pure-Python broker on PyPI does better today (checked: mqttools - QoS 0
only; moat-lib-mqtt - no persistent sessions or will; moat-mqtt - 3.1.1, retired
by its author; hbmqtt - dead, amqtt is its successor), hence Mosquitto first.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ipaddress
import logging
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal, Self

from amqtt.broker import Broker
from amqtt.plugins.base import BaseAuthPlugin

__all__ = [
    "BrokerError",
    "BrokerKind",
    "EmbeddedBroker",
    "EmbeddedBrokerError",
    "LocalMosquitto",
    "LoopbackAuthPlugin",
    "find_mosquitto",
    "start_broker",
]

log = logging.getLogger(__name__)

LOOPBACK = "127.0.0.1"
DEFAULT_SESSION_EXPIRY_S = 7 * 24 * 3600
"""Disconnected persistent sessions (and their queued messages) are dropped after this."""


class BrokerError(RuntimeError):
    """The stack's broker could not start or stop."""


class EmbeddedBrokerError(BrokerError):
    """The embedded (amqtt) broker could not start or stop."""


def _is_loopback(address: str | None) -> bool:
    if not address:
        return False
    try:
        return ipaddress.ip_address(address.split("%")[0]).is_loopback
    except ValueError:
        return False


class LoopbackAuthPlugin(BaseAuthPlugin):  # type: ignore[misc]  # amqtt ships no type hints
    """Accept any client connecting from a loopback address; refuse all others.

    Unlike amqtt's AnonymousAuthPlugin it does not mark sessions anonymous, so
    persistent sessions keep their subscriptions and queued QoS 1 messages.
    """

    async def authenticate(self, *, session: Any) -> bool:
        address = getattr(session, "remote_address", None)
        allowed = _is_loopback(address)
        if not allowed:
            log.warning("embedded broker: refused client from non-loopback address %s", address)
        return allowed


def _plugin_path(cls: type) -> str:
    # amqtt loads plugins by dotted path; derive it so a rename cannot leave it stale
    return f"{cls.__module__}.{cls.__qualname__}"


class _ManagedBroker(ABC):
    """What both brokers of the stack share: start/stop, a context manager, a repr."""

    host: str
    _port: int | None

    @abstractmethod
    def start(self, timeout: float = 10.0) -> None:
        """Start listening; returns once clients can connect."""

    @abstractmethod
    def stop(self, timeout: float = 10.0) -> None:
        """Stop and release the port."""

    @property
    @abstractmethod
    def running(self) -> bool:
        """Whether the broker is serving."""

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<{type(self).__name__} {self.host}:{self._port} {state}>"


class EmbeddedBroker(_ManagedBroker):
    """An amqtt broker listening on host:port (loopback; port 0 = a free port)."""

    kind = "amqtt"

    def __init__(
        self,
        host: str = LOOPBACK,
        port: int = 0,
        *,
        session_expiry_s: int | None = DEFAULT_SESSION_EXPIRY_S,
    ) -> None:
        if not _is_loopback(host):
            raise ValueError(f"the embedded broker is for loopback only, not {host!r}")
        self.host = host
        self._requested_port = port
        self._port: int | None = None
        self.session_expiry_s = session_expiry_s
        self._broker: Broker | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        if self._port is None:
            raise EmbeddedBrokerError("the embedded broker is not running")
        return self._port

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._broker is not None

    def config(self) -> dict[str, Any]:
        """The amqtt BrokerConfig, as a dictionary."""
        return {
            "listeners": {
                "default": {"type": "tcp", "bind": f"{self.host}:{self._requested_port}"},
            },
            "plugins": {_plugin_path(LoopbackAuthPlugin): {}},
            "session_expiry_interval": self.session_expiry_s,
        }

    # -- inside a running asyncio loop ---------------------------------------

    async def start_async(self) -> None:
        """Start listening; call from inside the event loop that will serve it."""
        if self._broker is not None:
            return
        broker = Broker(self.config())
        try:
            await broker.start()
        except Exception as exc:
            raise EmbeddedBrokerError(
                f"embedded MQTT broker failed on {self.host}:{self._requested_port}: {exc}"
            ) from exc
        self._broker = broker
        self._port = self._bound_port(broker)
        log.info("embedded MQTT broker (amqtt) listening on %s:%s", self.host, self._port)

    def _bound_port(self, broker: Broker) -> int:
        if self._requested_port:
            return self._requested_port
        # port 0: ask the listening socket (amqtt keeps its asyncio.Server here)
        server = broker._servers["default"].instance
        port: int = server.sockets[0].getsockname()[1]
        return port

    async def stop_async(self) -> None:
        broker, self._broker = self._broker, None
        if broker is not None:
            await broker.shutdown()
        self._port = None

    # -- from ordinary (threaded) code ---------------------------------------

    def start(self, timeout: float = 10.0) -> None:
        """Run the broker in a background thread with its own event loop."""
        if self._thread is not None:
            return
        loop = asyncio.new_event_loop()
        thread = threading.Thread(
            target=self._serve, args=(loop,), name="embedded-mqtt-broker", daemon=True
        )
        self._loop, self._thread = loop, thread
        thread.start()
        try:
            asyncio.run_coroutine_threadsafe(self.start_async(), loop).result(timeout)
        except BaseException:
            self._end_thread(timeout)
            raise

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the broker and its thread; all sessions and messages are gone."""
        loop = self._loop
        if loop is None:
            return
        try:
            asyncio.run_coroutine_threadsafe(self.stop_async(), loop).result(timeout)
        finally:
            self._end_thread(timeout)

    def _end_thread(self, timeout: float) -> None:
        loop, thread = self._loop, self._thread
        self._loop = self._thread = None
        if loop is not None:
            loop.call_soon_threadsafe(loop.stop)
        if thread is not None:
            thread.join(timeout)

    @staticmethod
    def _serve(loop: asyncio.AbstractEventLoop) -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_forever()
        finally:
            # client handlers amqtt leaves behind: cancel them, let them finish
            pending = asyncio.all_tasks(loop)
            for task in pending:
                task.cancel()
            with contextlib.suppress(Exception):
                loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()


# -- Mosquitto as a child process ---------------------------------------------

_SBIN_DIRS = ("/usr/sbin", "/usr/local/sbin", "/sbin")
_MOSQUITTO_RUNNING = re.compile(r"mosquitto version \S+ running")


def find_mosquitto() -> str | None:
    """Path of the mosquitto executable (Debian puts it in /usr/sbin), or None."""
    found = shutil.which("mosquitto")
    if found:
        return found
    for directory in _SBIN_DIRS:
        candidate = Path(directory, "mosquitto")
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return None


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def _die_with_parent() -> Callable[[], None] | None:
    """A pre-exec hook asking Linux to SIGTERM the child when its parent dies.

    The kernel sends it when the *thread* that forked exits, so it is set only when
    launching from the main thread, whose end is the process's end.
    """
    if (
        not sys.platform.startswith("linux")
        or threading.current_thread() is not threading.main_thread()
    ):
        return None
    libc = ctypes.CDLL(None, use_errno=True)
    pr_set_pdeathsig = 1

    def hook() -> None:
        libc.prctl(pr_set_pdeathsig, signal.SIGTERM)

    return hook


class LocalMosquitto(_ManagedBroker):
    """Mosquitto on host:port (loopback), anonymous, as a child process.

    state_dir holds its config, persistence database and log; given one, sessions
    and queued messages survive a stop/start. Without one a temporary directory
    is used and removed by stop().
    """

    kind = "mosquitto"

    def __init__(
        self,
        host: str = LOOPBACK,
        port: int = 0,
        *,
        state_dir: Path | None = None,
        executable: str | None = None,
    ) -> None:
        if not _is_loopback(host):
            raise ValueError(f"the stack's broker is for loopback only, not {host!r}")
        found = executable or find_mosquitto()
        if found is None:
            raise BrokerError("mosquitto is not installed (Debian package `mosquitto`)")
        self.executable = found
        self.host = host
        self._requested_port = port
        self._port: int | None = None
        self._state_dir = state_dir
        self._temporary: Path | None = None
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def port(self) -> int:
        if self._port is None:
            raise BrokerError("mosquitto is not running")
        return self._port

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def directory(self) -> Path:
        if self._state_dir is not None:
            return self._state_dir
        if self._temporary is None:
            self._temporary = Path(tempfile.mkdtemp(prefix="myenergy-mosquitto-"))
        return self._temporary

    @property
    def log_path(self) -> Path:
        return self.directory / "mosquitto.log"

    def config_text(self, port: int) -> str:
        directory = self.directory
        lines = [
            "# written by simulators/broker.py for myenergy-stack",
            f"listener {port} {self.host}",
            "allow_anonymous true",
            "persistence true",
            f"persistence_location {directory}/",
            "autosave_interval 60",
            "max_queued_messages 100000",
            f"log_dest file {self.log_path}",
            "connection_messages true",
        ]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            lines.insert(1, "user root")  # else it drops to user mosquitto: no access here
        return "\n".join(lines) + "\n"

    def start(self, timeout: float = 10.0) -> None:
        if self.running:
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        attempts = 1 if self._requested_port else 3
        for _ in range(attempts):
            port = self._requested_port or _free_port(self.host)
            if self._launch(port, timeout):
                self._port = port
                log.info("MQTT broker (mosquitto) listening on %s:%s", self.host, port)
                return
        tail = self.log_path.read_text(errors="replace")[-2000:] if self.log_path.exists() else ""
        raise BrokerError(f"mosquitto did not start on {self.host}\n{tail}")

    def _launch(self, port: int, timeout: float) -> bool:
        config = self.directory / "mosquitto.conf"
        config.write_text(self.config_text(port))
        mark = self.log_path.stat().st_size if self.log_path.exists() else 0
        # Its own session keeps a terminal's Ctrl-C away from it (the stack stops it in
        # order); the parent-death signal still ends it if the stack is SIGKILLed.
        self._proc = subprocess.Popen(
            [self.executable, "-c", str(config)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=_die_with_parent(),  # noqa: PLW1509 - one prctl call, no locks taken
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.running:
            if self.log_path.exists():
                with self.log_path.open("rb") as f:
                    f.seek(mark)
                    if _MOSQUITTO_RUNNING.search(f.read().decode(errors="replace")):
                        return True
            time.sleep(0.02)
        self._kill()
        return False

    def _kill(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()
        self._proc = None

    def stop(self, timeout: float = 10.0) -> None:
        """Clean shutdown: Mosquitto saves its database first."""
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self._port = None
        if self._temporary is not None:
            shutil.rmtree(self._temporary, ignore_errors=True)
            self._temporary = None


BrokerKind = Literal["auto", "mosquitto", "amqtt"]


def start_broker(
    host: str = LOOPBACK,
    port: int = 0,
    *,
    kind: BrokerKind = "auto",
    state_dir: Path | None = None,
) -> LocalMosquitto | EmbeddedBroker:
    """Start the stack's broker: Mosquitto when installed ("auto"), else amqtt.

    kind="mosquitto" fails when Mosquitto is missing; kind="amqtt" always uses
    the in-process broker (MQTT 3.1.1 clients only, see the module docstring).
    """
    broker: LocalMosquitto | EmbeddedBroker
    if kind == "mosquitto" or (kind == "auto" and find_mosquitto() is not None):
        broker = LocalMosquitto(host, port, state_dir=state_dir)
    else:
        if kind == "auto":
            log.warning(
                "mosquitto not installed: using the embedded amqtt broker "
                "(MQTT 3.1.1 only; MQTT v5 clients such as the edge agent cannot connect)"
            )
        broker = EmbeddedBroker(host, port)
    broker.start()
    return broker
