"""Commands, live mode and the status schedule of the firmware, on MicroPython."""

from __future__ import annotations

import json

import pytest

from protocol.codec import decode_live
from tests.firmware.harness import results, run_firmware

pytestmark = pytest.mark.micropython

SETUP = """
import json, time
from firmware import config
from firmware.clock import Clock
from firmware.commands import Commands
from firmware.live import Live
from protocol.messages import decode_command, encode_command
with open("/config.json", "w") as f:
    f.write(json.dumps({"device_id": "mye-0007", "meter": {"model": "em340"},
                        "mqtt": {"host": "127.0.0.1"}}))
cfg = config.load()
clock = Clock(rtc=None)
live = Live("mye-0007", 1.0, 30)
changed = []
cmds = Commands(cfg, clock, live, changed.append)

def send(cmd):
    return cmds.handle(decode_command(encode_command(cmd)), None, time.ticks_ms())
"""


def test_live_is_capped_stops_by_itself_and_samples_at_its_rate() -> None:
    out = run_firmware(
        SETUP
        + """
import binascii
now = time.ticks_ms()
r = send({"cmd": "live", "minutes": 90, "id": "p-1"})
print("=granted", r["ok"], r["minutes"], r["id"])
print("=remaining", live.remaining_s(now))
reading = {"p_l1_w": 1200.0, "p_l2_w": 10.0, "u_l1_v": 231.0, "e_imp_wh": 5}
first = live.sample(reading, 1767225600000, now)
print("=first", binascii.hexlify(first).decode())
print("=too_soon", live.sample(reading, 1767225600500, now + 500))
print("=next", live.sample(reading, 1767225601000, now + 1000) is not None)
print("=after_window", live.active(now + 30 * 60000 + 1000))
send({"cmd": "live", "minutes": 1})
print("=stop", send({"cmd": "live_stop"})["ok"], live.active(time.ticks_ms()))
"""
    )
    got = results(out)
    assert got["granted"] == "True 30 p-1"  # capped at live.max_minutes
    assert got["remaining"] in {"1799", "1800"}
    device, samples = decode_live(bytes.fromhex(got["first"]))
    assert device == "mye-0007"
    assert samples == [(1767225600000, {"p_l1_w": 1200.0, "p_l2_w": 10.0})]
    assert got["too_soon"] == "None"
    assert got["next"] == "True"
    assert got["after_window"] == "False"
    assert got["stop"] == "True False"


def test_time_config_expiry_and_bad_commands() -> None:
    out = run_firmware(
        SETUP
        + """
print("=unanchored", clock.quality())
r = send({"cmd": "time", "utc": 1790000000, "id": "t-1"})
print("=time", r["ok"], clock.quality(), abs(clock.now() - 1790000000) <= 1)
print("=step", clock.take_anchor_step() is not None)
print("=expired", send({"cmd": "live", "minutes": 5, "exp": 1780000000})["reason"])
r = send({"cmd": "config", "poll_s": 5, "status_s": 7200, "id": "c-9"})
print("=config", r["ok"], sorted(changed[0].items()), cfg.get("meter.poll_s"),
      cfg.get("status.interval_s"))
r = send({"cmd": "config", "poll_s": 7})
print("=refused", r["ok"], r["refused"])
print("=kept", json.loads(open("/config.cloud.json").read()) == {"poll_s": 5, "status_s": 7200})
r = cmds.handle(None, "unknown command 'reboot'", time.ticks_ms())
print("=bad", r["ok"], r["reason"], cmds.last is r)
"""
    )
    got = results(out)
    assert got["unanchored"] == "2"
    assert got["time"] == "True 0 True"
    assert got["step"] == "True"
    assert got["expired"] == "expired"
    assert got["config"] == "True [('poll_s', 5), ('status_s', 7200)] 5 7200"
    assert got["refused"] == (
        "False {'poll_s': 'meter.poll_s: must divide 60 s into a whole number of polls"
        " (1, 2, 5, 0.5...)'}"
    )
    assert got["kept"] == "True"
    assert got["bad"] == "False unknown command 'reboot' True"
    # every outcome is a structured log line
    logged = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    assert [e["cmd"] for e in logged if e["ev"] == "command"][:2] == ["time", "live"]


def test_status_is_sent_on_change_in_decades_and_as_a_heartbeat() -> None:
    out = run_firmware(
        """
from firmware.status import StatusReporter, last_will
r = StatusReporter(900, 0)
base = {"queue_depth": 0, "clock": 0, "modbus_errors": {}}
def due(t_ms, **changes):
    inputs = dict(base)
    inputs.update(changes)
    s = r.due(inputs, 1790000000 + t_ms // 1000, t_ms)
    return None if s is None else (s["queue_depth"], s["modbus_errors"], s["uptime_s"])
print("=first", due(0))
print("=same", due(6000))
print("=depth_5", due(12000, queue_depth=5))
print("=depth_50", due(18000, queue_depth=50))
print("=errors_1", due(24000, modbus_errors={"timeout": 1}))
print("=errors_7", due(26000, modbus_errors={"timeout": 7}))
print("=too_soon", due(27000, clock=1))
print("=gap_over", due(30000, clock=1))
print("=heartbeat", due(930000, clock=1))
print("=will", last_will()["state"])
"""
    )
    got = results(out)
    assert got["first"] == "(0, {}, 0)"
    assert got["same"] == "None"
    assert got["depth_5"] == "None"
    assert got["depth_50"] == "(50, {}, 18)"
    assert got["errors_1"] == "(0, {'timeout': 1}, 24)"
    assert got["errors_7"] == "None"
    assert got["too_soon"] == "None"
    assert got["gap_over"] == "(0, {}, 30)"
    assert got["heartbeat"] == "(0, {}, 930)"
    assert got["will"] == "offline"
