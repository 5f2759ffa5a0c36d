"""firmware.rtu on real MicroPython against a simulated meter on a pty, with line timing.

The shim UART(1) is the client end of the pty the simulator serves
(simulators.rtu_pty.RtuPtyServer): the meter answers only frames with a good CRC,
for its slave id, sent at its baud rate (the pty's termios speed, which the test
sets as the module's UART would drive the line). DE-pin timing is checked from
the shims' logs: machine.Pin.log against machine.UART.tx_log.
"""

from __future__ import annotations

import os
import termios
import tty
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from hardware.maps import load_map
from simulators.clock import FakeClock
from simulators.load import LoadModel
from simulators.meter import SimulatedMeter
from simulators.rtu_pty import RtuPtyServer
from tests.firmware.harness import results, run_firmware

pytestmark = pytest.mark.micropython

T0 = 1_782_036_000.0  # 2026-06-21 10:00 UTC, midday: every channel non-zero
DE_PIN = 4


def open_client(path: str, baudrate: int) -> int:
    """The module's side of the pty: raw, non-blocking, at ``baudrate`` (termios)."""
    fd = os.open(path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
    tty.setraw(fd)
    attrs = termios.tcgetattr(fd)
    speed = getattr(termios, f"B{baudrate}")
    attrs[4] = attrs[5] = speed
    termios.tcsetattr(fd, termios.TCSANOW, attrs)
    return fd


@contextmanager
def served(model: str, slave: int = 1) -> Iterator[tuple[RtuPtyServer, int]]:
    """A simulated ``model`` on a frozen clock, served on a pty; (server, client fd)."""
    meter = SimulatedMeter(load_map(model), LoadModel(7, pv_kw=6.0), FakeClock(T0), slave)
    with RtuPtyServer(meter) as server:
        fd = open_client(server.path, meter.map.serial.baudrate)
        try:
            yield server, fd
        finally:
            os.close(fd)


# Runs requests given as (slave, fc, address, count) and prints each result and the
# number of loop turns it took; then checks the DE pin against every transmission.
SCRIPT = """
import time, machine
from firmware.rtu import RtuMaster
uart = machine.UART(1, BAUD)
de = machine.Pin(DE_PIN, machine.Pin.OUT)
master = RtuMaster(uart, de, baudrate=BAUD, bits_per_char=BITS, timeout_ms=TIMEOUT)
quiet = []  # when the line went quiet before each request
for i, req in enumerate(REQUESTS):
    if len(req) > 4:  # (slave, fc, address, count, ms the loop does other work first)
        time.sleep_ms(req[4])
        req = req[:4]
    master.start(*req)
    turns = 0
    while True:
        res = master.poll()
        if res is not None:
            break
        turns += 1
        time.sleep_ms(1)
    if isinstance(res, str):
        print("=r%d %s %d" % (i, res, master.exc_code))
    else:
        print("=r%d ok %s" % (i, " ".join(str(w) for w in res)))
    print("=turns%d %d" % (i, turns))
    quiet.append(master.quiet_since_us)

# DE must rise before each transmission starts and fall only after it has ended
log = [e for e in machine.Pin.log if e[1] == DE_PIN]
bad = 0
for start, end, n in machine.UART.tx_log:
    rise = [t for t, _, v in log if v == 1 and time.ticks_diff(start, t) >= 0]
    fall = [t for t, _, v in log if v == 0 and time.ticks_diff(t, start) >= 0]
    if not rise or not fall or time.ticks_diff(fall[0], end) < 0:
        bad += 1
# t3.5 of silence (the line's last byte in or out) before every request after the first
short = 0
for k in range(1, len(machine.UART.tx_log)):
    if time.ticks_diff(machine.UART.tx_log[k][0], quiet[k - 1]) < master.gap_us:
        short += 1
print("=gap_short", short)
print("=tx", len(machine.UART.tx_log))
print("=de_bad", bad)
print("=de_last", de.value())
print("=requests", master.requests)
"""


def run_requests(
    fd: int,
    requests: list[tuple[int, ...]],
    *,
    baudrate: int = 9600,
    bits: int = 10,
    timeout_ms: int = 300,
) -> dict[str, str]:
    script = (
        f"BAUD = {baudrate}\nBITS = {bits}\nTIMEOUT = {timeout_ms}\nDE_PIN = {DE_PIN}\n"
        f"REQUESTS = {requests!r}\n" + SCRIPT
    )
    return results(run_firmware(script, fds={"uart1": fd}))


def words(out: dict[str, str], key: str) -> list[int]:
    status, _, rest = out[key].partition(" ")
    assert status == "ok", out[key]
    return [int(w) for w in rest.split()]


def test_reads_input_registers_like_the_meter_image_with_de_around_every_frame() -> None:
    with served("sdm630") as (server, fd):
        out = run_requests(fd, [(1, 4, 0, 80), (1, 4, 346, 12)])
        meter = server.meter
        assert words(out, "r0") == meter.registers(4, 0, 80)
        assert words(out, "r1") == meter.registers(4, 346, 12)
    assert server.stats.replies == 2
    assert server.stats.bad_crc == 0
    assert out["tx"] == "2"
    assert out["gap_short"] == "0"
    assert out["de_bad"] == "0"
    assert out["de_last"] == "0"
    # the reply takes ~190 ms of line time: the loop kept turning meanwhile
    assert int(out["turns0"]) > 1


def test_em340_word_order_and_holding_vs_input_registers() -> None:
    with served("em340") as (server, fd):
        out = run_requests(fd, [(1, 4, 0, 50), (1, 4, 11, 1)])
        assert words(out, "r0") == server.meter.registers(4, 0, 50)
    assert words(out, "r1") == [341]  # the probe: the model code to a one-word read


def test_a_meter_that_does_not_answer_times_out_without_blocking() -> None:
    with served("sdm630") as (server, fd):
        server.meter.faults.no_reply()
        out = run_requests(fd, [(1, 4, 0, 2)], timeout_ms=200)
    assert out["r0"].startswith("timeout")
    assert int(out["turns0"]) > 1  # poll() returned None many times, never waited
    assert server.stats.dropped == 1


def test_a_wrong_slave_id_times_out_and_the_next_request_works() -> None:
    with served("sdm630", slave=7) as (server, fd):
        out = run_requests(fd, [(1, 4, 0, 2), (7, 4, 0, 2)], timeout_ms=150)
        assert out["r0"].startswith("timeout")
        assert int(out["turns0"]) > 1
        assert words(out, "r1") == server.meter.registers(4, 0, 2)
    assert server.stats.other_slave == 1


def test_a_late_reply_is_flushed_before_the_next_request() -> None:
    with served("sdm630") as (server, fd):
        server.meter.faults.slow_reply(0.15, count=1)
        # the reply to r0 comes after its timeout and waits in the RX buffer while
        # the loop does other work; r1 must get its own answer, not that one
        out = run_requests(fd, [(1, 4, 0, 2), (1, 4, 10, 4, 400)], timeout_ms=100)
        assert out["r0"].startswith("timeout")
        assert words(out, "r1") == server.meter.registers(4, 10, 4)
    assert server.stats.replies == 2
    assert out["gap_short"] == "0"


def test_a_reply_with_a_bad_crc_is_a_crc_error() -> None:
    with served("sdm630") as (server, fd):
        server.meter.faults.crc_error(count=1)
        out = run_requests(fd, [(1, 4, 0, 4), (1, 4, 0, 4)])
        assert out["r0"].startswith("crc")
        assert words(out, "r1") == server.meter.registers(4, 0, 4)


def test_an_unmapped_register_gets_an_exception_with_its_code() -> None:
    with served("sdm630") as (_, fd):
        out = run_requests(fd, [(1, 4, 1000, 2), (1, 3, 0, 2)])
    assert out["r0"] == "exception 2"  # ILLEGAL DATA ADDRESS
    assert out["r1"] == "exception 2"  # the SDM630 has no holding registers mapped


def test_write_frames_are_well_formed() -> None:
    # FC 6 and FC 16 to registers the meter does not serve: an exception reply proves
    # the meter decoded the frame (a bad frame would get no answer at all)
    with served("sdm630") as (server, fd):
        out = run_firmware_writes(fd)
    assert out["w6"] == "exception 2"
    assert out["w16"] == "exception 2"
    assert server.stats.bad_crc == 0


def run_firmware_writes(fd: int) -> dict[str, str]:
    script = """
import time, machine
from firmware.rtu import RtuMaster, crc16
master = RtuMaster(machine.UART(1, 9600), machine.Pin(4, machine.Pin.OUT), timeout_ms=300)
for name, fc, values in (("w6", 6, (1234,)), ("w16", 16, (1, 2, 3))):
    master.start(1, fc, 40, len(values), values)
    while True:
        res = master.poll()
        if res is not None:
            break
        time.sleep_ms(1)
    print("=%s %s %d" % (name, res, master.exc_code))
# the check value of the CRC-16/MODBUS catalogue entry
print("=check", hex(crc16(b"123456789")))
"""
    out = results(run_firmware(script, fds={"uart1": fd}))
    assert out["check"] == "0x4b37"
    return out


def test_a_master_at_the_wrong_baud_rate_gets_no_answer() -> None:
    meter = SimulatedMeter(load_map("sdm630"), LoadModel(7), FakeClock(T0), 1)
    with RtuPtyServer(meter) as server:
        fd = open_client(server.path, 19200)  # the module's UART set to 19200, meter 9600
        try:
            out = run_requests(fd, [(1, 4, 0, 2)], baudrate=19200, timeout_ms=150)
        finally:
            os.close(fd)
    assert out["r0"].startswith("timeout")
    assert server.stats.wrong_baud == 1
    assert server.stats.replies == 0
