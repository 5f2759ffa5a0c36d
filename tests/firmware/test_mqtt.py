"""firmware.mqtt on real MicroPython against a real Mosquitto (through the network bridge).

The firmware runs on the WebAssembly port under Node; its transport is the
``hostsocket`` shim, and tests/firmware/netbridge.py relays the stream to the
broker, where it can also cut, blackhole or refuse the link. A paho-mqtt client
on the other side sees what the firmware publishes and sends what it receives.

Scripts report with ``=key value`` lines; a test that has to act in the middle
of a script (cut the link, publish while the device is offline) waits for a line
and then appends a byte to the control file ``ctl`` (a harness disk) that the
script polls with ``wait_ctl(n)``, stepping the client all the while.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.firmware.harness import FirmwareProcess, results, run_firmware, start_firmware
from tests.firmware.netbridge import NetBridge
from tests.fixtures.mosquitto import MosquittoBroker, MosquittoTLS

pytestmark = pytest.mark.micropython

DEVICE = "mye-0042"
# Mosquitto 2.0 answers a wrong password with 0x87; 0x86 is the code the spec
# suggests: either is a refusal in words with its code.
REFUSED_LOGIN = {"refused: not authorized (0x87)", "refused: bad user name or password (0x86)"}

# Helpers every script starts with. ``loop`` is the main loop of the tests: it
# calls ``step(now)`` every turn (about every 2 ms, as the firmware's loop does)
# until ``until()`` holds, and counts the turns, so a test can show that the loop
# went on while the link was down.
PRELUDE = """
import time, host
from hostsocket import HostSocketTransport
from firmware.mqtt import MqttClient
from firmware import transport as tr

TURNS = [0]

def out(key, value):
    print("=%s %s" % (key, value))

def ctl_count():
    n = host.disk_size("ctl")
    return n if n > 0 else 0

def loop(step, until, limit_ms=60000, what="condition"):
    t0 = time.ticks_ms()
    while not until():
        now = time.ticks_ms()
        step(now)
        TURNS[0] += 1
        if time.ticks_diff(now, t0) > limit_ms:
            raise Exception("timed out waiting for " + what)
        host.sleep_ms(2)

def wait_ctl(step, n, limit_ms=60000):
    loop(step, lambda: ctl_count() >= n, limit_ms, "control byte %d" % n)

def on_ack(pids, reasons=None):
    # an on_puback(pid, reason) keeping the packet ids (and the reason codes)
    def cb(pid, reason):
        pids.append(pid)
        if reasons is not None:
            reasons.append(reason)
    return cb
"""


@contextmanager
def firmware_on(
    script: str, bridge: NetBridge, ctl: Path, env: dict[str, str] | None = None
) -> Iterator[FirmwareProcess]:
    """A running firmware script with the bridge as ``net`` and ``ctl`` as a disk."""
    ctl.touch()
    with start_firmware(
        PRELUDE + script, fds={"net": bridge.fw_fd}, disks={"ctl": ctl}, env=env
    ) as fw:
        yield fw


def wait_line(fw: FirmwareProcess, key: str, timeout: float = 60.0) -> str:
    """Wait until the script printed ``=key ...``; its value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = results(fw.output())
        if key in got:
            return got[key]
        if fw.proc.poll() is not None:
            pytest.fail(f"script ended before ={key}:\n{fw.errors()}\n{fw.output()[-3000:]}")
        time.sleep(0.02)
    pytest.fail(f"no ={key} within {timeout}s:\n{fw.output()[-3000:]}")


def signal(ctl: Path) -> None:
    """Let a script waiting in ``wait_ctl`` go on (one more control byte)."""
    with ctl.open("ab") as f:
        f.write(b"x")


def finish(fw: FirmwareProcess, timeout: float = 60.0) -> dict[str, str]:
    """Wait for the script's end; its results (pytest.fail if it raised)."""
    try:
        code = fw.wait(timeout)
    except subprocess.TimeoutExpired:
        pytest.fail(f"script still running after {timeout}s:\n{fw.output()[-3000:]}")
    if code != 0:
        pytest.fail(f"script failed ({code}):\n{fw.errors()}\n{fw.output()[-3000:]}")
    return results(fw.output())


def tls_broker(broker: MosquittoTLS, device_password: str = "dev-secret") -> MosquittoTLS:
    """The TLS fixture as production runs it: password per device, no client
    certificate required (docs/broker-security.md, ``require_certificate false``);
    the device and a cloud client added, then started."""
    broker.extra_config = "require_certificate false"
    broker.add_device(DEVICE, device_password)
    broker.add_cloud_client("ingest")
    broker.start()
    return broker


# -- tests ------------------------------------------------------------------------


def test_connect_publish_qos1_and_puback(
    mosquitto: MosquittoBroker, mqtt_clients, tmp_path
) -> None:
    sub = mqtt_clients(mosquitto, "watcher")
    sub.connect()
    sub.subscribe("t/#", qos=1)
    script = f"""
c = MqttClient(HostSocketTransport(), "fw-1", keepalive_s=30)
acked = []
reasons = []
c.on_puback = on_ack(acked, reasons)
c.connect("127.0.0.1", {mosquitto.port}, False)
loop(c.step, lambda: c.connected, what="connack")
out("session_present", c.session_present)
payload = bytes(range(256)) * 8
pid = c.publish("t/one", payload, 1, False)
out("pid", pid)
loop(c.step, lambda: pid in acked, what="puback")
out("acked", acked)
out("reasons", reasons)
out("in_flight", c.in_flight)
q0 = c.publish("t/zero", b"qos0", 0, False)
out("q0", q0)
loop(c.step, lambda: c._txn == 0, what="flush")
c.disconnect()
out("state", c.state_name())
"""
    with NetBridge() as bridge:
        out = results(run_firmware(PRELUDE + script, fds={"net": bridge.fw_fd}))
    assert out["session_present"] == "False"
    assert out["acked"] == f"[{out['pid']}]"
    assert out["reasons"] == "[0]"  # success: the watcher is subscribed
    assert out["in_flight"] == "0"
    assert out["q0"] == "0"
    assert out["state"] == "idle"
    m1 = sub.expect_message()
    assert (m1.topic, m1.qos, m1.payload) == ("t/one", 1, bytes(range(256)) * 8)
    m2 = sub.expect_message()
    assert (m2.topic, m2.payload) == ("t/zero", b"qos0")


def test_tls_per_device_login_and_wrong_password(
    mosquitto_tls: MosquittoTLS, mqtt_clients, tmp_path
) -> None:
    broker = tls_broker(mosquitto_tls)
    cloud = mqtt_clients(broker, "ingest", credentials=broker.credentials("ingest"))
    cloud.connect()
    cloud.subscribe("myenergy/v1/+/up", qos=1)
    script = f"""
def attempt(password):
    c = MqttClient(HostSocketTransport(), "{DEVICE}", 30, "{DEVICE}", password)
    c.connect("localhost", {broker.port}, True)
    loop(c.step, lambda: c.connected or c.state == 0, what="connack or refusal")
    return c
bad = attempt("wrong")
out("bad_state", bad.state_name())
out("bad_error", bad.error)
good = attempt(host.env("DEV_PASSWORD"))
out("good_state", good.state_name())
acked = []
good.on_puback = on_ack(acked)
pid = good.publish("myenergy/v1/{DEVICE}/up", b"over tls", 1, False)
loop(good.step, lambda: pid in acked, what="puback")
good.disconnect()
out("done", 1)
"""
    with NetBridge(ca_file=broker.cafile) as bridge:
        out = results(
            run_firmware(
                PRELUDE + script,
                fds={"net": bridge.fw_fd},
                env={"DEV_PASSWORD": broker.credentials(DEVICE).password},
            )
        )
        assert [tls for _, _, tls in bridge.opens] == [True, True]
    assert out["bad_state"] == "idle"
    assert out["bad_error"] in REFUSED_LOGIN
    assert out["good_state"] == "connected"
    assert out["done"] == "1"
    m = cloud.expect_message()
    assert (m.topic, m.payload) == (f"myenergy/v1/{DEVICE}/up", b"over tls")
    # The password never reaches the output.
    assert broker.credentials(DEVICE).password not in out.values()


def test_blackhole_is_noticed_by_keepalive_and_the_loop_goes_on(
    mosquitto: MosquittoBroker, mqtt_clients, tmp_path: Path
) -> None:
    """A silent link is found dead by the keep-alive while the loop keeps turning; the
    publish that went into the void is sent again with DUP and its packet id after the
    reconnect, and acknowledged under that id."""
    sub = mqtt_clients(mosquitto, "watcher")
    sub.connect()
    sub.subscribe("t/#", qos=1)
    script = f"""
class Recording(HostSocketTransport):
    # remembers the first byte and packet id of every PUBLISH it is handed
    publishes = []
    def send(self, data):
        n = HostSocketTransport.send(self, data)
        head = bytes(data[:n])
        if n and head[0] & 0xF0 == 0x30 and head[0] & 0x06:
            tlen = (head[2] << 8) | head[3]
            at = 4 + tlen
            Recording.publishes.append((head[0], (head[at] << 8) | head[at + 1]))
        return n

c = MqttClient(Recording(), "fw-ka", keepalive_s=2)
acked = []
c.on_puback = on_ack(acked)
c.connect("127.0.0.1", {mosquitto.port}, False)
loop(c.step, lambda: c.connected, what="connack")
out("connected", 1)
wait_ctl(c.step, 1)  # the test blackholes the link
start = TURNS[0]
pid = c.publish("t/lost", b"into the void", 1, False)
t0 = time.ticks_ms()
loop(c.step, lambda: not c.connected, 20000, "keep-alive to notice")
out("noticed_ms", time.ticks_diff(time.ticks_ms(), t0))
out("turns", TURNS[0] - start)
out("error", c.error)
out("in_flight", c.in_flight)
out("down", 1)
wait_ctl(c.step, 2)  # coverage is back
c.connect("127.0.0.1", {mosquitto.port}, False)
loop(c.step, lambda: pid in acked, 20000, "the resent publish acknowledged")
out("session_present", c.session_present)
out("sent", [(hex(first), p) for first, p in Recording.publishes])
out("pid", pid)
out("in_flight_after", c.in_flight)
"""
    ctl = tmp_path / "ctl"
    with NetBridge() as bridge, firmware_on(script, bridge, ctl) as fw:
        wait_line(fw, "connected")
        bridge.blackhole()
        signal(ctl)
        wait_line(fw, "down")
        bridge.restore()
        signal(ctl)
        out = finish(fw)
    assert out["error"].startswith("keep-alive: no reply")
    # Detected after one keep-alive period of silence (then the PINGREQ) plus one
    # more for its reply; the upper bound is only a safety net for a slow machine.
    assert 2000 <= int(out["noticed_ms"]) <= 12000
    assert int(out["turns"]) > 100
    assert out["in_flight"] == "1"  # kept for the next connection
    pid = int(out["pid"])
    assert out["session_present"] == "True"
    # first the original (QoS 1, no DUP), then the resend: DUP set, same packet id
    assert out["sent"] == str([("0x32", pid), ("0x3a", pid)])
    assert out["in_flight_after"] == "0"
    m = sub.expect_message()
    assert (m.topic, m.payload) == ("t/lost", b"into the void")


def test_send_buffer_survives_a_transport_taking_a_few_bytes_at_a_time(
    mosquitto: MosquittoBroker, mqtt_clients, tmp_path
) -> None:
    sub = mqtt_clients(mosquitto, "watcher")
    sub.connect()
    sub.subscribe("t/#", qos=1)
    script = f"""
class Trickle(HostSocketTransport):
    # A modem that takes at most 7 bytes per call (and nothing every other call).
    calls = 0
    def send(self, data):
        Trickle.calls += 1
        if Trickle.calls % 2:
            return 0
        return HostSocketTransport.send(self, bytes(data[:7]))

c = MqttClient(Trickle(), "fw-trickle", 30, max_packet=1024)
acked = []
c.on_puback = on_ack(acked)
c.connect("127.0.0.1", {mosquitto.port}, False)
loop(c.step, lambda: c.connected, what="connack")
pids = []
n = 0
while len(pids) < 5:
    pid = c.publish("t/%d" % n, bytes([n]) * 900, 1, False)
    if pid is None:
        c.step(time.ticks_ms())  # the buffer holds about one: wait for room
        host.sleep_ms(1)
        continue
    pids.append(pid)
    n += 1
loop(c.step, lambda: len(acked) == 5, what="pubacks")
out("acked", sorted(acked) == sorted(pids))
try:
    c.publish("t/big", bytes(2000), 1, False)
except ValueError as exc:
    out("too_big", exc)
"""
    with NetBridge() as bridge:
        out = results(run_firmware(PRELUDE + script, fds={"net": bridge.fw_fd}))
    assert out["acked"] == "True"
    assert out["too_big"].startswith("publish of 2")
    got = sub.expect_messages(5)
    assert [(m.topic, m.payload) for m in got] == [(f"t/{n}", bytes([n]) * 900) for n in range(5)]


def test_incoming_qos1_is_acknowledged_after_the_callback(
    mosquitto: MosquittoBroker, mqtt_clients, tmp_path
) -> None:
    """The first run dies inside on_message (a reset while handling a command):
    no PUBACK went out, so the broker delivers the message again to the next run."""
    cloud = mqtt_clients(mosquitto, "cloud")
    cloud.connect()
    first = f"""
c = MqttClient(HostSocketTransport(), "fw-cb", 30)
subs = []
c.on_suback = lambda pid, granted: subs.append(granted)
def crash(topic, payload):
    out("got", payload.decode())
    raise SystemExit  # power cut in the middle of handling it
c.on_message = crash
c.connect("127.0.0.1", {mosquitto.port}, False)
loop(c.step, lambda: c.connected, what="connack")
c.subscribe("cmd/fw-cb", 1)
loop(c.step, lambda: subs, what="suback")
out("granted", subs[0])
loop(c.step, lambda: False, 30000, "a message")
"""
    second = f"""
c = MqttClient(HostSocketTransport(), "fw-cb", 30)
got = []
c.on_message = lambda topic, payload: got.append((topic, payload))
c.connect("127.0.0.1", {mosquitto.port}, False)
loop(c.step, lambda: c.connected, what="connack")
out("session_present", c.session_present)
loop(c.step, lambda: got, what="redelivery")
out("got", got)
# acknowledged this time: a third connection gets nothing
end = time.ticks_add(time.ticks_ms(), 300)
loop(c.step, lambda: time.ticks_diff(time.ticks_ms(), end) > 0)
c.disconnect()
c.connect("127.0.0.1", {mosquitto.port}, False)
loop(c.step, lambda: c.connected, what="connack")
end = time.ticks_add(time.ticks_ms(), 1000)
loop(c.step, lambda: time.ticks_diff(time.ticks_ms(), end) > 0)
out("after", got[1:])
"""
    ctl = tmp_path / "ctl"
    with NetBridge() as bridge, firmware_on(first, bridge, ctl) as fw:
        assert wait_line(fw, "granted") == "1"
        cloud.publish("cmd/fw-cb", b"do it", qos=1)
        assert wait_line(fw, "got") == "do it"
        fw.wait(30)
    with NetBridge() as bridge:
        out = results(run_firmware(PRELUDE + second, fds={"net": bridge.fw_fd}))
    assert out["session_present"] == "True"
    assert out["got"] == "[('cmd/fw-cb', b'do it')]"
    assert out["after"] == "[]"


def test_oversized_incoming_message_is_skipped_and_acknowledged(
    mosquitto: MosquittoBroker, mqtt_clients, tmp_path
) -> None:
    cloud = mqtt_clients(mosquitto, "cloud")
    cloud.connect()
    script = f"""
c = MqttClient(HostSocketTransport(), "fw-big", 30, rx_size=256)
got = []
c.on_message = lambda topic, payload: got.append((topic, len(payload)))
subs = []
c.on_suback = lambda pid, granted: subs.append(granted)
c.connect("127.0.0.1", {mosquitto.port}, False)
loop(c.step, lambda: c.connected, what="connack")
c.subscribe("in/#", 1)
loop(c.step, lambda: subs, what="suback")
out("subscribed", 1)
loop(c.step, lambda: len(got) == 2, what="the small ones")
out("got", got)
out("dropped", c.dropped)
out("state", c.state_name())
c.disconnect()
c.connect("127.0.0.1", {mosquitto.port}, False)
loop(c.step, lambda: c.connected, what="connack")
end = time.ticks_add(time.ticks_ms(), 1000)
loop(c.step, lambda: time.ticks_diff(time.ticks_ms(), end) > 0)
out("redelivered", got[2:])
"""
    ctl = tmp_path / "ctl"
    with NetBridge() as bridge, firmware_on(script, bridge, ctl) as fw:
        wait_line(fw, "subscribed")
        cloud.publish("in/a", b"x" * 10, qos=1)
        cloud.publish("in/big", b"y" * 5000, qos=1)  # larger than the 256-byte buffer
        cloud.publish("in/b", b"z" * 200, qos=1)
        out = finish(fw)
    assert out["got"] == "[('in/a', 10), ('in/b', 200)]"
    assert out["dropped"] == "1"
    assert out["state"] == "connected"
    assert out["redelivered"] == "[]"


def test_session_expiry_keeps_the_session_offline_and_then_ends_it(
    mosquitto: MosquittoBroker, mqtt_clients, tmp_path: Path
) -> None:
    """MQTT 5 ends a session at the disconnect unless the CONNECT asked for an
    expiry: with the default (the agent's 7 days) a command sent while the device
    is away is queued and arrives after the reconnect; with 1 s the broker has
    forgotten the session 3 s later."""
    cloud = mqtt_clients(mosquitto, "cloud")
    cloud.connect()
    script = f"""
c = MqttClient(HostSocketTransport(), "fw-exp", 30)
out("expiry", c.session_expiry_s)
subs = []
got = []
c.on_suback = lambda pid, granted: subs.append(granted)
c.on_message = lambda topic, payload: got.append(payload)
def connected():
    c.connect("127.0.0.1", {mosquitto.port}, False)
    loop(c.step, lambda: c.connected, what="connack")
connected()
c.subscribe("cmd/fw-exp", 1)
loop(c.step, lambda: subs, what="suback")
c.disconnect()
out("offline", 1)
wait_ctl(c.step, 1)  # the cloud sent a command meanwhile
connected()
out("present", c.session_present)
loop(c.step, lambda: got, what="the queued command")
out("got", got)
c.disconnect()
c.session_expiry_s = 1  # from this connection on
connected()
c.disconnect()
end = time.ticks_add(time.ticks_ms(), 3000)
loop(c.step, lambda: time.ticks_diff(time.ticks_ms(), end) > 0)
connected()
out("present_after_expiry", c.session_present)
c.disconnect()
"""
    ctl = tmp_path / "ctl"
    with NetBridge() as bridge, firmware_on(script, bridge, ctl) as fw:
        wait_line(fw, "offline")
        assert cloud.publish("cmd/fw-exp", b"while away", qos=1).value == 0
        signal(ctl)
        out = finish(fw)
    assert out["expiry"] == str(7 * 24 * 3600)
    assert out["present"] == "True"
    assert out["got"] == "[b'while away']"
    assert out["present_after_expiry"] == "False"
    # the broker saw MQTT 5 (p5) with Clean Start 0 (c0)
    assert "as fw-exp (p5, c0, k30)" in mosquitto.log_text()


def test_connack_refusal_and_unreachable_broker_are_errors_not_exceptions(
    mosquitto_factory, tmp_path
) -> None:
    broker = mosquitto_factory(extra_config="")
    port = broker.port
    broker.stop()
    script = f"""
c = MqttClient(HostSocketTransport(), "fw-down", 30)
c.connect("127.0.0.1", {port}, False)
loop(c.step, lambda: c.state == 0, what="failure")
out("error", c.error)
c.connect("example.com", 1883, False)
loop(c.step, lambda: c.state == 0, what="failure")
out("error2", c.error)
"""
    with NetBridge() as bridge:
        out = results(run_firmware(PRELUDE + script, fds={"net": bridge.fw_fd}))
    assert "refused" in out["error"].lower()
    assert out["error2"] == "bridge reaches loopback only"


# A transport that plays a byte stream (one byte per recv call: every packet
# arrives split at every byte) and records what the client sends; ``budget``
# bytes at most are taken. For protocol corners no broker produces on demand.
SCRIPTED = """
from firmware.transport import Transport, OPEN, CLOSED
from firmware.mqtt import MqttClient

class Scripted(Transport):
    def __init__(self, feed, budget=1 << 30):
        super().__init__()
        self.feed = feed
        self.budget = budget
        self.sent = b""
    def open(self, host, port, tls):
        self.state = OPEN
    def poll(self):
        pass
    def send(self, data):
        n = min(len(data), self.budget)
        self.budget -= n
        self.sent += bytes(data[:n])
        return n
    def recv(self, limit):
        out, self.feed = self.feed[:1], self.feed[1:]
        return out
    def close(self):
        self.state = CLOSED

def u16(v):
    return bytes([v >> 8, v & 255])

def packet(first, body):
    return bytes([first, len(body)]) + body

def publish(topic, payload, pid, props=b""):
    return packet(0x32, u16(len(topic)) + topic + u16(pid) + bytes([len(props)]) + props + payload)

def run(c, turns):
    for i in range(turns):
        c.step(i)

connack = b"\\x20\\x03\\x01\\x00\\x00"  # session present, success, no properties
"""


def test_parser_byte_by_byte_owed_pubacks_in_order_and_garbage() -> None:
    """Protocol corners no broker produces on demand, against a scripted byte stream:
    packets split at every byte (with properties to skip), PUBACKs owed while the
    send buffer is full go out later and in order, malformed input and refusals
    close the connection with a reason."""
    script = (
        SCRIPTED
        + """
# properties of an incoming PUBLISH: Message Expiry Interval, a User Property
props = b"\\x02\\x00\\x00\\x00\\x3c\\x26\\x00\\x01k\\x00\\x02vv"
feed = connack + publish(b"a", b"one", 7, props) + publish(b"b", b"two", 8) + b"\\xd0\\x00"
t = Scripted(feed)
c = MqttClient(t, "x", 60)
got = []
c.on_message = lambda topic, payload: got.append((topic, payload))
c.connect("h", 1, False)
run(c, 200)
print("=fragments", got, c.session_present, c.state_name())
print("=pubacks", t.sent[-8:] == b"\\x40\\x02\\x00\\x07\\x40\\x02\\x00\\x08")

# A stalled link: publishes fill the send buffer up to its reserve, which then
# holds 16 or so PUBACKs; further messages wait unhandled (their PUBACK must follow
# their callback) until bytes move again, then all are acknowledged in order.
t = Scripted(connack, budget=0)
c = MqttClient(t, "x", 60, max_packet=100)
got = []
c.on_message = lambda topic, payload: got.append(payload)
c.connect("h", 1, False)
run(c, 20)
while c.publish("q", b"z" * 10, 0, False) is not None:
    pass
t.feed = b"".join(publish(b"c", b"%d" % pid, pid) for pid in range(1, 21))
run(c, 400)
print("=stalled", len(got))
t.budget = 1 << 30
run(c, 400)
print("=flowing", len(got), got == [b"%d" % pid for pid in range(1, 21)])
acks = b"".join(b"\\x40\\x02\\x00" + bytes([pid]) for pid in range(1, 21))
print("=in_order", t.sent.endswith(acks))

GARBAGE = (
    ("length", b"\\x30\\xff\\xff\\xff\\xff\\x01"),  # a 5-byte remaining length
    ("qos2", b"\\x34\\x06\\x00\\x01t\\x00\\x01\\x00"),
    ("props", b"\\x30\\x05\\x00\\x01t\\x09x"),  # properties longer than the packet
)
for name, bad in GARBAGE:
    t = Scripted(connack + bad)
    c = MqttClient(t, "x", 60)
    c.connect("h", 1, False)
    run(c, 100)
    print("=" + name, c.state_name(), c.error)

# CONNACK refusals: v5 reason codes; 1 is a 3.1.1 broker's "unacceptable protocol
# version" (it does not know v5); a Reason String property is added to the words.
for code in (1, 0x84, 0x86, 0x87, 0x88, 0x8A, 0x8C, 0xF0):
    c = MqttClient(Scripted(bytes([0x20, 3, 0, code, 0])), "x", 60)
    c.connect("h", 1, False)
    run(c, 10)
    print("=code%02x %s" % (code, c.error))
c = MqttClient(Scripted(packet(0x20, b"\\x00\\x87\\x07\\x1f\\x00\\x04nope")), "x", 60)
c.connect("h", 1, False)
run(c, 30)
print("=reason_string", c.error)
"""
    )
    out = results(run_firmware(script))
    assert out["fragments"] == "[('a', b'one'), ('b', b'two')] True connected"
    assert out["pubacks"] == "True"
    # the reserve (and what the publishes left) holds a few PUBACKs, not all 20
    assert 16 <= int(out["stalled"]) < 20
    assert out["flowing"] == "20 True"
    assert out["in_order"] == "True"
    assert out["length"] == "idle protocol error: bad remaining length"
    assert out["qos2"] == "idle protocol error: QoS 2 publish"
    assert out["props"] == "idle protocol error: malformed PUBLISH"
    assert out["code01"] == "refused: unacceptable protocol version (the broker lacks MQTT 5)"
    assert out["code84"] == "refused: unsupported protocol version (0x84)"
    assert out["code86"] == "refused: bad user name or password (0x86)"
    assert out["code87"] == "refused: not authorized (0x87)"
    assert out["code88"] == "refused: server unavailable (0x88)"
    assert out["code8a"] == "refused: banned (0x8a)"
    assert out["code8c"] == "refused: bad authentication method (0x8c)"
    assert out["codef0"] == "refused: reason 0xf0"
    assert out["reason_string"] == "refused: not authorized (0x87): nope"


def _connect_packet(
    flags: int, props: bytes, will: tuple[bytes, bytes] | None, login: tuple[bytes, bytes] | None
) -> bytes:
    """The CONNECT the spec prescribes (MQTT 5 section 3.1), built independently here."""

    def s(b: bytes) -> bytes:
        return len(b).to_bytes(2, "big") + b

    body = s(b"MQTT") + bytes([5, flags]) + (60).to_bytes(2, "big") + bytes([len(props)]) + props
    body += s(b"dev-1")
    if will is not None:
        body += b"\x00" + s(will[0]) + s(will[1])  # no will properties
    if login is not None:
        body += s(login[0]) + s(login[1])
    return bytes([0x10, len(body)]) + body


def test_v5_packets_connect_puback_reasons_broker_limits_suback_disconnect() -> None:
    """The MQTT 5 packets byte for byte against a scripted stream: the CONNECT with
    its Session Expiry Interval, PUBACK reason codes in all their encodings, the
    CONNACK's Receive Maximum / Server Keep Alive / Maximum Packet Size obeyed, a
    resend the broker's limit forbids answered with 0x95, SUBACK reason codes and a
    DISCONNECT from the broker."""
    script = (
        SCRIPTED
        + """
t = Scripted(b"")
c = MqttClient(t, "dev-1", 60, "u", "pw", will=("w/t", b"wp", 1, True))
c.connect("h", 1, False)
run(c, 3)
print("=connect", t.sent.hex())
t = Scripted(b"")
c = MqttClient(t, "dev-1", 60, clean_start=True, session_expiry_s=0)
c.connect("h", 1, False)
run(c, 3)
print("=connect_clean", t.sent.hex())

# the broker's limits: Receive Maximum 2, Server Keep Alive 5 s, Maximum Packet Size 200
limits = b"\\x21\\x00\\x02\\x13\\x00\\x05\\x27\\x00\\x00\\x00\\xc8"
t = Scripted(packet(0x20, b"\\x00\\x00" + bytes([len(limits)]) + limits))
c = MqttClient(t, "x", 60)
acks = []
c.on_puback = lambda pid, reason: acks.append((pid, reason))
c.connect("h", 1, False)
run(c, 40)
print("=limits", c.state_name(), c.send_quota, c.keepalive_used, c.packet_limit)
p1 = c.publish("t", b"1", 1)
p2 = c.publish("t", b"2", 1)
print("=window", c.publish("t", b"3", 1))  # the broker allows 2 in flight
try:
    c.publish("t", bytes(300), 0)
except ValueError as exc:
    print("=too_large", exc)
# PUBACK: reason omitted (0), a bare reason code, reason and empty properties, and
# reason with a Reason String
t.feed = packet(0x40, u16(p1)) + packet(0x40, u16(p2) + b"\\x87")
run(c, 40)
p3 = c.publish("t", b"3", 1)
p4 = c.publish("t", b"4", 1)
t.feed = packet(0x40, u16(p3) + b"\\x10\\x00")
t.feed += packet(0x40, u16(p4) + b"\\x97\\x07\\x1f\\x00\\x04full")
run(c, 60)
print("=acks", [(pid - p1, reason) for pid, reason in acks], c.refused, c.in_flight)
# SUBACK: properties, then the reason code (granted QoS, or refused)
subs = []
c.on_suback = lambda pid, granted: subs.append(granted)
s1 = c.subscribe("a", 1)
s2 = c.subscribe("b", 1)
t.feed = packet(0x90, u16(s1) + b"\\x00\\x01")
t.feed += packet(0x90, u16(s2) + b"\\x06\\x1f\\x00\\x03acl\\x87")
run(c, 60)
print("=subacks", subs)
print("=subscribe_bytes", t.sent[-10:].hex())
# a DISCONNECT from the broker, with a reason and a Reason String
gone = []
c.on_disconnect = gone.append
t.feed = packet(0xE0, b"\\x8e\\x0a\\x1f\\x00\\x07evicted")
run(c, 30)
print("=disconnect", c.state_name(), gone)

# A resend after a reconnect: the new broker's Maximum Packet Size (200) is smaller
# than one of the two publishes left in flight: that one is answered with 0x95 here,
# the other goes out again (DUP: the session was kept) under its packet id.
t = Scripted(connack)
c = MqttClient(t, "x", 60)
acks = []
c.on_puback = lambda pid, reason: acks.append((pid, reason))
c.connect("h", 1, False)
run(c, 20)
big = c.publish("t", bytes(300), 1)
small = c.publish("t", b"s", 1)
run(c, 5)
t.state = CLOSED  # the link dies before the PUBACKs
run(c, 2)
print("=lost", c.state_name(), c.in_flight)
t.feed = packet(0x20, b"\\x01\\x00\\x05\\x27\\x00\\x00\\x00\\xc8")
t.sent = b""
c.connect("h", 1, False)
run(c, 40)
print("=resend", acks == [(big, 0x95)], c.in_flight, t.sent[-9:].hex(), small)
"""
    )
    out = results(run_firmware(script))
    will_login = 0x80 | 0x40 | 0x20 | 0x08 | 0x04  # user, password, will retain, QoS 1, will
    expiry = b"\x11" + (7 * 24 * 3600).to_bytes(4, "big")  # the agent's SESSION_EXPIRY_S
    want = _connect_packet(will_login, expiry, (b"w/t", b"wp"), (b"u", b"pw"))
    assert out["connect"] == want.hex()
    assert out["connect_clean"] == _connect_packet(0x02, b"", None, None).hex()
    assert out["limits"] == "connected 2 5 200"
    assert out["window"] == "None"
    assert out["too_large"] == "publish of 307 bytes exceeds the broker's maximum packet size 200"
    assert out["acks"] == f"[(0, 0), (1, {0x87}), (2, {0x10}), (3, {0x97})] 2 0"
    assert out["subacks"] == f"[1, {0x87}]"
    # SUBSCRIBE "b": packet id 6 (after four publishes and "a"), no properties, the
    # filter, options = QoS 1
    assert out["subscribe_bytes"].endswith("8207" + "0006" + "00" + "000162" + "01")
    assert out["disconnect"] == (
        "idle ['disconnected by the broker: session taken over (0x8e): evicted']"
    )
    assert out["lost"] == "idle 2"
    # PUBLISH QoS 1 + DUP, remaining length 7: topic "t", the packet id, no properties, "s"
    resend, in_flight, tail, small = out["resend"].split()
    assert (resend, in_flight) == ("True", "1")
    assert tail == "3a07" + "000174" + f"{int(small):04x}" + "00" + "73"
