"""The pymodbus side of a simulated meter: a ``SimDevice`` whose registers are the meter's.

pymodbus 3.16 models a server's data as ``SimDevice`` objects (``ModbusDeviceContext``
and ``ModbusServerContext`` still exist but log deprecation warnings and go away in
v4). A ``SimDevice`` may carry an async ``action`` called on every access with the
live register list; ours starts a meter request (faults, fresh image) and copies the
meter's registers in. Both the TCP server (pymodbus's ``ModbusTcpServer``) and the
RTU pty server (pymodbus framer + ``SimCore`` dispatch, our line timing) use it, so
the two transports answer identically.

Which faults live where: Modbus exceptions, implausible values and counter resets are
answered here; no-reply, CRC errors and delays are the transport's business, which
reads them from :attr:`MeterDevice.last_faults` right after dispatching a request.
"""

from __future__ import annotations

import asyncio

from pymodbus.constants import ExcCodes
from pymodbus.simulator import DataType, SimData, SimDevice

from simulators.faults import RequestFaults
from simulators.meter import SimulatedMeter

__all__ = ["MeterDevice"]

_READ_FCS = (3, 4)


class MeterDevice:
    """A pymodbus ``SimDevice`` (``.sim_device``) backed by a :class:`SimulatedMeter`.

    ``delay_in_action``: sleep the fault's extra delay inside the action (TCP, where
    the asyncio server has no other place to wait); the RTU server times its replies
    itself and leaves it False.
    """

    def __init__(self, meter: SimulatedMeter, *, delay_in_action: bool = False) -> None:
        self.meter = meter
        self.delay_in_action = delay_in_action
        self.last_faults: RequestFaults | None = None
        blocks = {fc: _blocks(meter.spans.get(fc, [])) for fc in _READ_FCS}
        # separate blocks per table, as on a real meter FC3 and FC4 address different
        # registers; coils and discrete inputs must not be empty for pymodbus, so one
        # dummy bit each (reading them is refused in the action)
        bits = [SimData(0, values=[False] * 16, datatype=DataType.BITS, readonly=True)]
        self.sim_device = SimDevice(
            id=meter.slave_id,
            simdata=(bits, list(bits), blocks[3], blocks[4]),
            action=self._action,
        )

    async def _action(  # noqa: PLR0917 - the signature pymodbus calls
        self,
        function_code: int,
        start_address: int,
        address: int,
        count: int,
        registers: list[int],
        set_values: list[int] | list[bool] | None,
    ) -> ExcCodes | None:
        if function_code not in _READ_FCS or set_values:
            return ExcCodes.ILLEGAL_FUNCTION  # a metering register map is read-only
        faults = self.meter.begin_request()
        if self.delay_in_action:
            # no line to time on TCP: only the injected delays apply
            delay = faults.extra_delay_s + (faults.turnaround_s or 0.0)
            if delay > 0:
                await asyncio.sleep(delay)
        # set only after the last await: the transport reads it synchronously next
        self.last_faults = faults
        if faults.exception_code is not None:
            return ExcCodes(faults.exception_code)
        offset = address - start_address
        registers[offset : offset + count] = self.meter.registers(function_code, address, count)
        return None

    def pop_faults(self) -> RequestFaults | None:
        """The faults of the request just dispatched (once)."""
        faults, self.last_faults = self.last_faults, None
        return faults


def _blocks(spans: list[tuple[int, int]]) -> list[SimData]:
    if not spans:
        # pymodbus needs one block per table: an invalid one answers ILLEGAL ADDRESS
        return [SimData(0, datatype=DataType.INVALID)]
    return [
        SimData(start, values=[0] * count, datatype=DataType.REGISTERS, readonly=True)
        for start, count in spans
    ]
