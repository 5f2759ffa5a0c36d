"""RTU over a loopback socket, read as "RTU over TCP" by pymodbus: same line timing."""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterator

import pytest
from pymodbus import FramerType
from pymodbus.client import ModbusTcpClient
from pymodbus.exceptions import ModbusIOException

from hardware.planner import decode_request, plan_requests
from simulators.meter import SimulatedMeter
from simulators.rtu_socket import RtuSocketServer

from .conftest import CLIENT_TIMEOUT_S, LINE_8E1


@pytest.fixture
def server(meter: SimulatedMeter) -> Iterator[RtuSocketServer]:
    with RtuSocketServer(meter, LINE_8E1) as s:
        yield s


@pytest.fixture
def client(server: RtuSocketServer) -> Iterator[ModbusTcpClient]:
    c = ModbusTcpClient(
        "127.0.0.1",
        port=server.port,
        framer=FramerType.RTU,
        timeout=CLIENT_TIMEOUT_S,
        retries=0,
    )
    assert c.connect()  # type: ignore[no-untyped-call]  # untyped in pymodbus 3.16
    yield c
    c.close()  # type: ignore[no-untyped-call]


def test_describe(server):
    assert server.describe() == f"rtu-tcp: 127.0.0.1:{server.port} 9600 8E1 slave 1"


def test_reads_the_map_with_line_timing(client, meter, sdm630):
    times = []
    values = {}
    for _ in range(3):
        for req in plan_requests(sdm630):
            start = time.perf_counter()
            reply = client.read_input_registers(req.address, count=req.count, device_id=1)
            if req.count == 80:
                times.append(time.perf_counter() - start)
            values.update(decode_request(req, reply.registers))
    assert values == meter.readings()
    on_wire = (8 + 5 + 160) * LINE_8E1.char_time_s + LINE_8E1.frame_gap_s + meter.turnaround_s
    assert statistics.median(times) > 0.5 * on_wire


def test_faults_and_other_slave(client, meter):
    meter.faults.no_reply(count=1)
    with pytest.raises(ModbusIOException):
        client.read_input_registers(0, count=2, device_id=1)
    with pytest.raises(ModbusIOException):
        client.read_input_registers(0, count=2, device_id=5)
    meter.faults.crc_error(count=1)
    with pytest.raises(ModbusIOException):
        client.read_input_registers(0, count=2, device_id=1)
    assert not client.read_input_registers(0, count=2, device_id=1).isError()


def test_a_new_client_replaces_the_old_one(server, client):
    assert not client.read_input_registers(0, count=2, device_id=1).isError()
    other = ModbusTcpClient("127.0.0.1", port=server.port, framer=FramerType.RTU, timeout=1)
    assert other.connect()  # type: ignore[no-untyped-call]
    try:
        assert not other.read_input_registers(0, count=2, device_id=1).isError()
    finally:
        other.close()  # type: ignore[no-untyped-call]
