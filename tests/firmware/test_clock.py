"""firmware.clock on real MicroPython: quality transitions, the re-anchoring step,
ageing, the daily re-base of the tick anchor, the RTC it sets, and the calendar.

Ticks are passed explicitly (``ticks_add`` of a start value), so hours and days
pass without waiting: the clock only ever sees tick values, as on the device.
"""

from __future__ import annotations

import calendar
import datetime as dt
import json

import pytest

from tests.firmware.harness import results, run_firmware

pytestmark = pytest.mark.micropython

PRELUDE = """
import time
import machine
from firmware.clock import Clock, civil_from_utc, utc_from_civil, days_from_civil
H = 3600 * 1000
t0 = time.ticks_ms()
def at(ms):
    return time.ticks_add(t0, ms)
"""

T_REAL = 1_790_000_000  # 2026-09-21T14:13:20Z
T_GUESS = calendar.timegm((2000, 1, 1, 0, 0, 0))  # the shim RTC's power-on value


def test_unanchored_then_modem_then_ntp_then_ageing() -> None:
    script = (
        PRELUDE
        + f"""
c = Clock(fresh_s=6 * 3600)
t0 = c._at  # the boot anchor's ticks: at(ms) is then exactly ms after it
print("=q0", c.quality(at(0)))
print("=guess", c.now(at(0)))
print("=step_none", c.take_anchor_step())
print("=modem_step", c.anchor({T_REAL}, "modem", at(10000)))
print("=q1", c.quality(at(10000)))
print("=now1", c.now(at(15500)))
print("=take1", c.take_anchor_step())
print("=take2", c.take_anchor_step())
print("=ntp_step", c.anchor({T_REAL} + 100, "ntp", at(20000)))
print("=q2", c.quality(at(20000)))
print("=take3", c.take_anchor_step())
print("=modem_refused", c.anchor({T_REAL} + 500, "modem", at(30000)))
print("=cloud_refused", c.anchor({T_REAL} + 500, "cloud", at(30000)))
print("=now2", c.now(at(30000)))
print("=q_5h59", c.quality(at(20000 + 6 * H - 1000)))
print("=q_6h01", c.quality(at(20000 + 6 * H + 1000)))
print("=cloud_step", c.anchor({T_REAL} + 99999, "cloud", at(20000 + 7 * H)))
print("=q3", c.quality(at(20000 + 7 * H)))
print("=now3", c.now(at(20000 + 7 * H + 2500)))
print("=rtc", machine.RTC().datetime())
"""
    )
    out = results(run_firmware(script))
    assert out["q0"] == "2"  # CLOCK_UNANCHORED
    assert int(out["guess"]) == T_GUESS
    assert out["step_none"] == "None"
    # the modem's time ends the unanchored stretch: one step, handed out once
    step = T_REAL - (T_GUESS + 10)
    assert out["modem_step"] == str(step)
    assert out["q1"] == "1"  # network time is ESTIMATED
    assert out["now1"] == str(T_REAL + 5)
    assert out["take1"] == str(step)
    assert out["take2"] == "None"
    # NTP: synced, but no second step (one base per boot)
    assert out["ntp_step"] == "0"
    assert out["q2"] == "0"
    assert out["take3"] == "None"
    # worse sources do not override a fresh NTP time
    assert out["modem_refused"] == "None"
    assert out["cloud_refused"] == "None"
    assert out["now2"] == str(T_REAL + 100 + 10)
    assert out["q_5h59"] == "0"
    assert out["q_6h01"] == "1"  # aged: ESTIMATED
    assert out["cloud_step"] == "0"  # a cloud time after NTP went stale is taken
    assert out["q3"] == "0"
    assert out["now3"] == str(T_REAL + 99999 + 2)
    rtc = json.loads(out["rtc"].replace("(", "[").replace(")", "]"))
    set_at = dt.datetime.fromtimestamp(T_REAL + 99999, dt.UTC)
    assert rtc[:3] == [set_at.year, set_at.month, set_at.day]
    assert rtc[3] == set_at.weekday()
    assert rtc[4:7] == [set_at.hour, set_at.minute, set_at.second]


def test_cloud_anchor_from_unanchored_and_implausible_times_refused() -> None:
    script = (
        PRELUDE
        + f"""
c = Clock()
t0 = c._at
print("=old", c.anchor(946684800, "cloud", at(0)))
print("=future", c.anchor(3200000000, "ntp", at(0)))
print("=q0", c.quality(at(0)))
print("=step", c.anchor({T_REAL}, "cloud", at(60000)))
print("=q1", c.quality(at(60000)))
print("=take", c.take_anchor_step())
"""
    )
    out = results(run_firmware(script))
    assert out["old"] == "None"
    assert out["future"] == "None"
    assert out["q0"] == "2"
    assert out["step"] == str(T_REAL - (T_GUESS + 60))
    assert out["q1"] == "0"
    assert out["take"] == out["step"]


def test_rtc_set_by_an_earlier_boot_is_the_unanchored_guess() -> None:
    script = (
        PRELUDE
        + f"""
first = Clock()
first.anchor({T_REAL}, "ntp", at(0))
# a soft reset: the RTC kept the time, the new boot has no real time yet
second = Clock()
print("=q", second.quality())
print("=guess", second.now())
"""
    )
    out = results(run_firmware(script))
    assert out["q"] == "2"
    assert abs(int(out["guess"]) - T_REAL) <= 2


def test_anchor_survives_many_days_of_ticks() -> None:
    # ticks_diff is valid for 2**29 ms (6.2 days): the anchor must move forward
    # while the clock is read, so 20 days read every 12 h stay exact
    script = (
        PRELUDE
        + f"""
c = Clock()
c.anchor({T_REAL}, "ntp", at(0))
t = t0
ok = True
for i in range(1, 41):
    t = time.ticks_add(t, 12 * H + 7)
    if c.now(t) != {T_REAL} + i * (12 * 3600) + (i * 7) // 1000:
        ok = False
        print("=bad", i, c.now(t))
print("=ok", ok)
"""
    )
    out = results(run_firmware(script))
    assert out["ok"] == "True"


def test_calendar_matches_cpython() -> None:
    samples = [0, 951_782_400, 1_709_164_799, 1_767_225_600, 4_107_542_400, 1_790_000_000]
    samples += list(range(1_700_000_000, 1_800_000_000, 7_654_321))
    script = (
        PRELUDE
        + f"""
for t in {samples}:
    y, m, d, hh, mm, ss, wd = civil_from_utc(t)
    back = utc_from_civil(y, m, d, hh * 3600 + mm * 60 + ss)
    print("=c%d" % t, "%d-%02d-%02dT%02d:%02d:%02d/%d/%d" % (y, m, d, hh, mm, ss, wd, back))
"""
    )
    out = results(run_firmware(script))
    for t in samples:
        when = dt.datetime.fromtimestamp(t, dt.UTC)
        expected = when.strftime("%Y-%m-%dT%H:%M:%S") + f"/{when.weekday()}/{t}"
        assert out[f"c{t}"] == expected
