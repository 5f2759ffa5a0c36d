"""Fixtures for the simulator tests: an SDM630 meter on a frozen clock, served on a
pty at 9600 8E1 (line timing) or on loopback Modbus TCP, and pymodbus clients.

A note on parity: Linux ptys cannot store a parity bit, and pyserial's reconfigure
fails with EINVAL when the only change it asks for is parity. The client therefore
opens the pty with parity N; the simulator times the line as 8E1 (11 bits a char).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pymodbus.client import ModbusSerialClient, ModbusTcpClient

from hardware.maps import load_map
from hardware.model import MeterMap, SerialSettings
from simulators.clock import FakeClock
from simulators.load import LoadModel
from simulators.meter import SimulatedMeter
from simulators.rtu_pty import RtuPtyServer
from simulators.tcp import TcpMeterServer

T0 = 1_782_036_000.0  # 2026-06-21 10:00 UTC, a sunny midsummer midday in Varna
LINE_8E1 = SerialSettings(baudrate=9600, parity="E", bytesize=8, stopbits=1)
CLIENT_TIMEOUT_S = 0.5


@pytest.fixture
def sdm630() -> MeterMap:
    return load_map("sdm630")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


@pytest.fixture
def meter(sdm630: MeterMap, clock: FakeClock) -> SimulatedMeter:
    return SimulatedMeter(sdm630, LoadModel(7, pv_kw=6.0), clock, slave_id=1)


@pytest.fixture
def rtu(meter: SimulatedMeter) -> Iterator[RtuPtyServer]:
    with RtuPtyServer(meter, LINE_8E1) as server:
        yield server


@pytest.fixture
def rtu_client(rtu: RtuPtyServer) -> Iterator[ModbusSerialClient]:
    client = ModbusSerialClient(
        rtu.path,
        baudrate=LINE_8E1.baudrate,
        bytesize=LINE_8E1.bytesize,
        parity="N",  # see the module docstring
        stopbits=LINE_8E1.stopbits,
        timeout=CLIENT_TIMEOUT_S,
        retries=0,
    )
    assert client.connect()
    yield client
    client.close()  # type: ignore[no-untyped-call]


@pytest.fixture
def tcp(meter: SimulatedMeter) -> Iterator[TcpMeterServer]:
    with TcpMeterServer(meter, "127.0.0.1", 0) as server:
        yield server


@pytest.fixture
def tcp_client(tcp: TcpMeterServer) -> Iterator[ModbusTcpClient]:
    client = ModbusTcpClient("127.0.0.1", port=tcp.port, timeout=CLIENT_TIMEOUT_S, retries=0)
    assert client.connect()  # type: ignore[no-untyped-call]  # untyped in pymodbus 3.16  # type: ignore[no-untyped-call]  # pymodbus leaves these untyped
    yield client
    client.close()  # type: ignore[no-untyped-call]
