"""The meter over Modbus TCP (pymodbus's ModbusTcpServer)."""

from __future__ import annotations

import math
import time

import pytest
from pymodbus.exceptions import ModbusIOException

from hardware.planner import decode_request, plan_requests
from simulators.tcp import TcpMeterServer


def test_tcp_read_matches_the_meter(tcp, tcp_client, meter, sdm630):
    values = {}
    for req in plan_requests(sdm630):
        reply = tcp_client.read_input_registers(req.address, count=req.count, device_id=1)
        assert not reply.isError()
        values.update(decode_request(req, reply.registers))
    assert values == meter.readings()
    assert tcp.describe() == f"tcp: 127.0.0.1:{tcp.port} unit 1"


def test_other_unit_id_is_answered_like_a_gateway(tcp_client):
    reply = tcp_client.read_input_registers(0, count=2, device_id=9)
    assert reply.isError() and reply.exception_code == 11


def test_tcp_faults(tcp_client, meter):
    meter.faults.no_reply(count=1)
    with pytest.raises(ModbusIOException, match="No response"):
        tcp_client.read_input_registers(0, count=2, device_id=1)
    tcp_client.close()  # a timed-out TCP connection may deliver the late answer: reconnect
    assert tcp_client.connect()

    meter.faults.crc_error(count=1)
    with pytest.raises(ModbusIOException):
        tcp_client.read_input_registers(0, count=2, device_id=1)

    meter.faults.exception(code=4, count=1)
    reply = tcp_client.read_input_registers(0, count=2, device_id=1)
    assert reply.isError() and reply.exception_code == 4

    meter.faults.slow_reply(0.2, count=1)
    start = time.perf_counter()
    assert not tcp_client.read_input_registers(0, count=2, device_id=1).isError()
    assert time.perf_counter() - start > 0.2

    meter.faults.implausible("u_l1_v", math.nan, count=1)
    reply = tcp_client.read_input_registers(0, count=2, device_id=1)
    (request,) = plan_requests(meter.map, ["u_l1_v"])
    assert math.isnan(decode_request(request, reply.registers)["u_l1_v"])


def test_only_loopback(meter):
    with pytest.raises(ValueError, match="loopback"):
        TcpMeterServer(meter, "0.0.0.0", 0)
