"""firmware.net_modem.ModemTransport on real MicroPython, through the simulated modem,
to real TCP servers on loopback: an echo server, Mosquitto, Mosquitto over TLS."""

from __future__ import annotations

import socket
import struct
import threading
from collections.abc import Iterator

import pytest

from tests.firmware.harness import results, run_firmware, start_firmware
from tests.firmware.test_modem import PRELUDE, modem_wiring, wait_for
from tests.fixtures.mosquitto import MosquittoBroker, MosquittoTLS
from tests.fixtures.tls import make_ca

pytestmark = pytest.mark.micropython

TRANSPORT = (
    PRELUDE
    + """
from firmware.net_modem import ModemTransport
from firmware.transport import CLOSED, OPEN, OPENING
import binascii

m = Modem(uart, "apn", **OPTIONS)
assert run_until(m, lambda: m.ready, 20000), m.error
t = ModemTransport(m, TLS_FILES)

def connect(host_name, port, tls):
    t.open(host_name, port, tls)
    run_until(m, lambda: t.state != OPENING, 30000, (t,))
    return t.state == OPEN

def exchange(payload, want, ms=30000):
    state = {"sent": 0}
    got = bytearray()
    def pump():
        if state["sent"] < len(payload):
            state["sent"] += t.send(payload[state["sent"]:state["sent"] + 1500])
        got.extend(t.recv(2048))
        return len(got) >= want or t.state != OPEN
    run_until(m, pump, ms, (t,))
    return bytes(got)
"""
)


class EchoServer:
    """Echoes every byte; with ``close_after`` it closes once it echoed that many."""

    def __init__(self, close_after: int | None = None) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.close_after = close_after
        self.received = 0
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                while True:
                    data = conn.recv(4096)
                    if not data:
                        break
                    self.received += len(data)
                    conn.sendall(data)
                    if self.close_after is not None and self.received >= self.close_after:
                        break

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def echo() -> Iterator[EchoServer]:
    server = EchoServer()
    yield server
    server.close()


def _string(text: str) -> bytes:
    raw = text.encode()
    return struct.pack(">H", len(raw)) + raw


def mqtt_connect(client_id: str, username: str | None = None, password: str | None = None) -> bytes:
    """An MQTT 3.1.1 CONNECT packet (clean session, keep-alive 60 s)."""
    flags = 0x02 | (0x80 if username else 0) | (0x40 if password else 0)
    body = _string("MQTT") + bytes([4, flags]) + struct.pack(">H", 60) + _string(client_id)
    if username:
        body += _string(username)
    if password:
        body += _string(password)
    return bytes([0x10, len(body)]) + body


def test_tcp_echo_of_binary_data_in_several_chunks(echo: EchoServer) -> None:
    # 5 KB that also holds what the AT parser must never take for lines
    payload = bytes(range(256)) * 20 + b"\r\nOK\r\n+CIPRXGET: 1,0\r\nERROR\r\n>"
    script = (
        TRANSPORT.replace("TLS_FILES", "None")
        + f"""
print("=open", connect("127.0.0.1", {echo.port}, False))
payload = binascii.unhexlify("{payload.hex()}")
got = exchange(payload, len(payload))
print("=same", got == payload)
print("=up", t.bytes_up)
print("=down", t.bytes_down)
t.close()
print("=again", connect("127.0.0.1", {echo.port}, False))
print("=again_same", exchange(b"once more", 9) == b"once more")
t.close()
run_until(m, lambda: t._task is None, 5000, (t,))
print("=state", t.state)
print("=error", repr(t.error))
"""
    )
    with modem_wiring() as wiring:
        out = results(run_firmware(script, fds=wiring.fds))
        commands = wiring.sim.commands
    assert out["open"] == "True"
    assert out["same"] == "True"
    assert out["up"] == out["down"] == str(len(payload))
    assert out["again"] == out["again_same"] == "True"
    assert out["state"] == "0"
    assert out["error"] == "''"
    assert commands.count("AT+CIPCLOSE=0") == 2  # the first link was released first
    assert f'AT+CIPOPEN=0,"TCP","127.0.0.1",{echo.port}' in commands
    assert sum(c.startswith("AT+CIPSEND=0,") for c in commands) >= 5  # 1 KB chunks
    assert "AT+CIPCLOSE=0" in commands


def test_peer_close_delivers_the_data_then_closes() -> None:
    server = EchoServer(close_after=10)
    script = (
        TRANSPORT.replace("TLS_FILES", "None")
        + f"""
print("=open", connect("127.0.0.1", {server.port}, False))
got = exchange(b"0123456789", 10)
print("=got", got.decode())
run_until(m, lambda: t.state == CLOSED, 10000, (t,))
print("=state", t.state)
print("=error", t.error)
"""
    )
    try:
        with modem_wiring() as wiring:
            out = results(run_firmware(script, fds=wiring.fds))
    finally:
        server.close()
    assert out["got"] == "0123456789"
    assert out["state"] == "0"
    assert out["error"] == "closed by peer"


def test_refused_and_failing_opens_close_with_an_error() -> None:
    port = socket.create_server(("127.0.0.1", 0))
    closed_port = port.getsockname()[1]
    port.close()  # nothing listens there now
    script = (
        TRANSPORT.replace("TLS_FILES", "None")
        + f"""
print("=far", connect("192.0.2.1", 1883, False))
print("=far_error", t.error)
print("=closed", connect("127.0.0.1", {closed_port}, False))
print("=closed_error", t.error)
print("=ready", m.ready)
"""
    )
    with modem_wiring() as wiring:
        out = results(run_firmware(script, fds=wiring.fds))
        refused = wiring.sim.refused
    assert out["far"] == "False"
    assert out["far_error"] == "open failed: error 10"
    assert refused == ["192.0.2.1"]  # never connected anywhere but loopback
    assert out["closed"] == "False"
    assert out["closed_error"] == "open failed: error 10"
    assert out["ready"] == "True"


def test_coverage_lost_closes_the_connection(echo: EchoServer) -> None:
    script = (
        TRANSPORT.replace("TLS_FILES", "None")
        + f"""
print("=open", connect("127.0.0.1", {echo.port}, False))
print("=phase open")
print("=closed", run_until(m, lambda: t.state == CLOSED, 20000, (t,)))
print("=error", t.error)
"""
    )
    with modem_wiring() as wiring, start_firmware(script, fds=wiring.fds) as fw:
        wait_for(fw, "=phase open")
        wiring.sim.lose_coverage()
        assert fw.wait(60) == 0, fw.errors()
        out = results(fw.output())
    assert out["open"] == "True"
    assert out["closed"] == "True"
    assert out["error"] != ""


def test_mqtt_connect_to_mosquitto_over_plain_tcp(mosquitto: MosquittoBroker) -> None:
    connect = mqtt_connect("fw-plain")
    script = (
        TRANSPORT.replace("TLS_FILES", "None")
        + f"""
print("=open", connect("{mosquitto.host}", {mosquitto.port}, False))
got = exchange(binascii.unhexlify("{connect.hex()}"), 4)
print("=connack", binascii.hexlify(got).decode())
"""
    )
    with modem_wiring() as wiring:
        out = results(run_firmware(script, fds=wiring.fds))
    assert out["open"] == "True"
    assert out["connack"] == "20020000"


def test_mqtt_connect_to_mosquitto_over_tls(mosquitto_tls: MosquittoTLS) -> None:
    creds = mosquitto_tls.add_device("fw-tls-1")
    mosquitto_tls.start()
    files = {
        "cacert": creds.cafile.read_text(),
        "clientcert": creds.certfile.read_text(),
        "clientkey": creds.keyfile.read_text(),
    }
    connect = mqtt_connect("fw-tls-1", creds.username, creds.password)
    script = (
        TRANSPORT.replace("TLS_FILES", repr(files))
        + f"""
print("=open", connect("{mosquitto_tls.host}", {mosquitto_tls.port}, True))
print("=error", t.error)
got = exchange(binascii.unhexlify("{connect.hex()}"), 4)
print("=connack", binascii.hexlify(got).decode())
"""
    )
    with modem_wiring() as wiring:
        out = results(run_firmware(script, fds=wiring.fds))
        commands = wiring.sim.commands
    assert out["open"] == "True", out["error"]
    assert out["connack"] == "20020000"
    assert 'AT+CSSLCFG="authmode",0,2' in commands
    assert any(c.startswith('AT+CCERTDOWN="myenergy_key.pem",') for c in commands)
    assert any(c.startswith("AT+CCHSEND=0,") for c in commands)


def test_tls_with_a_foreign_ca_fails_the_handshake(mosquitto_tls: MosquittoTLS) -> None:
    creds = mosquitto_tls.add_device("fw-tls-2")
    mosquitto_tls.start()
    files = {"cacert": make_ca().cert_pem().decode()}
    script = (
        TRANSPORT.replace("TLS_FILES", repr(files))
        + f"""
print("=open", connect("{mosquitto_tls.host}", {mosquitto_tls.port}, True))
print("=error", t.error)
"""
    )
    assert creds.username
    with modem_wiring() as wiring:
        out = results(run_firmware(script, fds=wiring.fds))
    assert out["open"] == "False"
    assert out["error"] == "open failed: error 15"


def test_firmware_mqtt_client_publishes_through_the_modem_over_tls(
    mosquitto_tls: MosquittoTLS, mqtt_clients
) -> None:
    """The whole uplink path of a module: firmware.mqtt -> ModemTransport -> AT commands
    -> the simulated modem -> TLS -> Mosquitto -> a cloud subscriber."""
    device = "fw-tls-3"
    creds = mosquitto_tls.add_device(device)
    cloud_creds = mosquitto_tls.add_cloud_client()
    mosquitto_tls.start()
    cloud = mqtt_clients(mosquitto_tls, "cloud", credentials=cloud_creds)
    cloud.connect()
    topic = f"myenergy/v1/{device}/up"
    cloud.subscribe(topic, qos=1)
    files = {
        "cacert": creds.cafile.read_text(),
        "clientcert": creds.certfile.read_text(),
        "clientkey": creds.keyfile.read_text(),
    }
    payload = bytes(range(256)) * 8  # 2 KB of binary: several CCHSEND chunks
    script = (
        TRANSPORT.replace("TLS_FILES", repr(files))
        + f"""
from firmware.mqtt import MqttClient
acked = []
c = MqttClient(t, "{device}", 60, "{creds.username}", {creds.password!r})
c.on_puback = lambda pid, reason: acked.append(pid)
c.connect("{mosquitto_tls.host}", {mosquitto_tls.port}, True)
def up():
    c.step(time.ticks_ms())
    return c.connected or c.state_name() == "idle"
run_until(m, up, 30000, (t,))
print("=connected", c.connected, c.error)
payload = binascii.unhexlify("{payload.hex()}")
pid = c.publish("{topic}", payload, 1)
print("=pid", pid)
def pumped():
    c.step(time.ticks_ms())
    return bool(acked)
print("=acked", run_until(m, pumped, 30000, (t,)), acked == [pid])
"""
    )
    with modem_wiring() as wiring:
        out = results(run_firmware(script, fds=wiring.fds))
    assert out["connected"].startswith("True"), out["connected"]
    assert out["acked"] == "True True"
    message = cloud.expect_message()
    assert message.topic == topic
    assert message.payload == payload
