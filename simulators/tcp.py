"""A simulated meter over Modbus TCP, served by pymodbus's own ``ModbusTcpServer``.

No line timing here (TCP meters and RS-485 gateways answer as fast as they can);
injected delays still apply. Faults map onto TCP as follows: ``no_reply`` sends
nothing (the client times out), ``crc_error`` - TCP has no CRC - sends a reply whose
byte count does not match its length (the client's decoder rejects it, as it would a
gateway's garbled frame), the rest behave as on RTU.

A request whose unit id is not the meter's slave id is answered with exception 11
(gateway target device failed to respond), as an RS-485 gateway does when nobody
answers behind it: on TCP the server always answers.
"""

from __future__ import annotations

import asyncio

from pymodbus.constants import ExcCodes
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from simulators.link import require_loopback
from simulators.loop_thread import LoopThreadServer
from simulators.meter import SimulatedMeter
from simulators.modbus_device import MeterDevice

__all__ = ["TcpMeterServer", "serve_tcp"]

_MBAP = 7  # transaction, protocol, length (2 each), unit id


class TcpMeterServer(LoopThreadServer):
    """Serve ``meter`` on ``host:port`` (port 0: any free port, see ``.port``)."""

    thread_name = "modbus-tcp-sim"

    def __init__(self, meter: SimulatedMeter, host: str = "127.0.0.1", port: int = 0) -> None:
        require_loopback(host)
        self.meter = meter
        self.host = host
        self.port = port
        self.device = MeterDevice(meter, delay_in_action=True)
        self._server: ModbusTcpServer | None = None

    async def start_async(self) -> None:
        """Start listening in the running event loop."""
        self._loop = asyncio.get_running_loop()
        self._server = ModbusTcpServer(
            [self.device.sim_device, _nobody_else()],
            address=(self.host, self.port),
            trace_packet=self._on_packet,
        )
        await self._server.serve_forever(background=True)
        sockets = getattr(self._server.transport, "sockets", None) or []
        if sockets:
            self.port = int(sockets[0].getsockname()[1])

    async def aclose(self) -> None:
        if self._server is not None:
            await self._server.shutdown()  # type: ignore[no-untyped-call]
            self._server = None

    def describe(self) -> str:
        """One machine-readable line, e.g. ``tcp: 127.0.0.1:5020 unit 1``."""
        return f"tcp: {self.host}:{self.port} unit {self.meter.slave_id}"

    def _on_packet(self, sending: bool, data: bytes) -> bytes:
        """pymodbus hook on every packet: apply the transport faults to replies."""
        if not sending:
            return data
        faults = self.device.pop_faults()
        if faults is None:
            return data
        if faults.no_reply:
            return b""  # the transport writes nothing
        if faults.crc_error and len(data) > _MBAP + 1:
            garbled = bytearray(data)
            garbled[_MBAP + 1] = 0xFF  # byte count no longer matches the payload
            return bytes(garbled)
        return data


def _nobody_else() -> SimDevice:
    """pymodbus's catch-all device (id 0): every other unit id, answered as a gateway."""

    async def no_target(*_args: object) -> ExcCodes:
        return ExcCodes.GATEWAY_NO_RESPONSE

    block = [SimData(0, count=65535, values=0, datatype=DataType.REGISTERS)]
    return SimDevice(id=0, simdata=block, action=no_target)


def serve_tcp(meter: SimulatedMeter, host: str = "127.0.0.1", port: int = 0) -> TcpMeterServer:
    """Start serving ``meter`` over Modbus TCP; ``.port`` is the bound port, ``.stop()`` ends."""
    return TcpMeterServer(meter, host, port).start()
