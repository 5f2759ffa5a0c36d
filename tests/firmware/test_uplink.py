"""firmware.uplink on real MicroPython against a real Mosquitto, through the network bridge.

The scripts use a tiny in-memory store with exactly the interface of
firmware/store.py (pending / ack / depth), so these tests prove the uplink's
side of "a record leaves only after its PUBACK" on their own; a paho client on
the cloud side decodes every batch with protocol.codec.decode_batch and checks
that every record arrived (at least once) and equals what the device stored.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from paho.mqtt.client import MQTTMessage

from protocol import topics
from protocol.codec import Batch, Record, decode_batch, decode_live, decode_status, encode_command
from tests.firmware.harness import results, run_firmware
from tests.firmware.netbridge import NetBridge
from tests.firmware.test_mqtt import (
    DEVICE,
    PRELUDE,
    REFUSED_LOGIN,
    finish,
    firmware_on,
    signal,
    tls_broker,
)
from tests.firmware.test_mqtt import wait_line as wait_for
from tests.fixtures.mosquitto import MosquittoBroker, MosquittoTLS
from tests.fixtures.mqtt import MqttTestClient

pytestmark = pytest.mark.micropython

T0 = 1767225600  # 2026-01-01T00:00:00Z

# The store and the records, the same on both sides: the script appends
# make(i), the test rebuilds make(i) with seq i + 1 and compares.
STORE = f"""
from protocol.records import Record
from firmware.uplink import Uplink
from firmware.backoff import Backoff
from protocol import topics

T0 = {T0}
DEV = "{DEVICE}"

def make(i):
    u = (230.0 + i % 7, 228.0, 233.5)
    p = (1000.0 + 10 * i, 900.0, 1250.0)
    stats = {{"u_l1_v": u, "p_total_w": p}}
    return Record(0, T0 + 60 * i, 60, 0, 60, 60, 1, stats, {{"e_imp_wh": 100000 + 17 * i}})

class MemStore:
    # pending/ack/depth exactly as firmware/store.py offers them
    def __init__(self):
        self.recs = []
        self.next_seq = 1
        self.acked = 0
    def append(self, record):
        record.seq = self.next_seq
        self.next_seq += 1
        self.recs.append(record)
        return record.seq
    def pending(self, limit, exclude=()):
        got = []
        for r in self.recs:
            if r.seq not in exclude:
                got.append(r)
                if len(got) >= limit:
                    break
        return got
    def ack(self, seqs):
        gone = set(seqs)
        self.acked += len(gone)
        self.recs = [r for r in self.recs if r.seq not in gone]
    def depth(self):
        return len(self.recs)

store = MemStore()

def uplink_with(client, **kw):
    up = Uplink(client, store, DEV, **kw)
    def step(now):
        up.step(now)
    return up, step
"""


def make(i: int) -> Record:
    return Record(
        i + 1,
        T0 + 60 * i,
        60,
        0,
        60,
        60,
        1,
        {"u_l1_v": (230.0 + i % 7, 228.0, 233.5), "p_total_w": (1000.0 + 10 * i, 900.0, 1250.0)},
        {"e_imp_wh": 100000 + 17 * i},
    )


def batches(client: MqttTestClient) -> list[Batch]:
    """Every uplink batch the cloud client has received so far."""
    got = []
    while not client.messages.empty():
        m = client.messages.get_nowait()
        if m.topic == topics.uplink(DEVICE):
            got.append(decode_batch(bytes(m.payload)))
    return got


def cloud_client(broker: MosquittoBroker, mqtt_clients, **kw: object) -> MqttTestClient:
    if isinstance(broker, MosquittoTLS):
        kw["credentials"] = broker.credentials("ingest")
    client: MqttTestClient = mqtt_clients(broker, "ingest", **kw)
    client.connect()
    for kind in ("up", "status", "live"):
        client.subscribe(f"myenergy/v1/+/{kind}", qos=1)
    return client


def test_batches_status_and_live_over_tls_with_device_credentials(
    mosquitto_tls: MosquittoTLS, mqtt_clients, tmp_path: Path
) -> None:
    broker = tls_broker(mosquitto_tls)
    cloud = cloud_client(broker, mqtt_clients)
    script = (
        STORE
        + f"""
from protocol.codec import encode_live
for i in range(30):
    store.append(make(i))
c = MqttClient(HostSocketTransport(), DEV, 30, DEV, host.env("DEV_PASSWORD"))
# The clock: 100 s after the last record's end, so with upload_s=60 (fresh
# window 180 s) the newest batches are live data and the oldest a catch-up.
up, step = uplink_with(c, batch_max=10, upload_s=60, now_fn=lambda: T0 + 1800 + 100)
up.status_fn = lambda: {{"state": "online", "queue_depth": store.depth()}}
up.start("localhost", {broker.port}, True)
loop(step, lambda: store.depth() == 0 and up.statuses_acked == 1 and up.subscribed,
     what="everything acked")
out("sent", up.batches_sent)
out("acked", up.batches_acked)
out("records_acked", up.records_acked)
out("store_acked", store.acked)
out("live", up.publish_live(encode_live(DEV, [(1767227400000, {{"p_l1_w": 1200.0}})])))
loop(step, lambda: c._txn == 0, what="flush")
up.stop()
out("live_offline", up.publish_live(b"x"))
out("error", up.last_error)
"""
    )
    with NetBridge(ca_file=broker.cafile) as bridge:
        out = results(
            run_firmware(
                PRELUDE + script,
                fds={"net": bridge.fw_fd},
                env={"DEV_PASSWORD": broker.credentials(DEVICE).password},
            )
        )
    assert out["sent"] == out["acked"] == "3"
    assert out["records_acked"] == out["store_acked"] == "30"
    assert out["live"] == "True"
    assert out["live_offline"] == "False"
    assert out["error"] == "disconnected"

    received: dict[str, list[MQTTMessage]] = {
        topics.uplink(DEVICE): [],
        topics.status(DEVICE): [],
        topics.live(DEVICE): [],
    }
    for m in cloud.expect_messages(5):
        received[m.topic].append(m)
    got = [decode_batch(bytes(m.payload)) for m in received[topics.uplink(DEVICE)]]
    assert [b.records for b in got] == [[make(i) for i in range(k, k + 10)] for k in (0, 10, 20)]
    assert [b.historical for b in got] == [True, True, False]
    assert all(m.qos == 1 for m in received[topics.uplink(DEVICE)])
    (status,) = received[topics.status(DEVICE)]
    assert decode_status(bytes(status.payload)) == {"state": "online", "queue_depth": 30}
    (live,) = received[topics.live(DEVICE)]
    assert live.qos == 0
    assert decode_live(bytes(live.payload))[0] == DEVICE


def test_wrong_password_is_retried_with_backoff_and_never_crashes(
    mosquitto_tls: MosquittoTLS, tmp_path: Path
) -> None:
    broker = tls_broker(mosquitto_tls)
    script = (
        STORE
        + f"""
c = MqttClient(HostSocketTransport(), DEV, 30, DEV, "not-the-password")
bo = Backoff(min_ms=100, max_ms=800)
up, step = uplink_with(c, backoff=bo)
delays = []
def on_disconnect(reason, inner=c.on_disconnect):
    inner(reason)
    delays.append(bo.delay_ms)
c.on_disconnect = on_disconnect
up.start("localhost", {broker.port}, True)
loop(step, lambda: up.connect_failures >= 5, 30000, "five refusals")
out("failures", up.connect_failures)
out("error", up.last_error)
out("delays", delays)
out("turns", TURNS[0])
"""
    )
    with NetBridge(ca_file=broker.cafile) as bridge:
        out = results(run_firmware(PRELUDE + script, fds={"net": bridge.fw_fd}))
        attempts = len(bridge.opens)
    assert out["failures"] == "5"
    assert out["error"] in REFUSED_LOGIN
    delays = [int(d) for d in out["delays"].strip("[]").split(",")]
    # full jitter within a doubling window: [100, 200], [100, 400], [100, 800], ...
    for k, delay in enumerate(delays, start=1):
        assert 100 <= delay <= min(800, 100 << k)
    # one connection per refusal, not a tight loop; the loop kept turning
    assert attempts == 5
    assert int(out["turns"]) > 100


def test_blackhole_then_restore_resends_in_flight_and_loses_nothing(
    mosquitto: MosquittoBroker, mqtt_clients, tmp_path: Path
) -> None:
    cloud = cloud_client(mosquitto, mqtt_clients)
    total = 60
    script = (
        STORE
        + f"""
c = MqttClient(HostSocketTransport(), DEV, keepalive_s=2)
up, step = uplink_with(c, batch_max=5, upload_s=1, backoff=Backoff(200, 1000, 5000))
made = [0]
next_ms = [time.ticks_ms()]
def produce(now):
    # a record every 50 ms (a compressed minute) while the loop runs
    if made[0] < {total} and time.ticks_diff(now, next_ms[0]) >= 0:
        store.append(make(made[0]))
        made[0] += 1
        next_ms[0] = time.ticks_add(now, 50)
def run(now):
    produce(now)
    step(now)
up.start("127.0.0.1", {mosquitto.port}, False)
loop(run, lambda: up.batches_acked >= 1, what="a first batch")
out("up", 1)
wait_ctl(run, 1)  # the link is blackholed now
start_turns = TURNS[0]
loop(run, lambda: up.in_flight > 0, what="a batch into the void")
loop(run, lambda: not up.connected, 20000, "keep-alive to notice")
out("in_flight_records", len(up.in_flight_seqs()))
out("depth_at_down", store.depth())
out("acked_at_down", store.acked)
out("live_while_down", up.publish_live(b"late"))
out("error", up.last_error)
# no coverage for a while: reconnects fail, polling goes on
loop(run, lambda: up.connect_failures >= 2, 30000, "failed reconnects")
out("down", 1)
wait_ctl(run, 2)  # coverage is back
loop(run, lambda: made[0] == {total} and store.depth() == 0, 60000, "everything acked")
out("turns_while_down", TURNS[0] - start_turns)
out("made", made[0])
out("acked", store.acked)
out("connects", up.connects)
out("sent", up.batches_sent)
out("batches_acked", up.batches_acked)
"""
    )
    ctl = tmp_path / "ctl"
    with NetBridge() as bridge, firmware_on(script, bridge, ctl) as fw:
        wait_for(fw, "up")
        bridge.blackhole()
        signal(ctl)
        wait_for(fw, "down")
        bridge.restore()
        signal(ctl)
        out = finish(fw)
    assert out["error"].startswith("keep-alive")
    # Nothing left the store while its PUBACK could not come.
    assert int(out["in_flight_records"]) > 0
    assert int(out["depth_at_down"]) >= int(out["in_flight_records"])
    assert int(out["acked_at_down"]) + int(out["depth_at_down"]) <= total
    assert out["live_while_down"] == "False"
    assert int(out["turns_while_down"]) > 1000
    assert out["made"] == out["acked"] == str(total)
    assert int(out["connects"]) >= 2
    assert out["sent"] == out["batches_acked"]
    # Every record reached the cloud at least once, equal to what was stored.
    seen: dict[int, Record] = {}
    for batch in batches_until(cloud, total):
        for r in batch.records:
            assert r == make(r.seq - 1)
            seen[r.seq] = r
    assert sorted(seen) == list(range(1, total + 1))


def batches_until(
    cloud: MqttTestClient, total: int, timeout: float = 10.0, missing: frozenset[int] = frozenset()
) -> list[Batch]:
    """Batches received until every seq 1..total (but ``missing``) was seen, or the timeout."""
    want = set(range(1, total + 1)) - missing
    got: list[Batch] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got += batches(cloud)
        if {r.seq for b in got for r in b.records} >= want:
            break
        time.sleep(0.05)
    return got


def test_command_sent_while_offline_arrives_after_reconnect(
    mosquitto_tls: MosquittoTLS, mqtt_clients, tmp_path: Path
) -> None:
    broker = tls_broker(mosquitto_tls)
    cloud = cloud_client(broker, mqtt_clients)
    script = (
        STORE
        + f"""
c = MqttClient(HostSocketTransport(), DEV, 30, DEV, host.env("DEV_PASSWORD"))
up, step = uplink_with(c)
got = []
up.on_command = lambda payload, cmd, problem: got.append((cmd, problem))
up.start("localhost", {broker.port}, True)
loop(step, lambda: up.subscribed, what="subscribed")
out("subscribed", 1)
up.stop()  # clean disconnect: the broker keeps the session and queues for us
out("offline", c.state_name())
wait_ctl(step, 1)  # the cloud sends commands now
up.start("localhost", {broker.port}, True)
loop(step, lambda: len(got) == 2, what="the queued commands")
out("session_present", c.session_present)
for cmd, problem in got:
    out("cmd" if cmd else "problem", sorted(cmd.items()) if cmd else problem)
out("counts", (up.commands, up.bad_commands))
"""
    )
    ctl = tmp_path / "ctl"
    with (
        NetBridge(ca_file=broker.cafile) as bridge,
        firmware_on(
            script, bridge, ctl, env={"DEV_PASSWORD": broker.credentials(DEVICE).password}
        ) as fw,
    ):
        wait_for(fw, "offline")
        cmd = encode_command({"cmd": "live", "minutes": 5, "id": "c-1"})
        cloud.publish(topics.command(DEVICE), cmd, qos=1)
        cloud.publish(topics.command(DEVICE), b'{"cmd": "reboot"}', qos=1)
        signal(ctl)
        out = finish(fw)
    assert out["session_present"] == "True"
    assert out["cmd"] == "[('cmd', 'live'), ('id', 'c-1'), ('minutes', 5)]"
    assert out["problem"].startswith("unknown command 'reboot'")
    assert out["counts"] == "(1, 1)"


def test_drop_publishes_the_will_then_online_again(
    mosquitto: MosquittoBroker, mqtt_clients, tmp_path: Path
) -> None:
    cloud = cloud_client(mosquitto, mqtt_clients)
    script = (
        STORE
        + f"""
c = MqttClient(HostSocketTransport(), DEV, 30)
up, step = uplink_with(c, backoff=Backoff(100, 500))
up.status_fn = lambda: {{"state": "online", "connects": up.connects}}
reasons = []
def on_disconnect(reason, inner=c.on_disconnect):
    reasons.append(reason)
    inner(reason)
c.on_disconnect = on_disconnect
up.start("127.0.0.1", {mosquitto.port}, False)
loop(step, lambda: up.statuses_acked == 1, what="status")
out("online", 1)
wait_ctl(step, 1)  # the network resets the connection
loop(step, lambda: up.statuses_acked == 2, what="status again")
out("error", reasons[0])
out("connects", up.connects)
wait_ctl(step, 2)  # connected until the test has looked at the retained status
"""
    )
    ctl = tmp_path / "ctl"
    with NetBridge() as bridge, firmware_on(script, bridge, ctl) as fw:
        wait_for(fw, "online")
        first = cloud.expect_message()
        bridge.drop()
        signal(ctl)
        will = cloud.expect_message()
        again = cloud.expect_message()
        # retained: a portal that subscribes now learns the current state at once
        late = mqtt_clients(mosquitto, "portal")
        late.connect()
        late.subscribe(topics.status(DEVICE), qos=1)
        retained = late.expect_message()
        signal(ctl)
        out = finish(fw)
    assert out["error"].startswith("connection lost")
    assert decode_status(bytes(first.payload)) == {"state": "online", "connects": 1}
    assert will.topic == topics.status(DEVICE)
    assert will.retain is False  # delivered live to a subscriber
    assert decode_status(bytes(will.payload))["state"] == "offline"
    assert decode_status(bytes(again.payload)) == {"state": "online", "connects": 2}
    assert retained.retain
    assert decode_status(bytes(retained.payload)) == {"state": "online", "connects": 2}


def test_broker_restart_mid_upload(mosquitto: MosquittoBroker, mqtt_clients, tmp_path) -> None:
    # The cloud side keeps a persistent session too, so it misses nothing while
    # the broker restarts.
    cloud = cloud_client(mosquitto, mqtt_clients, clean_start=False)
    total = 40
    script = (
        STORE
        + f"""
c = MqttClient(HostSocketTransport(), DEV, keepalive_s=5)
up, step = uplink_with(c, batch_max=4, upload_s=1, backoff=Backoff(100, 1000, 5000))
made = [0]
next_ms = [time.ticks_ms()]
def run(now):
    if made[0] < {total} and time.ticks_diff(now, next_ms[0]) >= 0:
        store.append(make(made[0]))
        made[0] += 1
        next_ms[0] = time.ticks_add(now, 50)
    step(now)
up.start("127.0.0.1", {mosquitto.port}, False)
loop(run, lambda: up.batches_acked >= 1, what="a first batch")
out("up", 1)
wait_ctl(run, 1)  # the broker has restarted
loop(run, lambda: made[0] == {total} and store.depth() == 0, 60000, "everything acked")
out("acked", store.acked)
out("connects", up.connects)
out("disconnects", up.disconnects)
"""
    )
    ctl = tmp_path / "ctl"
    with NetBridge() as bridge, firmware_on(script, bridge, ctl) as fw:
        wait_for(fw, "up")
        got = batches(cloud)
        mosquitto.restart()
        signal(ctl)
        cloud.connect()
        out = finish(fw)
        got += batches_until(cloud, total)
    assert out["acked"] == str(total)
    assert int(out["connects"]) >= 2
    assert int(out["disconnects"]) >= 1
    seqs = {r.seq for b in got for r in b.records}
    assert seqs == set(range(1, total + 1))


def test_backoff_full_jitter_and_reset_only_after_a_stable_connection() -> None:
    script = """
import time
from firmware.backoff import Backoff
picks = []
def top(a, b):
    picks.append((a, b))
    return b  # the top of each window: the doubling shows
b = Backoff(min_ms=1000, max_ms=10000, stable_ms=60000, rand=top)
now = 1000
print("=first_ready", b.ready(now))
print("=delays", [b.failed(now) for _ in range(6)])
print("=windows", picks[:3])
print("=ready_early", b.ready(time.ticks_add(now, 9999)), b.ready(time.ticks_add(now, 10000)))
b.up(now)
print("=short_lived", b.failed(time.ticks_add(now, 5000)))  # dropped after 5 s: keeps growing
b.up(now)
print("=after_stable", b.failed(time.ticks_add(now, 60000)))  # stayed up a minute: from the floor
# ticks wrap: the schedule still holds across the wrap point
w = time.ticks_add(0, -500)
b2 = Backoff(min_ms=1000, max_ms=1000)
b2.failed(w)
print("=wrap", b2.ready(time.ticks_add(w, 999)), b2.ready(time.ticks_add(w, 1000)))
print("=real_jitter", all(1000 <= Backoff(1000, 8000).failed(0) <= 2000 for _ in range(50)))
"""
    out = results(run_firmware(script))
    assert out["first_ready"] == "True"
    assert out["delays"] == "[2000, 4000, 8000, 10000, 10000, 10000]"
    assert out["windows"] == "[(1000, 2000), (1000, 4000), (1000, 8000)]"
    assert out["ready_early"] == "False True"
    assert out["short_lived"] == "10000"
    assert out["after_stable"] == "2000"
    assert out["wrap"] == "False True"
    assert out["real_jitter"] == "True"


def test_with_the_flash_store_records_leave_only_after_their_puback(
    mosquitto: MosquittoBroker, mqtt_clients, tmp_path: Path
) -> None:
    """The same path with firmware/store.py on a (RAM) flash partition instead of the
    in-memory store: what the cloud decodes equals what was appended, and the
    store is empty only once every PUBACK came."""
    cloud = cloud_client(mosquitto, mqtt_clients)
    total = 45
    script = (
        STORE
        + f"""
from esp32 import Partition
from firmware.store import Store
flash = Store(Partition.ram(8, 4096))
for i in range({total}):
    flash.append(make(i))
c = MqttClient(HostSocketTransport(), DEV, 30)
up = Uplink(c, flash, DEV, batch_max=10, upload_s=3600)
sent_depth = []
def on_puback(pid, reason, inner=c.on_puback):
    sent_depth.append(flash.depth())  # before the uplink acks this batch
    inner(pid, reason)
c.on_puback = on_puback
up.start("127.0.0.1", {mosquitto.port}, False)
loop(up.step, lambda: flash.depth() == 0, what="everything acked")
out("depth_before_each_ack", sent_depth)
out("stats", (flash.stats["appended"], flash.stats["acked"]))
out("pending_after", len(flash.pending(100)))
out("batches", (up.batches_sent, up.batches_acked))
"""
    )
    with NetBridge() as bridge:
        out = results(run_firmware(PRELUDE + script, fds={"net": bridge.fw_fd}))
    assert out["depth_before_each_ack"] == "[45, 35, 25, 15, 5]"
    assert out["stats"] == "(45, 45)"
    assert out["pending_after"] == "0"
    assert out["batches"] == "(5, 5)"
    got = batches_until(cloud, total)
    assert [r for b in got for r in b.records] == [make(i) for i in range(total)]


def test_large_batches_are_split_and_a_poison_record_does_not_block_the_rest(
    mosquitto: MosquittoBroker, mqtt_clients, tmp_path: Path
) -> None:
    cloud = cloud_client(mosquitto, mqtt_clients)
    script = (
        STORE
        + f"""
for i in range(40):
    r = make(i)
    if i == 7:
        r.stats["u_l1_v"] = (float("nan"), 0.0, 0.0)  # can never be encoded
    store.append(r)
c = MqttClient(HostSocketTransport(), DEV, 30, max_packet=200)
up, step = uplink_with(c, batch_max=40, upload_s=3600)
up.start("127.0.0.1", {mosquitto.port}, False)
loop(step, lambda: store.depth() == 0, what="everything acked")
out("unsendable", up.unsendable)
out("error", up.last_error)
out("acked", up.records_acked)
"""
    )
    with NetBridge() as bridge:
        out = results(run_firmware(PRELUDE + script, fds={"net": bridge.fw_fd}))
    assert out["unsendable"] == "1"
    assert out["error"].startswith("record 8 cannot be sent")
    assert out["acked"] == "39"
    got = batches_until(cloud, 40, missing=frozenset({8}))
    assert {r.seq for b in got for r in b.records} == set(range(1, 41)) - {8}
    assert len(got) > 2  # split: one 40-record batch does not fit 200 bytes
    assert [r for b in got for r in b.records] == [make(i) for i in range(40) if i != 7]


def log_lines(stdout: str, event: str) -> list[dict[str, object]]:
    """The firmware.log lines (one JSON object each) of one event."""
    lines = [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]
    return [line for line in lines if line.get("ev") == event]


def test_publish_the_acl_refuses_keeps_the_records_and_the_pause_grows(
    mosquitto_tls: MosquittoTLS, mqtt_clients, tmp_path: Path
) -> None:
    """A module whose broker account may not write its uplink topic (its registry
    entry and its configuration disagree): the v5 PUBACK says 0x87, so nothing
    leaves the store, and uploads pause 5 s, then 10 s. (Mosquitto 2.0 also drops
    the connection after a refused publish; the status, which the account may
    write, still goes out after each reconnect.)"""
    broker = mosquitto_tls
    broker.extra_config = "require_certificate false"
    broker.log_debug = True  # Mosquitto logs a denied publish at debug level
    broker.add_user(
        "installer-7",
        "inst-secret",
        read=(topics.command(DEVICE),),
        write=(topics.status(DEVICE),),
    )
    broker.add_cloud_client("ingest")
    broker.start()
    cloud = cloud_client(broker, mqtt_clients)
    script = (
        STORE
        + f"""
for i in range(5):
    store.append(make(i))
c = MqttClient(HostSocketTransport(), DEV, 30, "installer-7", host.env("INST_PASSWORD"))
up, step = uplink_with(c, batch_max=10, backoff=Backoff(100, 500))
up.status_fn = lambda: {{"state": "online"}}
refused_at = []
def on_puback(pid, reason, inner=c.on_puback):
    inner(pid, reason)
    if up.batches_refused > len(refused_at):
        refused_at.append((time.ticks_ms(), up.paused_ms(time.ticks_ms()), up.last_error))
c.on_puback = on_puback
up.start("localhost", {broker.port}, True)
loop(step, lambda: up.batches_refused >= 2, 30000, "two refusals")
out("gap_ms", time.ticks_diff(refused_at[1][0], refused_at[0][0]))
out("pauses", [p for _, p, _ in refused_at])
out("error", refused_at[0][2])
out("next_pause", up.refused_pause_ms)
out("depth", store.depth())
out("store_acked", store.acked)
out("counts", (up.batches_sent, up.batches_acked, up.batches_refused, up.records_acked))
out("statuses_acked", up.statuses_acked)
out("refused", c.refused)
"""
    )
    with NetBridge(ca_file=broker.cafile) as bridge:
        stdout = run_firmware(
            PRELUDE + script, fds={"net": bridge.fw_fd}, env={"INST_PASSWORD": "inst-secret"}
        )
    out = results(stdout)
    # nothing left the store
    assert out["depth"] == "5"
    assert out["store_acked"] == "0"
    assert out["counts"] == "(2, 0, 2, 0)"
    assert out["refused"] == "2"
    assert out["error"] == "batch refused: not authorized (0x87)"
    # the second try came only after the first pause; the pause doubles
    assert int(out["gap_ms"]) >= 5000
    pauses = [int(p) for p in out["pauses"].strip("[]").split(",")]
    assert 4000 < pauses[0] <= 5000 and 9000 < pauses[1] <= 10000
    assert out["next_pause"] == "20000"
    assert int(out["statuses_acked"]) >= 2  # one per connection: status is allowed
    logged = log_lines(stdout, "uplink.batch_refused")
    assert [(e["reason"], e["records"], e["first_seq"], e["pause_s"]) for e in logged] == [
        ("not authorized (0x87)", 5, 1, 5),
        ("not authorized (0x87)", 5, 1, 10),
    ]
    assert "Denied PUBLISH from mye-0042" in broker.log_text()
    # the cloud got statuses but never a batch
    time.sleep(0.2)
    assert batches(cloud) == []


def test_no_subscriber_keeps_the_records_until_one_hears_them(
    mosquitto: MosquittoBroker, mqtt_clients, tmp_path: Path
) -> None:
    """PUBACK 0x10 "no matching subscribers" is a success code, but no ingest worker
    stored the batch: the records stay, and go out again after the pause, once an
    ingest client is subscribed."""
    script = (
        STORE
        + f"""
for i in range(7):
    store.append(make(i))
c = MqttClient(HostSocketTransport(), DEV, 30)
up, step = uplink_with(c, batch_max=10)
up.start("127.0.0.1", {mosquitto.port}, False)
loop(step, lambda: up.batches_refused == 1, what="the unheard batch")
out("kept", (store.depth(), store.acked, up.in_flight))
out("error", up.last_error)
out("paused", up.paused_ms(time.ticks_ms()) > 0)
wait_ctl(step, 1)  # an ingest client has subscribed
loop(step, lambda: store.depth() == 0, 30000, "everything acked")
out("counts", (up.batches_sent, up.batches_acked, up.batches_refused, up.records_acked))
out("next_pause", up.refused_pause_ms)
"""
    )
    ctl = tmp_path / "ctl"
    with NetBridge() as bridge, firmware_on(script, bridge, ctl) as fw:
        wait_for(fw, "paused")
        cloud = cloud_client(mosquitto, mqtt_clients)
        signal(ctl)
        out = finish(fw)
        stdout = fw.output()
    assert out["kept"] == "(7, 0, 0)"
    assert out["error"] == "no subscriber heard a batch: no matching subscribers (0x10)"
    assert out["paused"] == "True"
    assert out["counts"] == "(2, 1, 1, 7)"
    assert out["next_pause"] == "5000"  # back to the floor after an accepted batch
    (logged,) = log_lines(stdout, "uplink.batch_unheard")
    assert (logged["records"], logged["pause_s"]) == (7, 5)
    got = batches_until(cloud, 7)
    assert [r for b in got for r in b.records] == [make(i) for i in range(7)]
