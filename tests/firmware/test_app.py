"""The whole firmware (firmware.app.build, as main.py runs it) on real MicroPython.

    simulated EM340 --pty--> UART(1) [firmware on the WebAssembly port] UART(2) --socket pair-->
    simulated A7670 (`myenergy-sim modem`, a process: AT commands, real TCP) --> Mosquitto --> paho

Nothing between the meter and the broker is the test's own: the firmware reads
the meter over Modbus RTU, keeps minute records on the flash image, brings the
modem up, takes its time from the modem's NTP, and speaks MQTT through the
modem's TCP stack. The modem simulator is the bridge process of the issue:
the port has no sockets.

The modem's world runs some seconds before a minute boundary, so the first
minute record closes soon after the clock is anchored; a second minute passes
with the coverage lost, and must arrive after it comes back.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import tty
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from firmware import VERSION
from protocol import topics
from protocol.codec import (
    CLOCK_ESTIMATED,
    CLOCK_SYNCED,
    decode_batch,
    decode_live,
    decode_status,
)
from tests.conftest import MqttClientFactory
from tests.firmware.harness import results, start_firmware
from tests.firmware.netbridge import NetBridge
from tests.firmware.test_modem import wait_for
from tests.firmware.test_rtu import served
from tests.fixtures.mosquitto import MosquittoBroker

pytestmark = pytest.mark.micropython

DEVICE = "mye-fw-0001"
FLASH_BLOCKS = 16


def flash_image(path: Path) -> Path:
    path.write_bytes(b"\xff" * (FLASH_BLOCKS * 4096))
    return path


def config_json(port: int) -> str:
    return json.dumps(
        {
            "device_id": DEVICE,
            "meter": {"model": "em340", "slave": 1, "poll_s": 1},
            "modem": {"pwrkey": -1, "apn": "internet.test"},
            "mqtt": {"host": "127.0.0.1", "port": port, "tls": False, "upload_s": 5},
            "watchdog_ms": 5000,
        }
    )


# Runs the firmware as main.py does, with markers for the test: the first record
# acknowledged by the broker, a record stored while the coverage is lost, every
# record delivered after it came back. The watchdog (5 s) proves no turn stalled.
SCRIPT = """
import time
from firmware import config
from firmware.app import build
with open("/config.json", "w") as f:
    f.write(CONFIG)
app = build(config.load())

def run_until(cond, ms):
    t0 = time.ticks_ms()
    while not cond():
        app.step()
        time.sleep_ms(5)
        if time.ticks_diff(time.ticks_ms(), t0) > ms:
            print("=timeout", app.uplink.records_acked, app.store.depth(), app.modem.state)
            raise SystemExit(1)

run_until(lambda: app.uplink.records_acked >= 1, 120000)
print("=first_acked", app.uplink.records_acked, app.clock.quality())
turns = app.turns
run_until(lambda: not app.modem.ready, 30000)
print("=offline", app.modem.state)
run_until(lambda: app.store.depth() >= 1, 90000)
print("=stored_offline", app.store.depth(), app.turns - turns)
run_until(lambda: app.store.depth() == 0 and app.uplink.records_acked >= 2, 120000)
print("=delivered", app.uplink.records_acked, app.store.stats["appended"], app.polls)
print("=errors", sorted(app.reader.errors.items()), app.store_errors)
run_until(lambda: app.uplink.live_sent >= 3, 60000)
# the status telling what became of the command (at least 5 s after the one before)
run_until(lambda: "last_cmd" in app.last_status and not app.uplink.status_in_flight, 30000)
t_end = time.ticks_add(time.ticks_ms(), 2000)  # QoS 0: let the last live one leave the modem
run_until(lambda: time.ticks_diff(time.ticks_ms(), t_end) >= 0, 5000)
print("=live", app.uplink.live_sent, app.commands.last["id"])
"""


def world_offset() -> float:
    """Offset making the modem's world 45 s into a minute now: a record closes ~15 s after NTP."""
    return (45 - time.time() % 60) % 60


@contextmanager
def modem_process(utc_offset_s: float) -> Iterator[tuple[subprocess.Popen[str], int]]:
    """``myenergy-sim modem`` as its own process on a pty: the bridge process.

    Yields the process (SIGUSR1 loses the coverage, SIGUSR2 restores it) and the
    module's end of the pty, raw and non-blocking, for UART(2).
    """
    proc = subprocess.Popen(
        [sys.executable, "-m", "simulators.cli", "modem", "--utc-offset-s", str(utc_offset_s)],
        stdout=subprocess.PIPE,
        text=True,
    )
    fd = -1
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        m = re.fullmatch(r"modem: (/dev/pts/\d+) 115200\n", line)
        assert m is not None, f"the modem simulator said {line!r}"
        fd = os.open(m.group(1), os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        tty.setraw(fd)
        yield proc, fd
    finally:
        if fd >= 0:
            os.close(fd)
        proc.terminate()
        proc.wait(timeout=10)


def test_meter_to_broker_through_the_modem_across_a_coverage_loss(
    mosquitto: MosquittoBroker, mqtt_clients: MqttClientFactory, tmp_path: Path
) -> None:
    cloud = mqtt_clients(mosquitto, "ingest")
    cloud.connect()
    cloud.subscribe(f"myenergy/v1/{DEVICE}/#", qos=1)
    flash = flash_image(tmp_path / "flash.bin")
    script = f"CONFIG = {config_json(mosquitto.port)!r}\n" + SCRIPT
    with (
        served("em340") as (_server, meter_fd),
        modem_process(world_offset()) as (modem, modem_fd),
        start_firmware(
            script, fds={"uart1": meter_fd, "uart2": modem_fd}, disks={"flash": flash}
        ) as fw,
    ):
        wait_for(fw, "=first_acked", 150)
        modem.send_signal(signal.SIGUSR1)  # coverage lost
        wait_for(fw, "=stored_offline", 150)
        modem.send_signal(signal.SIGUSR2)  # and back
        wait_for(fw, "=delivered", 150)
        cloud.publish(topics.command(DEVICE), b'{"cmd":"live","minutes":2,"id":"portal-1"}', qos=1)
        assert fw.wait(60) == 0, fw.errors()
        out = results(fw.output())
        received = []  # before the modem process ends and the broker sends the will
        while not cloud.messages.empty():
            received.append(cloud.messages.get())

    # The loop kept turning while the link was gone, and the watchdog never fired.
    assert int(out["stored_offline"].split()[1]) > 100
    assert out["errors"] == "[] 0"
    acked, appended, polls = (int(x) for x in out["delivered"].split())
    assert acked >= appended >= 2
    assert polls >= appended  # every record holds at least one poll

    batches = [decode_batch(bytes(m.payload)) for m in received if m.topic == topics.uplink(DEVICE)]
    records = {r.seq: r for b in batches for r in b.records}
    assert sorted(records) == list(range(1, appended + 1))  # every record, none twice-numbered
    first, last = records[1], records[appended]
    # polls made before the modem's NTP time came are moved by the step: estimated
    assert first.clock in {CLOCK_SYNCED, CLOCK_ESTIMATED} and last.clock == CLOCK_SYNCED
    assert last.ts > first.ts and last.ts % 60 == 0
    assert 200 < last.stats["u_l1_v"][0] < 260
    assert last.counters["e_imp_wh"] > 0
    assert 1 <= last.samples <= last.expected == 60

    assert out["live"].split()[1] == "portal-1"
    lives = [decode_live(bytes(m.payload)) for m in received if m.topic == topics.live(DEVICE)]
    assert len(lives) >= 3
    assert all(dev == DEVICE and set(s[0][1]) <= set(LIVE_CHANNELS) for dev, s in lives)

    statuses = [
        decode_status(bytes(m.payload)) for m in received if m.topic == topics.status(DEVICE)
    ]
    assert statuses and statuses[-1]["state"] == "online"
    assert statuses[-1]["clock"] == "synced"
    assert statuses[-1]["modem"] == "ready"
    assert statuses[-1]["last_cmd"] == {"cmd": "live", "ok": True, "id": "portal-1", "minutes": 2}

    # The modem process is gone, its TCP link with it, no DISCONNECT: the broker
    # publishes the device's last will.
    will = cloud.messages.get(timeout=30)
    while will.topic != topics.status(DEVICE):
        will = cloud.messages.get(timeout=30)
    assert decode_status(bytes(will.payload)) == {"state": "offline", "version": VERSION}


def test_a_bad_configuration_stops_at_the_repl_with_every_problem(tmp_path: Path) -> None:
    script = """
with open("/config.json", "w") as f:
    f.write('{"device_id": "mye-1", "meter": {"slave": 999}}')
import firmware.main
print("=returned yes")
"""
    with start_firmware(script) as fw:
        assert fw.wait(60) == 0, fw.errors()
        out = fw.output()
    problems = json.loads(out.splitlines()[0])["problems"]
    assert problems == [
        "meter.slave: must be in 1..247",
        "meter.model: required",
        "mqtt.host: required",
    ]
    assert "=returned yes" in out


LIVE_CHANNELS = ("p_l1_w", "p_l2_w", "p_l3_w", "p_total_w")

# A turn that hangs (here: a meter step that never returns in time) is caught by the
# hardware watchdog at the next feed; on the chip that is a reset, and every record
# is on flash already.
HANG = """
import time
import machine
from firmware import config
from firmware.app import build
from hostsocket import HostSocketTransport
with open("/config.json", "w") as f:
    f.write(CONFIG)
app = build(config.load(), transport=HostSocketTransport())
for i in range(50):
    app.step()
    time.sleep_ms(5)
print("=healthy", app.turns, machine.WDT.fired)
app.reader.step = lambda now: time.sleep_ms(6000)
try:
    app.step()
    app.step()
except machine.WatchdogReset as exc:
    print("=reset", machine.WDT.fired, exc)
"""


def test_a_hung_turn_is_reset_by_the_watchdog(tmp_path: Path) -> None:
    flash = flash_image(tmp_path / "flash.bin")
    script = f"CONFIG = {config_json(1)!r}\n" + HANG
    with served("em340") as (_server, meter_fd), NetBridge() as bridge:
        bridge.refuse = True
        with start_firmware(
            script, fds={"uart1": meter_fd, "net": bridge.fw_fd}, disks={"flash": flash}
        ) as fw:
            assert fw.wait(60) == 0, fw.errors()
            out = results(fw.output())
    assert out["healthy"] == "50 False"
    assert out["reset"].startswith("True watchdog not fed for 6")
