"""firmware.config on MicroPython: defaults, validation, cloud settings that outlive a restart."""

from __future__ import annotations

import json

import pytest

from tests.firmware.harness import results, run_firmware

pytestmark = pytest.mark.micropython

INSTALLED = {
    "device_id": "mye-0042",
    "meter": {"model": "em340", "slave": 3},
    "mqtt": {"host": "127.0.0.1", "username": "mye-0042", "password": "s3cret"},
}

PRELUDE = f"""
import json, os
from firmware import config
def write(path, obj):
    with open(path, "w") as f:
        f.write(obj if isinstance(obj, str) else json.dumps(obj))
write("/config.json", {json.dumps(INSTALLED)!r})
"""


def test_defaults_and_installed_values() -> None:
    out = results(
        run_firmware(
            PRELUDE
            + """
cfg = config.load()
for key in ("device_id", "meter.slave", "meter.poll_s", "mqtt.port", "mqtt.tls", "watchdog_ms"):
    print("=" + key, cfg.get(key))
"""
        )
    )
    assert out == {
        "device_id": "mye-0042",
        "meter.slave": "3",
        "meter.poll_s": "1.0",
        "mqtt.port": "8883",
        "mqtt.tls": "True",
        "watchdog_ms": "30000",
    }


def test_every_problem_is_listed() -> None:
    out = run_firmware(
        PRELUDE
        + """
write("/config.json", {"device_id": "Bad/Id", "meter": {"slave": 0, "poll_s": "fast"}, "x": 1})
try:
    config.load()
except config.ConfigError as exc:
    for p in sorted(exc.problems):
        print("problem", p)
os.remove("/config.json")
try:
    config.load()
except config.ConfigError as exc:
    print("missing", exc)
"""
    )
    problems = [line.split(" ", 1)[1] for line in out.splitlines() if line.startswith("problem")]
    # "Bad/Id" has a valid length: the device-id rule is checked once the rest is valid
    assert problems == [
        "meter.model: required",
        "meter.poll_s: must be a number",
        "meter.slave: must be in 1..247",
        "mqtt.host: required",
        "x: unknown setting",
    ]
    assert "missing /config.json: missing or not a JSON object" in out


def test_bad_device_id_is_refused() -> None:
    out = run_firmware(
        PRELUDE
        + """
write("/config.json", {"device_id": "Bad/Id", "meter": {"model": "em340"}, "mqtt": {"host": "h"}})
try:
    config.load()
except config.ConfigError as exc:
    print("=error", exc)
"""
    )
    assert results(out)["error"] == "device_id: 3-32 characters of a-z, 0-9 and '-'"


def test_cloud_settings_are_checked_applied_and_kept() -> None:
    out = results(
        run_firmware(
            PRELUDE
            + """
cfg = config.load()
applied, refused = cfg.apply_cloud({"poll_s": 2, "upload_s": 0, "broker": "evil"})
print("=applied", sorted(applied.items()))
print("=refused", sorted(refused.items()))
print("=poll", cfg.get("meter.poll_s"))
again = config.load()
print("=after_restart", again.get("meter.poll_s"), again.get("mqtt.upload_s"))
# a power cut after the old file was removed, before the rename: the new one is used
os.rename("/config.cloud.json", "/config.cloud.json.tmp")
print("=after_cut", config.load().get("meter.poll_s"))
write("/config.cloud.json", {"poll_s": 999, "status_s": 120})
bad = config.load()
print("=ignored", sorted(bad.ignored), bad.get("meter.poll_s"), bad.get("status.interval_s"))
"""
        )
    )
    assert out["applied"] == "[('poll_s', 2)]"
    assert out["refused"] == (
        "[('broker', 'not a setting that can change at run time'),"
        " ('upload_s', 'mqtt.upload_s: must be in 1..3600')]"
    )
    assert out["poll"] == "2"
    assert out["after_restart"] == "2 60"
    assert out["after_cut"] == "2"
    assert out["ignored"] == "['poll_s'] 1.0 120"
