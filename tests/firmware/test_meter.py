"""firmware.meter on real MicroPython: a full poll of every packaged meter model over
the simulated RS-485 line, compared value for value with what the edge agent's
poller (edge_agent.poller.MeterPoller, pymodbus) reads from the same meter.

The meters run on a frozen clock, so the firmware and the agent see the same
register image; floats cross as the hex of their IEEE double, so the comparison
is exact.
"""

from __future__ import annotations

import math
import struct

import pytest
from pymodbus.client import ModbusSerialClient

from edge_agent.poller import MeterPoller
from hardware.maps import MODELS
from simulators.rtu_pty import RtuPtyServer
from tests.firmware.harness import results, run_firmware
from tests.firmware.test_rtu import T0, served

pytestmark = pytest.mark.micropython

# One or more poll cycles of MODEL at slave SLAVE; prints each reading, the error
# counts, the loop turns and whether the reader became idle again.
SCRIPT = """
import gc, struct, time, machine
from firmware.rtu import RtuMaster
from firmware.meter import MeterReader, serial_settings
baud, bits, parity, stop, bpc = serial_settings(MODEL)
uart = machine.UART(1, baudrate=baud, bits=bits, parity=parity, stop=stop)
master = RtuMaster(uart, machine.Pin(4, machine.Pin.OUT), timeout_ms=TIMEOUT)
gc.collect()
free = gc.mem_free()
reader = MeterReader(master, MODEL, SLAVE)
gc.collect()
print("=reader_bytes", free - gc.mem_free())
for cycle in range(CYCLES):
    reader.start_cycle()
    turns = 0
    while True:
        out = reader.step(time.ticks_ms())
        if out is not None:
            break
        turns += 1
        time.sleep_ms(1)
    print("=turns%d %d" % (cycle, turns))
    print("=n%d %d" % (cycle, len(out)))
    for ch, v in out.items():
        if isinstance(v, int):
            print("=%d_%s i %d" % (cycle, ch, v))
        else:
            print("=%d_%s f %s" % (cycle, ch, struct.pack(">d", v).hex()))
print("=errors", " ".join("%s:%d" % kv for kv in sorted(reader.errors.items())))
print("=busy", reader.busy)
print("=failed_cycles", reader.failed_cycles)
"""


def poll_firmware(
    fd: int, model: str, *, slave: int = 1, cycles: int = 1, timeout_ms: int = 300
) -> dict[str, str]:
    script = (
        f"MODEL = {model!r}\nSLAVE = {slave}\nCYCLES = {cycles}\nTIMEOUT = {timeout_ms}\n" + SCRIPT
    )
    return results(run_firmware(script, fds={"uart1": fd}))


def readings(out: dict[str, str], cycle: int = 0) -> dict[str, float | int]:
    """The values one cycle printed, decoded back to Python numbers."""
    got: dict[str, float | int] = {}
    prefix = f"{cycle}_"
    for key, text in out.items():
        if not key.startswith(prefix):
            continue
        kind, _, value = text.partition(" ")
        channel = key[len(prefix) :]
        if kind == "i":
            got[channel] = int(value)
        else:
            (got[channel],) = struct.unpack(">d", bytes.fromhex(value))
    assert len(got) == int(out[f"n{cycle}"])
    return got


def errors(out: dict[str, str]) -> dict[str, int]:
    pairs = (item.split(":") for item in out["errors"].split())
    return {k: int(v) for k, v in pairs}


def agent_poll(server: RtuPtyServer) -> tuple[dict[str, float], dict[str, int]]:
    """What the edge agent's poller reads from the meter (pymodbus over the pty)."""
    serial = server.meter.map.serial
    client = ModbusSerialClient(
        server.path, baudrate=serial.baudrate, parity="N", timeout=0.5, retries=0
    )  # parity N: a Linux pty cannot store a parity bit (tests/simulators/conftest.py)
    assert client.connect()
    try:
        poller = MeterPoller(
            server.meter.map, client, server.meter.slave_id, lambda: T0, pause=lambda s: None
        )
        result = poller.poll()
    finally:
        client.close()  # type: ignore[no-untyped-call]
    assert result.requests_failed == 0
    return result.values, result.counters


@pytest.mark.parametrize("model", MODELS)
def test_every_point_reads_as_the_edge_agent_reads_it(model: str) -> None:
    with served(model) as (server, fd):
        out = poll_firmware(fd, model)
        values, counters = agent_poll(server)
    got = readings(out)
    points = {p.channel for p in server.meter.map.points}
    assert set(got) == points  # every point, nothing dropped on a healthy meter
    assert got == {**values, **counters}
    for channel, value in got.items():
        # counters as whole units (int), instants as floats, like the agent's split
        assert isinstance(value, int) == (channel in counters), channel
    assert errors(out) == {}
    assert out["busy"] == "False"
    assert int(out["turns0"]) > 1  # the cycle ran over many loop turns
    print(f"{model}: {len(got)} channels, MeterReader {out['reader_bytes']} bytes of heap")


def test_implausible_values_are_dropped_and_counted() -> None:
    with served("sdm630") as (server, fd):
        faults = server.meter.faults
        faults.implausible("u_l1_v", math.nan, count=1)
        faults.implausible("f_hz", 1.0e9, count=1)
        faults.implausible("e_imp_wh", -5000.0, count=1)
        out = poll_firmware(fd, "sdm630")
    got = readings(out)
    assert "u_l1_v" not in got
    assert "f_hz" not in got
    assert "e_imp_wh" not in got
    assert len(got) == len(server.meter.map.points) - 3
    assert errors(out) == {"nan": 1, "out_of_range": 2}


def test_a_silent_meter_times_out_retries_and_skips_the_rest_of_the_cycle() -> None:
    with served("sdm630") as (server, fd):
        server.meter.faults.no_reply()
        out = poll_firmware(fd, "sdm630", cycles=2, timeout_ms=100)
    assert readings(out, 0) == {}
    assert readings(out, 1) == {}
    # 1 try + 2 retries of the first block per cycle; the second block is never asked
    assert errors(out) == {"timeout": 6}
    assert server.stats.frames == 6
    assert out["failed_cycles"] == "2"
    assert int(out["turns0"]) > 1


def test_an_exception_fails_one_block_only_and_is_not_retried() -> None:
    with served("sdm630") as (server, fd):
        server.meter.faults.exception(code=4, count=1)
        out = poll_firmware(fd, "sdm630")
    got = readings(out)
    second = {p.channel for p in server.meter.map.points if p.address >= 346}
    assert set(got) == second  # what the answered block gave
    assert errors(out) == {"exception": 1}
    assert server.stats.frames == 2
    assert out["failed_cycles"] == "0"


def test_a_crc_error_is_retried_and_the_cycle_completes() -> None:
    with served("em340") as (server, fd):
        server.meter.faults.crc_error(count=1)
        out = poll_firmware(fd, "em340")
    assert len(readings(out)) == len(server.meter.map.points)
    assert errors(out) == {"crc": 1}
    assert server.stats.frames == 3
