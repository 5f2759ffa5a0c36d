"""Byte pipes that keep RS-485 time: the "wire" under the RTU simulator.

A pty (or a TCP socket) moves bytes instantly, so a client would see an infinitely
fast bus. :class:`TimedLine` puts the time back on the slave side:

* receiving, each burst of bytes the client wrote is treated as arriving at one
  character time per byte (``char_time_s``: start + data + parity + stop bits over
  the baud rate), and a frame ends after ``frame_gap_s`` (t3.5) of silence after
  the last byte *would* have arrived - the rule a real RTU slave applies;
* sending, byte ``k`` of a reply is written no earlier than ``start + (k+1)`` char
  times, so the client's reads see the reply trickle in as from a UART.

Two flavours:

* :class:`PtyLine` - the client opens ``path`` (``/dev/pts/N``) like any serial port.
  The pty moves bytes whatever the settings, but keeps the baud rate the client set
  in its termios: :meth:`PtyLine.client_baud` reads it back, so the server can stay
  silent to a client at the wrong baud rate, as a real slave hears only garbage
  then. A parity bit cannot be set on a Linux pty at all (pyserial fails with
  EINVAL, see docs/simulators.md), so clients open it with N and parity is never
  compared; stop bits are not compared either (8N2 and 8E1 frames have the same
  length, and a slave set for one stop bit accepts two).
* :class:`SocketLine` - "RTU over TCP" on a loopback port, as a serial device server
  (RS-485 to Ethernet converter) offers it: no serial settings to refuse, so a
  client configured for 8E1 runs unchanged. One client at a time, like a bus master.

Timing uses ``time.perf_counter`` and real sleeps: line time is never simulated time.
"""

from __future__ import annotations

import contextlib
import errno
import os
import select
import socket
import termios
import time
import tty
from abc import ABC, abstractmethod

__all__ = ["PtyLine", "SocketLine", "TimedLine"]

_MAX_FRAME = 256  # an RTU ADU is at most 256 bytes; more is noise, drop it
_MIN_WRITE_INTERVAL_S = 0.001  # below ~1 ms per write, sleeping costs more than it buys
# termios speed code (termios.B9600 ...) -> baud rate
_SPEEDS: dict[int, int] = {
    getattr(termios, name): int(name[1:])
    for name in dir(termios)
    if name.startswith("B") and name[1:].isdigit()
}


class TimedLine(ABC):
    """Frame detection and paced writes over a file descriptor; subclasses supply it."""

    def __init__(self, char_time_s: float, frame_gap_s: float) -> None:
        if char_time_s <= 0 or frame_gap_s <= 0:
            raise ValueError("char_time_s and frame_gap_s must be > 0")
        self.char_time_s = char_time_s
        self.frame_gap_s = frame_gap_s
        self._wake_r, self._wake_w = os.pipe()
        self._closed = False

    # -- what a flavour provides
    @abstractmethod
    def _watch(self) -> list[int]:
        """Descriptors to wait on besides the wake pipe."""

    @abstractmethod
    def _receive(self, fd: int) -> bytes:
        """Bytes from a ready descriptor (b"" when it carried no data)."""

    @abstractmethod
    def _send(self, data: bytes) -> None:
        """Write ``data`` to the line at once (read_frame/write pace it)."""

    @abstractmethod
    def _close_fds(self) -> None:
        """Close the line's own descriptors."""

    def client_baud(self) -> int | None:
        """The baud rate the client's port is set to; None: the line carries none
        (a socket), so any client is understood. 0: a speed termios cannot name."""
        return None

    # -- the timing
    def read_frame(self) -> tuple[bytes, float] | None:
        """Block until a frame ended; returns ``(frame, end)`` or None once closed.

        ``end`` is the ``perf_counter`` time at which the line fell silent for t3.5
        after the frame's last byte, i.e. when a real slave would start its turnaround.
        """
        buf = bytearray()
        last_byte_at = 0.0  # when the last byte received so far is fully on the line
        while True:
            timeout = None
            if buf:
                timeout = max(0.0, last_byte_at + self.frame_gap_s - time.perf_counter())
            ready, _, _ = select.select([*self._watch(), self._wake_r], [], [], timeout)
            if self._wake_r in ready or self._closed:
                return None
            now = time.perf_counter()
            if ready:
                data = b"".join(self._receive(fd) for fd in ready)
                if data:
                    # the burst started arriving now (or after the previous one ended)
                    last_byte_at = max(now, last_byte_at) + len(data) * self.char_time_s
                    buf += data
                    if len(buf) > _MAX_FRAME:
                        buf.clear()
                continue
            if buf and now >= last_byte_at + self.frame_gap_s:
                return bytes(buf), last_byte_at + self.frame_gap_s

    def write_paced(self, data: bytes, start: float) -> float:
        """Write ``data`` as a UART starting at ``start`` would; returns when it ends.

        Gives up (the rest is not sent) when the line is closed meanwhile, so a long
        injected delay does not hold up :meth:`close`.
        """
        chunk = max(1, int(_MIN_WRITE_INTERVAL_S / self.char_time_s))
        for i in range(0, len(data), chunk):
            part = data[i : i + chunk]
            # hand over a chunk once its last byte would have been received
            if not self._pause_until(start + (i + len(part)) * self.char_time_s):
                break
            self._send(part)
        return start + len(data) * self.char_time_s

    def _pause_until(self, deadline: float) -> bool:
        """Sleep until ``deadline`` (perf_counter); False if woken by :meth:`wake`."""
        while (left := deadline - time.perf_counter()) > 0:
            woken, _, _ = select.select([self._wake_r], [], [], left)
            if woken:
                return False
        return not self._closed

    def wake(self) -> None:
        """Make a blocked :meth:`read_frame` return None (from another thread)."""
        self._closed = True
        with contextlib.suppress(OSError):
            os.write(self._wake_w, b"x")

    def close(self) -> None:
        self.wake()
        self._close_fds()
        for fd in (self._wake_r, self._wake_w):
            with contextlib.suppress(OSError):
                os.close(fd)


class PtyLine(TimedLine):
    """The slave (meter) end of a pty pair; ``path`` is what the client opens.

    The line keeps its own descriptor on the client end too, so the pty survives
    clients opening and closing it (otherwise reading the master fails with EIO
    whenever no client has it open).
    """

    def __init__(self, char_time_s: float, frame_gap_s: float) -> None:
        super().__init__(char_time_s, frame_gap_s)
        self._master, self._slave = os.openpty()
        # raw: no echo, no line editing, no CR/LF translation - bytes are bytes
        tty.setraw(self._slave)
        tty.setraw(self._master)
        os.set_blocking(self._master, False)
        self.path = os.ttyname(self._slave)

    def _watch(self) -> list[int]:
        return [self._master]

    def client_baud(self) -> int | None:
        """The output baud rate the client last set on ``path`` (one tcgetattr).

        termios settings belong to the terminal, not to a descriptor, so the line's
        own descriptor on the client end reads what the client's open file set.
        """
        try:
            speed = termios.tcgetattr(self._slave)[5]  # ospeed: what the client sends at
        except (termios.error, OSError):
            return 0
        return _SPEEDS.get(speed, 0)

    def _receive(self, fd: int) -> bytes:
        try:
            return os.read(fd, 4096)
        except OSError as exc:
            if exc.errno in (errno.EAGAIN, errno.EIO):
                time.sleep(0.001)
                return b""
            raise

    def _send(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            try:
                n = os.write(self._master, view)
            except BlockingIOError:
                select.select([], [self._master], [], 0.1)
                continue
            view = view[n:]

    def _close_fds(self) -> None:
        for fd in (self._master, self._slave):
            with contextlib.suppress(OSError):
                os.close(fd)


class SocketLine(TimedLine):
    """RTU frames over a loopback TCP port."""

    def __init__(self, char_time_s: float, frame_gap_s: float, host: str, port: int) -> None:
        super().__init__(char_time_s, frame_gap_s)
        self._listener = socket.create_server((host, port))
        self._listener.setblocking(False)
        self.host, self.port = self._listener.getsockname()[:2]
        self._client: socket.socket | None = None

    def _watch(self) -> list[int]:
        fds = [self._listener.fileno()]
        if self._client is not None:
            fds.append(self._client.fileno())
        return fds

    def _receive(self, fd: int) -> bytes:
        if fd == self._listener.fileno():
            with contextlib.suppress(BlockingIOError):
                client, _ = self._listener.accept()
                client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                self._drop_client()  # a new master replaces the old one
                self._client = client
            return b""
        if self._client is None:
            return b""
        try:
            data = self._client.recv(4096)
        except OSError:
            data = b""
        if not data:
            self._drop_client()
        return data

    def _send(self, data: bytes) -> None:
        if self._client is None:
            return  # the master went away: the reply goes nowhere, as on a bus
        try:
            self._client.sendall(data)
        except OSError:
            self._drop_client()

    def _drop_client(self) -> None:
        if self._client is not None:
            with contextlib.suppress(OSError):
                self._client.close()
            self._client = None

    def _close_fds(self) -> None:
        self._drop_client()
        self._listener.close()
