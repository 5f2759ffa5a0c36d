"""A meter on a pty answers only at its own baud rate and slave id, like a real slave.

The scanner of ``myenergy-install scan`` relies on this: a meter at 19200 baud and
slave 37 must stay silent to a client at 9600 baud, and to slave id 1.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import serial
from pymodbus.client import ModbusSerialClient
from pymodbus.exceptions import ModbusIOException

from hardware.model import MeterMap, SerialSettings
from simulators.clock import FakeClock
from simulators.load import LoadModel
from simulators.meter import SimulatedMeter
from simulators.rtu_line import SocketLine
from simulators.rtu_pty import RtuPtyServer

from .conftest import CLIENT_TIMEOUT_S

LINE_19200 = SerialSettings(baudrate=19200, parity="E", bytesize=8, stopbits=1)
SLAVE = 37


@pytest.fixture
def server(sdm630: MeterMap, clock: FakeClock) -> Iterator[RtuPtyServer]:
    meter = SimulatedMeter(sdm630, LoadModel(7), clock, slave_id=SLAVE)
    with RtuPtyServer(meter, LINE_19200) as rtu:
        yield rtu


def _client(path: str, baud: int) -> ModbusSerialClient:
    client = ModbusSerialClient(
        path, baudrate=baud, parity="N", timeout=CLIENT_TIMEOUT_S, retries=0
    )  # parity N: a Linux pty cannot store a parity bit (see conftest)
    assert client.connect()
    return client


def test_the_meter_answers_at_its_own_baud_rate(server):
    client = _client(server.path, 19200)
    try:
        reply = client.read_input_registers(0, count=2, device_id=SLAVE)
        assert not reply.isError(), reply
        assert 200 < server.meter.readings()["u_l1_v"] < 260
    finally:
        client.close()  # type: ignore[no-untyped-call]
    assert server.stats.replies == 1
    assert server.stats.wrong_baud == 0


def test_a_client_at_another_baud_rate_gets_no_reply(server):
    client = _client(server.path, 9600)
    try:
        with pytest.raises(ModbusIOException):
            client.read_input_registers(0, count=2, device_id=SLAVE)
    finally:
        client.close()  # type: ignore[no-untyped-call]
    assert server.stats.wrong_baud >= 1
    assert server.stats.replies == 0
    assert server.meter.requests == 0  # the frame never reached the meter


def test_switching_the_open_port_to_the_right_baud_rate_finds_the_meter(server):
    # what a scanner does: one open port, the baud rate changed between attempts
    client = _client(server.path, 9600)
    try:
        with pytest.raises(ModbusIOException):
            client.read_input_registers(0, count=2, device_id=SLAVE)
        port = client.socket
        assert isinstance(port, serial.Serial)
        port.baudrate = 19200
        assert not client.read_input_registers(0, count=2, device_id=SLAVE).isError()
    finally:
        client.close()  # type: ignore[no-untyped-call]


def test_another_slave_id_gets_no_reply_at_the_right_baud_rate(server):
    client = _client(server.path, 19200)
    try:
        with pytest.raises(ModbusIOException):
            client.read_input_registers(0, count=2, device_id=1)
    finally:
        client.close()  # type: ignore[no-untyped-call]
    assert server.stats.other_slave == 1
    assert server.stats.wrong_baud == 0


def test_the_socket_line_has_no_baud_rate_to_refuse():
    line = SocketLine(LINE_19200.char_time_s, LINE_19200.frame_gap_s, "127.0.0.1", 0)
    try:
        assert line.client_baud() is None
    finally:
        line.close()
