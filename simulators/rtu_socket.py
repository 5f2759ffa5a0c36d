"""The meter as Modbus RTU over TCP: a serial device server on a loopback port.

Same line timing as the pty (:mod:`simulators.rtu_pty`), carried over a loopback TCP
connection the way an RS-485-to-Ethernet converter in transparent mode carries it.
There are no serial settings to open, so nothing stands in the way of a client
configured for 8E1 (a Linux pty refuses parity). With pymodbus::

    ModbusTcpClient("127.0.0.1", port=5021, framer=FramerType.RTU)

pyserial's ``socket://127.0.0.1:5021`` URL works too, but pymodbus's serial client
then reads one byte per poll (pyserial reports at most 1 byte waiting on a socket),
which stretches a long reply far beyond its line time; prefer the TCP client.

One master at a time: a new connection replaces the previous one.
"""

from __future__ import annotations

from hardware.model import SerialSettings
from simulators.link import require_loopback
from simulators.meter import SimulatedMeter
from simulators.rtu_line import SocketLine, TimedLine
from simulators.rtu_pty import RtuServer

__all__ = ["RtuSocketServer"]


class RtuSocketServer(RtuServer):
    """Serve ``meter`` as RTU frames on ``host:port`` (0: any free port, see ``port``)."""

    def __init__(
        self,
        meter: SimulatedMeter,
        serial: SerialSettings | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        require_loopback(host)
        super().__init__(meter, serial)
        self.host = host
        self.port = port

    def _open_line(self) -> TimedLine:
        line = SocketLine(self.serial.char_time_s, self.serial.frame_gap_s, self.host, self.port)
        self.port = line.port
        return line

    def describe(self) -> str:
        """One machine-readable line, e.g. ``rtu-tcp: 127.0.0.1:5021 9600 8E1 slave 1``."""
        return f"rtu-tcp: {self.host}:{self.port} {self.line_settings()}"
