"""The RS-485 port at the panel: open it with one line setting and ask one register read.

``open_bus(port, line, timeout_s)`` opens the port with pyserial (exclusive, so a
running agent and the installer never share the bus); requests and replies are RTU
frames built and checked here (CRC from pymodbus's framer). What goes wrong at
opening becomes an :class:`InstallError` the technician can act on:

* ``no_such_port`` - the device does not exist (adapter unplugged, wrong name);
* ``permission_denied`` - the user is not in the ``dialout`` group;
* ``port_busy`` - another program (the agent, a terminal) holds the port;
* ``not_a_serial_port`` - the path exists but is not a tty.

A line setting the port cannot take (a Linux pty refuses even parity, see
docs/simulators.md) is :class:`LineNotSupportedError`: ``scan`` skips that setting and
says so, it is not the technician's fault.

:meth:`Bus.read` never raises for what a meter does: an :class:`Answer` says whether
registers came back, a Modbus exception (a device IS there), garbage (a device may be
there at another setting) or silence. Any answer, even an exception, proves a device.
Ports may also be pyserial URLs (``socket://127.0.0.1:5021``: an RS-485-to-Ethernet
converter, or the simulator's ``--rtu-tcp``).
"""

from __future__ import annotations

import errno
import os
import struct
import termios
import time
from dataclasses import dataclass
from typing import Any, Literal

import serial
from pymodbus.framer.rtu import FramerRTU

from edge_agent.install.output import InstallError
from hardware.model import SerialSettings

__all__ = [
    "Answer",
    "Bus",
    "LineNotSupportedError",
    "auto_timeout",
    "open_bus",
    "parse_reply",
    "request_frame",
]

AnswerKind = Literal["registers", "exception", "garbled", "silent"]

# Modbus RTU read: request 8 bytes; reply 5 + 2 per register.
_REQUEST_BYTES = 8
_REPLY_OVERHEAD = 5
_TIMEOUT_MARGIN_S = 0.03
_PRESENCE_REGISTERS = 2  # what auto_timeout budgets by default
_POLL_S = 0.01  # pyserial read timeout: how often Bus._receive looks at its deadline


@dataclass(frozen=True)
class Answer:
    """What came back to one read."""

    kind: AnswerKind
    registers: tuple[int, ...] = ()
    exception_code: int | None = None

    @property
    def device_present(self) -> bool:
        """A device answered (even an exception or a broken frame is someone talking)."""
        return self.kind != "silent"


class LineNotSupportedError(Exception):
    """The port cannot be set to this line setting (e.g. parity on a pty)."""


def auto_timeout(
    line: SerialSettings, turnaround_s: float, registers: int = _PRESENCE_REGISTERS
) -> float:
    """Seconds to wait for a reply of ``registers`` at ``line``: both frames on the wire,
    two t3.5 gaps, the slowest meter turnaround we know, and a margin for the OS."""
    chars = _REQUEST_BYTES + _REPLY_OVERHEAD + 2 * registers
    return chars * line.char_time_s + 2 * line.frame_gap_s + turnaround_s + _TIMEOUT_MARGIN_S


def _errno(exc: BaseException | None) -> int | None:
    """The errno behind ``exc``: pyserial sometimes wraps an OSError or a termios.error
    ("Could not configure port: (25, ...)") without copying its errno."""
    seen = 0
    while exc is not None and seen < 5:
        code = getattr(exc, "errno", None)
        if isinstance(code, int):
            return code
        if isinstance(exc, termios.error) and exc.args and isinstance(exc.args[0], int):
            return int(exc.args[0])
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return None


def _open_error(port: str, exc: BaseException) -> InstallError:
    code = _errno(exc)
    if code in (errno.ENOENT, errno.ENODEV, errno.ENXIO):
        return InstallError(
            "no_such_port",
            f"няма такъв порт {port} / no such port {port}: проверете USB-RS-485 адаптера "
            "(ls /dev/ttyUSB* /dev/serial/by-id/) / check the USB-RS-485 adapter",
        )
    if code in (errno.EACCES, errno.EPERM):
        return InstallError(
            "permission_denied",
            f"нямате права за {port} / permission denied for {port}: add the user to the "
            "dialout group (sudo usermod -aG dialout $USER, then log in again)",
        )
    if code in (errno.EBUSY, errno.EAGAIN, errno.EWOULDBLOCK):
        return InstallError(
            "port_busy",
            f"портът {port} е зает / port busy: {port} is open in another program "
            "(the agent: systemctl stop myenergy-agent; a terminal program)",
        )
    if code == errno.ENOTTY:
        return InstallError(
            "not_a_serial_port", f"{port} не е сериен порт / {port} is not a serial port"
        )
    return InstallError("port_error", f"портът {port} не се отваря / cannot open {port}: {exc}")


def _unsupported(port: str, line: SerialSettings) -> str:
    return (
        f"портът {port} не приема {line} / the port cannot be set to {line} "
        "(a pty cannot store a parity bit)"
    )


def _open_serial(port: str, line: SerialSettings, timeout_s: float) -> Any:
    if "://" not in port and not os.path.exists(port):
        raise _open_error(port, OSError(errno.ENOENT, "No such file or directory"))
    try:
        return serial.serial_for_url(
            port,
            baudrate=line.baudrate,
            bytesize=line.bytesize,
            parity=line.parity,
            stopbits=line.stopbits,
            timeout=min(_POLL_S, timeout_s),
            write_timeout=max(1.0, timeout_s),
            exclusive=True,
        )
    except termios.error as exc:
        if exc.args and exc.args[0] == errno.EINVAL:
            raise LineNotSupportedError(_unsupported(port, line)) from None
        raise _open_error(port, exc) from None
    except (serial.SerialException, OSError, ValueError) as exc:
        if getattr(exc, "errno", None) == errno.EINVAL:
            raise LineNotSupportedError(_unsupported(port, line)) from None
        raise _open_error(port, exc) from None


def request_frame(slave: int, fc: int, address: int, count: int) -> bytes:
    """The RTU frame of a register read: id, function, start, quantity, CRC."""
    pdu = struct.pack(">BBHH", slave, fc, address, count)
    return pdu + struct.pack(">H", FramerRTU.compute_CRC(pdu))


def _crc_ok(frame: bytes) -> bool:
    return bool(FramerRTU.check_CRC(frame[:-2], (frame[-2] << 8) | frame[-1]))


def parse_reply(frame: bytes, slave: int, fc: int, count: int) -> Answer:
    """What a complete reply frame to ``request_frame(slave, fc, _, count)`` says."""
    if len(frame) < 5 or frame[0] != slave or not _crc_ok(frame):
        return Answer("garbled")
    if frame[1] == fc | 0x80 and len(frame) == 5:
        return Answer("exception", exception_code=frame[2])
    if frame[1] != fc or frame[2] != 2 * count or len(frame) != 5 + 2 * count:
        return Answer("garbled")
    body = frame[3:-2]
    return Answer("registers", struct.unpack(f">{count}H", body))


class Bus:
    """One open port at one line setting; :meth:`read` asks one slave for registers.

    The reply is read by its length (3 bytes tell an exception or the byte count),
    not by waiting for a silent gap: USB-RS-485 adapters deliver bytes in bursts
    (the FTDI latency timer is 16 ms), so a gap inside a reply is normal on a laptop.
    """

    def __init__(self, port: str, line: SerialSettings, timeout_s: float, handle: Any) -> None:
        self.port = port
        self.line = line
        self.timeout_s = timeout_s
        self._serial = handle

    def read(self, fc: int, address: int, count: int, slave: int, attempts: int = 1) -> Answer:
        """Read ``count`` registers with FC ``fc`` (3 or 4) from ``slave``.

        ``attempts`` > 1 asks again after a garbled or missing reply (noise on the line);
        an exception is the meter's answer and is not asked again.
        """
        answer = self._read_once(fc, address, count, slave)
        for _ in range(attempts - 1):
            if answer.kind in ("registers", "exception"):
                break
            answer = self._read_once(fc, address, count, slave)
        return answer

    def _read_once(self, fc: int, address: int, count: int, slave: int) -> Answer:
        # a longer reply takes longer on the wire: the timeout grows with it
        extra = 2 * max(0, count - _PRESENCE_REGISTERS) * self.line.char_time_s
        deadline = time.monotonic() + self.timeout_s + extra
        try:
            self._serial.reset_input_buffer()  # a late reply to the previous request
            self._serial.write(request_frame(slave, fc, address, count))
            head = self._receive(3, deadline)
            if len(head) < 3:
                return Answer("garbled" if head else "silent")
            if head[1] & 0x80:
                rest = self._receive(2, deadline)
            else:
                rest = self._receive(head[2] + 2, deadline)
        except (OSError, serial.SerialException) as exc:
            raise InstallError(
                "port_lost", f"връзката с {self.port} прекъсна / lost {self.port}: {exc}"
            ) from None
        return parse_reply(head + rest, slave, fc, count)

    def _receive(self, size: int, deadline: float) -> bytes:
        # the port's own timeout is a short poll (set at opening: changing it costs a
        # tcsetattr), so this loop, not pyserial, keeps the deadline
        data = b""
        while len(data) < size and time.monotonic() < deadline:
            data += self._serial.read(size - len(data))
        return data

    def close(self) -> None:
        self._serial.close()

    def __enter__(self) -> Bus:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_bus(port: str, line: SerialSettings, timeout_s: float) -> Bus:
    """Open ``port`` at ``line``; InstallError (no such port, permission, busy) or
    LineNotSupportedError (the port cannot take this setting)."""
    return Bus(port, line, timeout_s, _open_serial(port, line, timeout_s))
