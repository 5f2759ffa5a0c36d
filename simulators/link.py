"""A TCP proxy between agent and broker that behaves like a flaky mobile link.

    agent --> 127.0.0.1:listen_port [LinkProxy] --> target (the MQTT broker)

Modes (:mod:`simulators.link_modes`): ``pass``, ``cut``, ``blackhole``, ``throttle``.
Switch them at run time with :meth:`LinkProxy.set_mode` (thread-safe: a pytest test
can drive a proxy whose event loop runs in a background thread) or with a schedule
of ``(duration_s, mode)`` entries. Bytes are counted per direction: ``up`` is agent
to broker, ``down`` broker to agent; ``dropped`` counts what a blackhole swallowed.

Blackhole and recovery: a userspace proxy cannot hold back TCP segments the way a
dead radio does (the kernel already acknowledged them), so bytes read during a
blackhole are dropped for good. A connection that lost bytes carries a corrupted
stream, so when the link comes back such connections are reset - the same end a
real connection meets when its retransmissions or keepalives time out - and the
agent must reconnect. Connections that stayed silent during the blackhole survive.

Only loopback addresses are accepted for both ends: this is a test tool.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import socket
import struct
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from simulators.link_modes import LinkMode, parse_mode
from simulators.loop_thread import LoopThreadServer

__all__ = ["LinkProxy", "LinkStats", "is_loopback", "require_loopback"]

_CHUNK = 16384


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback IP literals; no name resolution."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def require_loopback(host: str) -> None:
    """Raise ValueError unless ``host`` is a loopback address (or ``localhost``)."""
    if not is_loopback(host):
        raise ValueError(f"{host!r} is not a loopback address; the simulators stay on 127.0.0.1")


@dataclass
class LinkStats:
    """Counters of a proxy since it started (a snapshot from :meth:`LinkProxy.stats`)."""

    mode: str = "pass"
    bytes_up: int = 0
    bytes_down: int = 0
    dropped_up: int = 0
    dropped_down: int = 0
    connections: int = 0  # accepted and forwarded
    rejected: int = 0  # accepted and closed at once because the link was cut
    active: int = 0


@dataclass(eq=False)
class _Conn:
    client: asyncio.StreamWriter
    upstream: asyncio.StreamWriter | None = None
    lost_bytes: bool = False  # its stream is broken: reset it when the link returns
    tasks: list[asyncio.Task[None]] = field(default_factory=list)


class LinkProxy(LoopThreadServer):
    """Asyncio TCP proxy with pass / cut / blackhole / throttle modes.

    Threaded use (tests, CLI)::

        proxy = LinkProxy("127.0.0.1", 0, "127.0.0.1", broker_port)
        proxy.start()            # own event loop in a daemon thread
        proxy.port               # the port actually bound
        proxy.set_mode("blackhole")
        proxy.stop()

    Inside a running event loop use ``await proxy.start_async()`` / ``await proxy.aclose()``.
    """

    thread_name = "link-proxy"

    def __init__(
        self,
        listen_host: str,
        listen_port: int,
        target_host: str,
        target_port: int,
        *,
        mode: LinkMode | str = "pass",
        schedule: Sequence[tuple[float, LinkMode | str]] | None = None,
        repeat_schedule: bool = False,
    ) -> None:
        require_loopback(listen_host)
        require_loopback(target_host)
        self.listen_host = listen_host
        self.listen_port = listen_port
        self.target_host = target_host
        self.target_port = target_port
        self._mode = _as_mode(mode)
        self._schedule = [(float(d), _as_mode(m)) for d, m in (schedule or [])]
        self._repeat = repeat_schedule
        self._stats = LinkStats(mode=str(self._mode))
        self._lock = threading.Lock()
        self._conns: set[_Conn] = set()
        self._server: asyncio.Server | None = None
        self._schedule_task: asyncio.Task[None] | None = None
        self._buckets = {"up": _Bucket(), "down": _Bucket()}
        self.port = listen_port

    # -------------------------------------------------------------- lifecycle
    async def start_async(self) -> None:
        """Start listening in the running loop."""
        self._loop = asyncio.get_running_loop()
        self._server = await asyncio.start_server(
            self._on_client, self.listen_host, self.listen_port
        )
        self.port = self._server.sockets[0].getsockname()[1]
        if self._schedule:
            # the first entry is in force when start returns, not one loop turn later
            self._apply_mode(self._schedule[0][1])
            self._schedule_task = asyncio.create_task(self._run_schedule(self._schedule))

    async def aclose(self) -> None:
        """Stop listening and close every connection."""
        tasks = [t for c in self._conns for t in c.tasks]
        if self._schedule_task:
            self._schedule_task.cancel()
            tasks.append(self._schedule_task)
        if self._server:
            self._server.close()
        for conn in list(self._conns):
            self._close(conn, reset=False)
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._server:
            await self._server.wait_closed()

    # ---------------------------------------------------------------- control
    def set_mode(
        self, mode: LinkMode | str, *, rate_bps: float | None = None, latency_s: float = 0.0
    ) -> None:
        """Switch mode now (any thread). ``"throttle"`` needs ``rate_bps``."""
        if isinstance(mode, str) and mode == "throttle":
            new = LinkMode("throttle", rate_bps=rate_bps, latency_s=latency_s)
        else:
            new = _as_mode(mode)
        self._call(self._apply_mode, new)

    def run_schedule(
        self, schedule: Sequence[tuple[float, LinkMode | str]], *, repeat: bool = False
    ) -> None:
        """Replace the running schedule (any thread)."""
        entries = [(float(d), _as_mode(m)) for d, m in schedule]
        self._repeat = repeat

        def begin() -> None:
            if self._schedule_task:
                self._schedule_task.cancel()
            self._schedule_task = asyncio.ensure_future(self._run_schedule(entries))

        self._call(begin)

    @property
    def mode(self) -> LinkMode:
        with self._lock:
            return self._mode

    def stats(self) -> LinkStats:
        """A consistent snapshot of the counters."""
        with self._lock:
            return LinkStats(**vars(self._stats))

    # -------------------------------------------------------------- internals
    def _call(self, fn: Callable[..., None], *args: object) -> None:
        """Run ``fn`` on the proxy's loop and wait for it (or directly if not running)."""
        loop = self._loop
        if loop is None or loop.is_closed():
            fn(*args)
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            fn(*args)
            return
        done = threading.Event()

        def wrapped() -> None:
            try:
                fn(*args)
            finally:
                done.set()

        loop.call_soon_threadsafe(wrapped)
        done.wait(timeout=5)  # the switch has happened when set_mode returns

    def _apply_mode(self, new: LinkMode) -> None:
        with self._lock:
            old, self._mode = self._mode, new
            self._stats.mode = str(new)
        if new.kind == "cut":
            for conn in list(self._conns):
                self._close(conn, reset=True)
        elif old.kind == "blackhole" and new.kind != "blackhole":
            for conn in list(self._conns):
                if conn.lost_bytes:
                    self._close(conn, reset=True)

    async def _run_schedule(self, entries: list[tuple[float, LinkMode]]) -> None:
        while True:
            for duration, mode in entries:
                self._apply_mode(mode)
                await asyncio.sleep(duration)
            if not self._repeat:
                return

    async def _on_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        mode = self.mode
        if mode.kind == "cut":
            with self._lock:
                self._stats.rejected += 1
            _abort(writer)
            return
        conn = _Conn(client=writer)
        self._conns.add(conn)
        with self._lock:
            self._stats.connections += 1
            self._stats.active = len(self._conns)
        if mode.kind == "blackhole":
            # the SYN went nowhere in reality; here the kernel accepted, so keep the
            # socket open, swallow what the agent sends and never reach the broker;
            # it can never carry data, so it is reset when the link comes back
            conn.lost_bytes = True
            conn.tasks.append(asyncio.create_task(self._swallow(conn, reader)))
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(self.target_host, self.target_port)
        except OSError:
            self._close(conn, reset=True)
            return
        conn.upstream = up_writer
        conn.tasks.append(asyncio.create_task(self._pump(conn, reader, up_writer, "up")))
        conn.tasks.append(asyncio.create_task(self._pump(conn, up_reader, writer, "down")))

    async def _swallow(self, conn: _Conn, reader: asyncio.StreamReader) -> None:
        with contextlib.suppress(OSError):
            while data := await reader.read(_CHUNK):
                self._count_drop(conn, "up", len(data))
        self._close(conn, reset=False)

    async def _pump(
        self,
        conn: _Conn,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        direction: str,
    ) -> None:
        try:
            while data := await reader.read(_CHUNK):
                mode = self.mode
                if mode.kind in ("blackhole", "cut"):
                    self._count_drop(conn, direction, len(data))
                    continue
                if mode.kind == "throttle":
                    await self._throttled(conn, writer, data, direction, mode)
                    continue
                writer.write(data)
                self._count_pass(direction, len(data))
                await writer.drain()
        except OSError:
            pass
        self._close(conn, reset=False)

    async def _throttled(
        self,
        conn: _Conn,
        writer: asyncio.StreamWriter,
        data: bytes,
        direction: str,
        mode: LinkMode,
    ) -> None:
        """Deliver ``data`` at most at the mode's rate, after its latency."""
        if mode.latency_s:
            await asyncio.sleep(mode.latency_s)
        rate = mode.rate_bps or 1.0
        chunk = max(1, int(rate / 20))  # about 20 writes per second
        bucket = self._buckets[direction]
        for i in range(0, len(data), chunk):
            part = data[i : i + chunk]
            current = self.mode
            if current.kind in ("blackhole", "cut"):
                self._count_drop(conn, direction, len(data) - i)
                return
            await bucket.take(len(part), current.rate_bps or rate)
            writer.write(part)
            self._count_pass(direction, len(part))
            await writer.drain()

    def _count_pass(self, direction: str, n: int) -> None:
        with self._lock:
            if direction == "up":
                self._stats.bytes_up += n
            else:
                self._stats.bytes_down += n

    def _count_drop(self, conn: _Conn, direction: str, n: int) -> None:
        conn.lost_bytes = True
        with self._lock:
            if direction == "up":
                self._stats.dropped_up += n
            else:
                self._stats.dropped_down += n

    def _close(self, conn: _Conn, *, reset: bool) -> None:
        if conn not in self._conns:
            return
        self._conns.discard(conn)
        with self._lock:
            self._stats.active = len(self._conns)
        for w in (conn.client, conn.upstream):
            if w is None:
                continue
            if reset:
                _abort(w)
            else:
                w.close()
        current = asyncio.current_task()
        for task in conn.tasks:
            if task is not current:
                task.cancel()


class _Bucket:
    """Pacing shared by all connections in one direction: ``rate`` bytes per second."""

    def __init__(self) -> None:
        self._next = 0.0
        self._lock = asyncio.Lock()

    async def take(self, n: int, rate: float) -> None:
        async with self._lock:
            now = time.monotonic()
            start = max(now, self._next)
            self._next = start + n / rate
            if start > now:
                await asyncio.sleep(start - now)


def _abort(writer: asyncio.StreamWriter) -> None:
    """Close with a TCP reset (SO_LINGER 0), as a dropped link looks to the peer."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


def _as_mode(mode: LinkMode | str) -> LinkMode:
    return mode if isinstance(mode, LinkMode) else parse_mode(mode)
