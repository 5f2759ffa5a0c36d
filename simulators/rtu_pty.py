"""A simulated meter on Modbus RTU over a pseudo-terminal, with real line timing.

    client (pyserial / pymodbus / the agent) --opens--> /dev/pts/N
                                   [PtyLine: t3.5 frame end, paced bytes]
                                   [pymodbus FramerRTU + SimCore -> MeterDevice]

Per request, as an RS-485 slave would:

1. the frame ends after t3.5 of silence (``SerialSettings.frame_gap_s``), counted
   from when its last byte would have arrived at the configured baud rate;
2. a frame sent at another baud rate than the meter's (on a pty: the client's port
   settings, :meth:`~simulators.rtu_line.TimedLine.client_baud`) is garbage to the
   meter and gets no reply; so does a frame with a bad CRC, or for another slave id,
   or a broadcast;
3. pymodbus decodes the PDU and answers it from the meter's register image;
4. after the meter's turnaround (plus any injected delay) the reply goes out at
   one character time per byte.

So a client measures ``(request + reply bytes) x char time + t3.5 + turnaround``,
what ``hardware.planner.bus_time_s`` budgets (minus the trailing t3.5 the client
itself does not wait for).

The server runs in a daemon thread with blocking I/O: precise sleeps are easier
there than in an event loop. pymodbus's datastore API is async, so the thread owns
a private event loop to run it. :class:`RtuServer` holds all of this over any
:class:`~simulators.rtu_line.TimedLine`; :class:`RtuPtyServer` puts it on a pty and
:class:`simulators.rtu_socket.RtuSocketServer` on a loopback TCP port.
"""

from __future__ import annotations

import asyncio
import threading
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, Self

from pymodbus.constants import ExcCodes
from pymodbus.exceptions import ModbusIOException
from pymodbus.framer.rtu import FramerRTU
from pymodbus.pdu import DecodePDU, ExceptionResponse, ModbusPDU
from pymodbus.simulator.simcore import SimCore

from hardware.model import SerialSettings
from simulators.faults import RequestFaults
from simulators.meter import SimulatedMeter
from simulators.modbus_device import MeterDevice
from simulators.rtu_line import PtyLine, TimedLine

__all__ = ["RtuPtyServer", "RtuServer", "RtuStats", "serve_rtu_pty"]


@dataclass
class RtuStats:
    """What the line saw."""

    frames: int = 0  # frames delimited by t3.5
    replies: int = 0
    bad_crc: int = 0  # frames nobody could decode (noise, bad CRC): no reply
    other_slave: int = 0  # valid frames for another slave id or broadcast: no reply
    wrong_baud: int = 0  # frames sent at another baud rate than the meter's: no reply
    dropped: int = 0  # replies withheld by the no_reply fault


class RtuServer(ABC):
    """Serve ``meter`` over a timed line until :meth:`stop`; subclasses open the line."""

    def __init__(self, meter: SimulatedMeter, serial: SerialSettings | None = None) -> None:
        self.meter = meter
        self.serial = serial if serial is not None else meter.map.serial
        self.device = MeterDevice(meter)
        self.stats = RtuStats()
        self._core = SimCore(self.device.sim_device)
        self._framer = FramerRTU(DecodePDU(True))
        self._line: TimedLine | None = None
        self._thread: threading.Thread | None = None

    @abstractmethod
    def _open_line(self) -> TimedLine:
        """The line this server answers on (a pty, a socket)."""

    def start(self) -> Self:
        """Open the line and start answering; returns self."""
        self._line = self._open_line()
        self._thread = threading.Thread(target=self._run, name="rtu-sim", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop answering and close the line (a client still on it gets EOF/errors)."""
        if self._line is not None:
            self._line.wake()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        if self._line is not None:
            self._line.close()
            self._line = None

    @abstractmethod
    def describe(self) -> str:
        """One machine-readable line naming the endpoint and :meth:`line_settings`."""

    def line_settings(self) -> str:
        """``9600 8E1 slave 1``: the emulated line and the slave id."""
        s = self.serial
        return f"{s.baudrate} {s.bytesize}{s.parity}{s.stopbits} slave {self.meter.slave_id}"

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------- internals
    def _run(self) -> None:
        line = self._line
        assert line is not None
        loop = asyncio.new_event_loop()
        try:
            while (got := line.read_frame()) is not None:
                frame, end = got
                self.stats.frames += 1
                baud = line.client_baud()
                if baud is not None and baud != self.serial.baudrate:
                    # at the wrong baud rate the UART decodes noise: nothing to answer
                    self.stats.wrong_baud += 1
                    continue
                reply, faults = self._answer(frame, loop)
                if reply is None:
                    continue
                turnaround = (
                    self.meter.turnaround_for(faults) if faults else self.meter.turnaround_s
                )
                line.write_paced(reply, end + turnaround)
                self.stats.replies += 1
        finally:
            loop.close()

    def _answer(
        self, frame: bytes, loop: asyncio.AbstractEventLoop
    ) -> tuple[bytes | None, RequestFaults | None]:
        """The reply frame for ``frame`` (None: stay silent) and the request's faults."""
        slave = self.meter.slave_id
        try:
            _, pdu = self._framer.handleFrame(frame, 0, 0)
        except ModbusIOException:
            pdu = None  # a function code pymodbus knows, with a body it cannot parse
        if pdu is None:
            if not _crc_ok(frame):
                self.stats.bad_crc += 1
                return None, None
            if frame[0] != slave:
                self.stats.other_slave += 1
                return None, None
            # valid frame for us that pymodbus cannot decode: unsupported function
            error = ExceptionResponse(frame[1] & 0x7F, ExcCodes.ILLEGAL_FUNCTION, slave)
            return self._framer.buildFrame(error), None
        if pdu.dev_id != slave:
            self.stats.other_slave += 1
            return None, None
        response = self._dispatch(pdu, loop)
        faults = self.device.pop_faults()
        if faults is not None and faults.no_reply:
            self.stats.dropped += 1
            return None, faults
        response.dev_id = slave
        response.transaction_id = 0
        reply = self._framer.buildFrame(response)
        if faults is not None and faults.crc_error:
            reply = reply[:-1] + bytes([reply[-1] ^ 0xFF])
        return reply, faults

    def _dispatch(self, pdu: ModbusPDU, loop: asyncio.AbstractEventLoop) -> ModbusPDU:
        # SimCore is what pymodbus's own servers hand to datastore_update, although the
        # method is annotated with the deprecated ModbusServerContext
        context: Any = self._core
        try:
            response: ModbusPDU = loop.run_until_complete(pdu.datastore_update(context, pdu.dev_id))
        except Exception:  # as pymodbus's own server does: the device failed
            response = ExceptionResponse(pdu.function_code, ExcCodes.DEVICE_FAILURE)
        return response


class RtuPtyServer(RtuServer):
    """The meter on a new pty; ``path`` (``/dev/pts/N``) is what clients open."""

    path = ""

    def _open_line(self) -> TimedLine:
        line = PtyLine(self.serial.char_time_s, self.serial.frame_gap_s)
        self.path = line.path
        return line

    def describe(self) -> str:
        """One machine-readable line, e.g. ``rtu: /dev/pts/5 9600 8E1 slave 1``."""
        return f"rtu: {self.path} {self.line_settings()}"


def serve_rtu_pty(meter: SimulatedMeter, serial: SerialSettings | None = None) -> RtuPtyServer:
    """Start serving ``meter`` on a new pty; ``.path`` is the device to open, ``.stop()`` ends."""
    return RtuPtyServer(meter, serial).start()


def _crc_ok(frame: bytes) -> bool:
    if len(frame) < 4:
        return False
    crc = (frame[-2] << 8) | frame[-1]
    return bool(FramerRTU.check_CRC(frame[:-2], crc))
