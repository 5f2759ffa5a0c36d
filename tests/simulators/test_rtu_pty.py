"""The meter on a pty, read by a real pymodbus serial client, with RS-485 timing."""

from __future__ import annotations

import math
import os
import statistics
import time

import pytest
import serial
from pymodbus.client import ModbusSerialClient
from pymodbus.exceptions import ModbusIOException
from pymodbus.framer.rtu import FramerRTU

from hardware.model import MeterMap
from hardware.planner import decode_request, plan_requests
from simulators.rtu_pty import serve_rtu_pty

from .conftest import CLIENT_TIMEOUT_S, LINE_8E1


def _poll(client: ModbusSerialClient, meter_map: MeterMap) -> dict[str, float]:
    values: dict[str, float] = {}
    for req in plan_requests(meter_map):
        assert req.fc == 4
        reply = client.read_input_registers(req.address, count=req.count, device_id=1)
        assert not reply.isError(), reply
        values.update(decode_request(req, reply.registers))
    return values


def test_describe_line_is_machine_readable(rtu):
    assert rtu.describe() == f"rtu: {rtu.path} 9600 8E1 slave 1"
    assert rtu.path.startswith("/dev/pts/") and os.path.exists(rtu.path)


def test_client_reads_the_sdm630_map_and_gets_the_load_values(rtu_client, meter, sdm630):
    values = _poll(rtu_client, sdm630)
    assert set(values) == set(sdm630.channels)
    assert values == meter.readings()  # exactly what the meter encoded
    truth = meter.load.values()
    for channel, value in values.items():
        if sdm630.point(channel).kind == "instant":
            assert value == pytest.approx(truth[channel], rel=1e-6, abs=1e-6), channel
        else:
            assert value == pytest.approx(truth[channel], abs=12.0), channel
    assert values["p_total_w"] < 0  # midday PV export
    assert 225 < values["u_l1_v"] < 235


def test_round_trip_takes_line_time(rtu_client, meter):
    count = 80
    c = LINE_8E1.char_time_s
    on_wire = (8 + 5 + 2 * count) * c + LINE_8E1.frame_gap_s + meter.turnaround_s
    times = []
    for _ in range(3):
        start = time.perf_counter()
        reply = rtu_client.read_input_registers(0, count=count, device_id=1)
        times.append(time.perf_counter() - start)
        assert not reply.isError()
    # loose on purpose: only "not instant"; precise figures belong to bench/
    assert statistics.median(times) > 0.5 * on_wire


def test_other_slave_id_gets_no_reply(rtu_client, rtu):
    with pytest.raises(ModbusIOException):
        rtu_client.read_input_registers(0, count=2, device_id=2)
    assert rtu.stats.other_slave == 1
    assert not rtu_client.read_input_registers(0, count=2, device_id=1).isError()


def test_unmapped_address_gets_illegal_data_address(rtu_client):
    reply = rtu_client.read_input_registers(200, count=2, device_id=1)
    assert reply.isError() and reply.exception_code == 2


def test_holding_registers_and_coils_are_refused(rtu_client):
    reply = rtu_client.read_holding_registers(0, count=2, device_id=1)
    assert reply.isError() and reply.exception_code == 2
    reply = rtu_client.read_coils(0, count=8, device_id=1)
    assert reply.isError() and reply.exception_code == 1


def test_fault_no_reply_times_out_then_recovers(rtu_client, meter):
    meter.faults.no_reply(count=1)
    with pytest.raises(ModbusIOException, match="No response"):
        rtu_client.read_input_registers(0, count=2, device_id=1)
    assert not rtu_client.read_input_registers(0, count=2, device_id=1).isError()


def test_fault_crc_error_is_rejected_by_the_client(rtu_client, meter, rtu):
    meter.faults.crc_error(count=1)
    with pytest.raises(ModbusIOException):
        rtu_client.read_input_registers(0, count=2, device_id=1)
    assert rtu.stats.replies >= 1  # it did answer, with a broken CRC
    assert not rtu_client.read_input_registers(0, count=2, device_id=1).isError()


def test_fault_exception_response(rtu_client, meter):
    meter.faults.exception(code=6, count=2)
    for _ in range(2):
        reply = rtu_client.read_input_registers(0, count=2, device_id=1)
        assert reply.isError() and reply.exception_code == 6
    assert not rtu_client.read_input_registers(0, count=2, device_id=1).isError()


def test_fault_slow_reply_beyond_the_client_timeout(rtu_client, meter):
    meter.faults.slow_reply(CLIENT_TIMEOUT_S + 0.3, count=1)
    with pytest.raises(ModbusIOException):
        rtu_client.read_input_registers(0, count=2, device_id=1)
    time.sleep(0.4)  # let the late reply arrive; the client flushes it before sending
    assert not rtu_client.read_input_registers(0, count=2, device_id=1).isError()


def test_fault_slow_reply_within_the_timeout_is_just_late(rtu_client, meter):
    meter.faults.slow_reply(0.2, count=1)
    start = time.perf_counter()
    assert not rtu_client.read_input_registers(0, count=2, device_id=1).isError()
    assert time.perf_counter() - start > 0.2


def test_fault_implausible_value(rtu_client, meter, sdm630):
    meter.faults.implausible("u_l1_v", math.nan, count=1)
    meter.faults.implausible("i_l2_a", 1e9, count=1)
    values = _poll(rtu_client, sdm630)
    assert math.isnan(values["u_l1_v"])
    assert values["i_l2_a"] == pytest.approx(1e9)
    assert not sdm630.point("i_l2_a").plausible(values["i_l2_a"])


def test_fault_counter_reset(rtu_client, meter, clock, sdm630):
    before = _poll(rtu_client, sdm630)["e_imp_wh"]
    meter.faults.counter_reset()
    clock.advance(60)
    after = _poll(rtu_client, sdm630)
    assert before > 100_000
    assert 0 <= after["e_imp_wh"] < 100 and 0 <= after["e_exp_l1_wh"] < 100


def test_turnaround_setting_delays_the_reply(rtu_client, meter):
    meter.faults.turnaround(0.3)
    start = time.perf_counter()
    assert not rtu_client.read_input_registers(0, count=2, device_id=1).isError()
    assert time.perf_counter() - start > 0.3


def _raw_port(path: str) -> serial.Serial:
    return serial.Serial(path, baudrate=9600, timeout=0.3)


def test_frame_with_bad_crc_is_ignored_like_on_a_real_bus(rtu):
    frame = bytearray(FramerRTU(None).encode(bytes([4, 0, 0, 0, 2]), 1, 0))  # type: ignore[arg-type]
    frame[-1] ^= 0x55
    with _raw_port(rtu.path) as port:
        port.write(bytes(frame))
        assert port.read(9) == b""
    assert rtu.stats.bad_crc == 1 and rtu.stats.replies == 0


def test_unknown_function_code_gets_illegal_function(rtu):
    frame = FramerRTU(None).encode(bytes([0x41, 0, 0]), 1, 0)  # type: ignore[arg-type]
    with _raw_port(rtu.path) as port:
        port.write(frame)
        reply = port.read(5)
    assert reply[:3] == bytes([1, 0xC1, 1])


def test_a_second_client_can_open_the_pty_after_the_first(rtu, rtu_client):
    assert not rtu_client.read_input_registers(0, count=2, device_id=1).isError()
    rtu_client.close()
    assert rtu_client.connect()
    assert not rtu_client.read_input_registers(0, count=2, device_id=1).isError()


def test_stop_does_not_wait_for_a_slow_reply(meter):
    meter.faults.slow_reply(30.0)
    server = serve_rtu_pty(meter, LINE_8E1)
    with _raw_port(server.path) as port:
        port.write(FramerRTU(None).encode(bytes([4, 0, 0, 0, 2]), 1, 0))  # type: ignore[arg-type]
        time.sleep(0.1)  # the server is now holding the reply back
        start = time.monotonic()
        server.stop()
    assert time.monotonic() - start < 5  # not the 30 s of the fault


def test_stop_is_clean(meter):
    server = serve_rtu_pty(meter, LINE_8E1)
    assert os.path.exists(server.path)
    server.stop()
    assert not os.path.exists(server.path)  # the pty is gone with its last descriptor
