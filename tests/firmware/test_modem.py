"""firmware.modem on real MicroPython against the simulated A7670 (simulators.modem).

The shim UART(2) is one end of a socket pair whose other end the simulator
answers; the power-key pin is a second socket pair carrying the pin level, so
the simulator sees the firmware's key presses with their real durations.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest

from simulators.modem import ModemSettings, ModemSimulator
from tests.firmware.harness import FirmwareProcess, results, run_firmware, start_firmware

pytestmark = pytest.mark.micropython


@dataclass
class Wiring:
    """The simulator and the descriptors to give the firmware process."""

    sim: ModemSimulator
    fds: dict[str, int]


@contextmanager
def modem_wiring(
    settings: ModemSettings | None = None, *, powered: bool = True
) -> Iterator[Wiring]:
    uart_fw, uart_sim = socket.socketpair()
    key_fw, key_sim = socket.socketpair()
    uart_fw.setblocking(False)
    key_fw.setblocking(False)
    sim = ModemSimulator(
        uart_sim.fileno(), settings, pwrkey_fd=key_sim.fileno(), powered=powered
    ).start()
    try:
        yield Wiring(sim, {"uart2": uart_fw.fileno(), "pwrkey": key_fw.fileno()})
    finally:
        sim.stop()
        for s in (uart_fw, uart_sim, key_fw, key_sim):
            s.close()


# The firmware side: a modem on UART(2), its power key wired to the simulator,
# a loop that steps it as app.py would, and helpers to wait for a condition.
PRELUDE = """
import time
import host
from machine import UART
from firmware.backoff import Backoff
from firmware.clock import Clock
from firmware.modem import Modem

class Key:
    def __init__(self):
        self.fd = host.fd("pwrkey")
    def value(self, v):
        host.write(self.fd, "31" if v else "30")

uart = UART(2, 115200)
clock = Clock()
OPTIONS = dict(pwrkey=Key(), clock=clock, backoff=Backoff(200, 1000, 60000), boot_ms=5000,
               register_ms=3000, poll_ms=300)

def run_until(modem, cond, ms, others=()):
    t0 = time.ticks_ms()
    while not cond():
        now = time.ticks_ms()
        modem.step(now)
        for o in others:
            o.poll()
        if time.ticks_diff(now, t0) > ms:
            return False
        host.sleep_ms(2)
    return True
"""


def wait_for(fw: FirmwareProcess, marker: str, timeout: float = 60.0) -> str:
    """Wait until the firmware printed ``marker``; its output so far."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        out = fw.output()
        if marker in out:
            return out
        if fw.proc.poll() is not None:
            pytest.fail(f"firmware ended before {marker!r}:\n{fw.errors()}\n{out[-3000:]}")
        time.sleep(0.05)
    pytest.fail(f"no {marker!r} within {timeout} s:\n{fw.output()[-3000:]}")


def test_bring_up_reports_identity_signal_registration_and_ntp_time() -> None:
    # the simulated world is 3 days ahead of the host: a time that came through
    # the modem cannot be mistaken for the host's own
    offset = 3 * 86400
    settings = ModemSettings(csq=21, utc_offset_s=offset)
    script = (
        PRELUDE
        + """
m = Modem(uart, "internet.example", **OPTIONS)
print("=ready", run_until(m, lambda: m.ready, 20000))
print("=state", m.state)
print("=imei", m.imei)
print("=iccid", m.iccid)
print("=dbm", m.signal_dbm)
print("=rsrp", m.rsrp_dbm)
print("=registered", m.registered)
print("=roaming", m.roaming)
print("=synced", run_until(m, lambda: m.clock_source is not None, 10000))
print("=source", m.clock_source)
print("=quality", clock.quality())
print("=utc", clock.now())
print("=host", int(host.now_ms()) // 1000)
"""
    )
    with modem_wiring(settings) as wiring:
        out = results(run_firmware(script, fds=wiring.fds))
        commands = wiring.sim.commands
    assert out["ready"] == "True"
    assert out["state"] == "ready"
    assert out["imei"] == settings.imei
    assert out["iccid"] == settings.iccid
    assert out["dbm"] == str(-113 + 2 * 21)
    assert out["rsrp"] == str(-113 + 2 * 21 - 25)
    assert out["registered"] == "True"
    assert out["roaming"] == "False"
    assert out["synced"] == "True"
    assert out["source"] == "ntp"
    assert out["quality"] == "0"  # CLOCK_SYNCED
    assert abs(int(out["utc"]) - (int(out["host"]) + offset)) <= 2
    for expected in ("ATE0", "AT+CMEE=1", 'AT+CGDCONT=1,"IP","internet.example"', "AT+CEREG=1"):
        assert expected in commands
    assert commands.index("AT+CIPRXGET=1") < commands.index("AT+NETOPEN")


def test_modem_clock_without_ntp_is_estimated() -> None:
    settings = ModemSettings(ntp_ok=False, utc_offset_s=-5000, tz_quarters=12)
    script = (
        PRELUDE
        + """
m = Modem(uart, "apn", **OPTIONS)
run_until(m, lambda: m.clock_source is not None, 20000)
print("=source", m.clock_source)
print("=quality", clock.quality())
print("=utc", clock.now())
print("=host", int(host.now_ms()) // 1000)
print("=step", clock.take_anchor_step() is not None)
print("=again", clock.take_anchor_step())
"""
    )
    with modem_wiring(settings) as wiring:
        out = results(run_firmware(script, fds=wiring.fds))
    assert out["source"] == "modem"
    assert out["quality"] == "1"  # CLOCK_ESTIMATED: network time, unconfirmed
    # +CCLK is local time (+03:00 here): converted back to UTC
    assert abs(int(out["utc"]) - (int(out["host"]) - 5000)) <= 2
    assert out["step"] == "True"
    assert out["again"] == "None"


def test_modem_default_date_is_not_taken_for_the_time() -> None:
    settings = ModemSettings(ntp_ok=False, nitz=False)
    script = (
        PRELUDE
        + """
m = Modem(uart, "apn", **OPTIONS)
run_until(m, lambda: m.clock_source is not None, 20000)
print("=source", m.clock_source)
print("=quality", clock.quality())
"""
    )
    with modem_wiring(settings) as wiring:
        out = results(run_firmware(script, fds=wiring.fds))
    assert out["source"] == "modem"  # it read +CCLK: "80/01/06,..." ...
    assert out["quality"] == "2"  # ... and stayed UNANCHORED


def test_power_key_starts_a_modem_that_is_off() -> None:
    script = (
        PRELUDE
        + """
m = Modem(uart, "apn", **OPTIONS)
print("=ready", run_until(m, lambda: m.ready, 20000))
print("=bringups", m.bringups)
"""
    )
    with modem_wiring(powered=False) as wiring:
        out = results(run_firmware(script, fds=wiring.fds))
        assert wiring.sim.power_ons == 1
        assert wiring.sim.powered
    assert out["ready"] == "True"
    assert out["bringups"] == "1"


def test_coverage_lost_then_restored() -> None:
    script = (
        PRELUDE
        + """
m = Modem(uart, "apn", **OPTIONS)
print("=ready1", run_until(m, lambda: m.ready, 20000))
print("=phase up")
print("=lost", run_until(m, lambda: not m.ready, 20000))
print("=registered_lost", m.registered)
print("=error", m.error)
run_until(m, lambda: m.state == "register", 20000)
print("=dbm_lost", m.signal_dbm)
print("=phase down")
print("=ready2", run_until(m, lambda: m.ready, 30000))
print("=bringups", m.bringups)
print("=dbm", m.signal_dbm)
"""
    )
    with modem_wiring() as wiring, start_firmware(script, fds=wiring.fds) as fw:
        wait_for(fw, "=phase up")
        wiring.sim.lose_coverage()
        wait_for(fw, "=phase down")
        wiring.sim.restore_coverage()
        assert fw.wait(60) == 0, fw.errors()
        out = results(fw.output())
    assert out["ready1"] == "True"
    assert out["lost"] == "True"
    assert out["registered_lost"] == "False"
    assert out["error"] in ("coverage lost", "network closed")
    assert out["ready2"] == "True"
    assert out["bringups"] == "2"
    assert out["dbm"] == str(-113 + 2 * 20)


def test_missing_sim_is_reported_and_bring_up_resumes_when_inserted() -> None:
    script = (
        PRELUDE
        + """
m = Modem(uart, "apn", **OPTIONS)
run_until(m, lambda: m.sim_missing, 20000)
print("=missing", m.sim_missing)
print("=error", m.error)
print("=ready_without", m.ready)
print("=phase missing")
print("=ready", run_until(m, lambda: m.ready, 30000))
print("=missing_after", m.sim_missing)
"""
    )
    with modem_wiring() as wiring:
        wiring.sim.remove_sim()
        with start_firmware(script, fds=wiring.fds) as fw:
            wait_for(fw, "=phase missing")
            wiring.sim.insert_sim()
            assert fw.wait(60) == 0, fw.errors()
            out = results(fw.output())
    assert out["missing"] == "True"
    assert "SIM" in out["error"]
    assert out["ready_without"] == "False"
    assert out["ready"] == "True"
    assert out["missing_after"] == "False"


def test_hung_modem_is_power_cycled_with_the_key() -> None:
    settings = ModemSettings(off_pulse_s=0.4)
    script = (
        PRELUDE
        + """
OPTIONS.update(pwrkey_off_ms=600, off_wait_ms=300, cycle_after=2, boot_ms=1500)
m = Modem(uart, "apn", **OPTIONS)
print("=ready1", run_until(m, lambda: m.ready and m.clock_source is not None, 20000))
print("=phase up")
print("=ready2", run_until(m, lambda: m.power_cycles > 0 and m.ready, 60000))
print("=cycles", m.power_cycles)
print("=bringups", m.bringups)
"""
    )
    with modem_wiring(settings) as wiring, start_firmware(script, fds=wiring.fds) as fw:
        wait_for(fw, "=phase up")
        wiring.sim.hang()  # mute: the next registration poll times out
        assert fw.wait(90) == 0, fw.errors()
        out = results(fw.output())
        ons = wiring.sim.power_ons
    assert out["ready1"] == "True"
    assert out["ready2"] == "True"
    assert out["cycles"] == "1"
    assert out["bringups"] == "2"
    assert ons == 2  # the first start (powered at the test's start) and the key's


def test_roaming_registration_and_signal_changes_while_ready() -> None:
    script = (
        PRELUDE
        + """
m = Modem(uart, "apn", **OPTIONS)
print("=ready", run_until(m, lambda: m.ready, 20000))
print("=roaming", m.roaming)
print("=dbm1", m.signal_dbm)
print("=phase up")
print("=weaker", run_until(m, lambda: m.signal_dbm == -107, 10000))
print("=still_ready", m.ready)
"""
    )
    with (
        modem_wiring(ModemSettings(roaming=True, csq=25)) as wiring,
        start_firmware(script, fds=wiring.fds) as fw,
    ):
        wait_for(fw, "=phase up")
        wiring.sim.set_csq(3)  # the next poll (every poll_ms) sees it
        assert fw.wait(60) == 0, fw.errors()
        out = results(fw.output())
    assert out["ready"] == "True"
    assert out["roaming"] == "True"
    assert out["dbm1"] == "-63"
    assert out["weaker"] == "True"
    assert out["still_ready"] == "True"
