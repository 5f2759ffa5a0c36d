"""simulators.modem from CPython: the AT dialogue, its controls, real loopback links."""

from __future__ import annotations

import calendar
import os
import re
import select
import signal
import socket
import subprocess
import sys
import threading
import time
import tty
from collections.abc import Iterator

import pytest

from simulators.modem import ModemSettings, ModemSimulator
from simulators.modem_links import is_loopback

FINAL = re.compile(rb"\r\n(OK|ERROR|\+CME ERROR: \d+)\r\n")


class AtClient:
    """A blocking AT client on the firmware's end of the socket pair."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.sock.settimeout(5)
        self.buf = b""

    def _send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def _fill(self, timeout: float) -> bool:
        self.sock.settimeout(timeout)
        try:
            chunk = self.sock.recv(4096)
        except TimeoutError:
            return False
        self.buf += chunk
        return bool(chunk)

    def command(self, cmd: str, data: bytes | None = None, timeout: float = 5) -> bytes:
        """Everything up to and including the final result code."""
        self._send(cmd.encode() + b"\r")
        deadline = time.monotonic() + timeout
        if data is not None:
            while b">" not in self.buf:
                assert time.monotonic() < deadline, self.buf
                self._fill(0.5)
            self.buf = self.buf[self.buf.index(b">") + 1 :]
            self._send(data)
        while not (m := FINAL.search(self.buf)):
            assert time.monotonic() < deadline, f"no final result for {cmd}: {self.buf!r}"
            self._fill(0.5)
        out, self.buf = self.buf[: m.end()], self.buf[m.end() :]
        return out

    def wait_for(self, text: bytes, timeout: float = 5) -> bytes:
        deadline = time.monotonic() + timeout
        while text not in self.buf:
            assert time.monotonic() < deadline, f"no {text!r} in {self.buf!r}"
            self._fill(0.2)
        cut = self.buf.index(text) + len(text)
        out, self.buf = self.buf[:cut], self.buf[cut:]
        return out

    def silent(self, cmd: str, wait: float = 0.5) -> bool:
        """True if ``cmd`` gets no answer at all within ``wait``."""
        self.buf = b""
        self._send(cmd.encode() + b"\r")
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            self._fill(0.1)
        return self.buf == b""


@pytest.fixture
def pair() -> Iterator[tuple[ModemSimulator, AtClient, socket.socket]]:
    ours, theirs = socket.socketpair()
    key_ours, key_theirs = socket.socketpair()
    sim = ModemSimulator(
        theirs.fileno(),
        ModemSettings(register_s=0.0, utc_offset_s=1000.0, off_pulse_s=0.3),
        pwrkey_fd=key_theirs.fileno(),
    ).start()
    client = AtClient(ours)
    client.command("ATE0")
    yield sim, client, key_ours
    sim.stop()
    for s in (ours, theirs, key_ours, key_theirs):
        s.close()


def net_up(client: AtClient) -> None:
    assert b"OK" in client.command("AT+CIPRXGET=1")
    assert b"OK" in client.command("AT+NETOPEN")
    client.wait_for(b"+NETOPEN: 0")


def test_identity_registration_and_signal(pair) -> None:
    sim, client, _ = pair
    assert client.command("AT") == b"\r\nOK\r\n"
    assert b"+CPIN: READY" in client.command("AT+CPIN?")
    assert b"\r\n866123045678901\r\n" in client.command("AT+CGSN")
    assert b"+ICCID: 8935901990012345678F" in client.command("AT+CICCID")
    assert b"+CEREG: 0,1" in client.command("AT+CEREG?")
    assert b"+CSQ: 20,99" in client.command("AT+CSQ")
    sim.set_csq(9)
    assert b"+CSQ: 9,99" in client.command("AT+CSQ")
    assert b",-1200,-950,12" in client.command("AT+CPSI?")  # RSRP, RSSI in 0.1 dB
    assert client.command("AT+NOSUCH") == b"\r\nERROR\r\n"
    client.command("AT+CMEE=1")
    assert client.command("AT+NOSUCH") == b"\r\n+CME ERROR: 100\r\n"


def test_echo_is_on_until_ate0() -> None:
    ours, theirs = socket.socketpair()
    with ModemSimulator(theirs.fileno()):
        client = AtClient(ours)
        assert client.command("AT") == b"AT\r\r\nOK\r\n"
        assert client.command("ATE0") == b"ATE0\r\r\nOK\r\n"
        assert client.command("AT") == b"\r\nOK\r\n"
    ours.close()
    theirs.close()


def test_coverage_lost_and_restored_with_urcs(pair) -> None:
    sim, client, _ = pair
    client.command("AT+CEREG=1")
    net_up(client)
    sim.lose_coverage()
    client.wait_for(b"+CEREG: 2")
    client.wait_for(b"+CIPEVENT: NETWORK CLOSED UNEXPECTEDLY")
    assert b"+CSQ: 99,99" in client.command("AT+CSQ")
    assert b"+NETOPEN: 0" in client.command("AT+NETOPEN?")
    client.command("AT+NETOPEN")
    client.wait_for(b"+NETOPEN: 1")  # no network without coverage
    sim.restore_coverage()
    client.wait_for(b"+CEREG: 1")
    client.command("AT+NETOPEN")
    client.wait_for(b"+NETOPEN: 0")


def test_sim_missing(pair) -> None:
    sim, client, _ = pair
    client.command("AT+CMEE=1")
    sim.remove_sim()
    client.wait_for(b"+CPIN: SIM REMOVED")
    assert client.command("AT+CPIN?").endswith(b"\r\n+CME ERROR: 10\r\n")
    assert b"+CEREG: 0,0" in client.command("AT+CEREG?")
    sim.insert_sim()
    assert b"+CPIN: READY" in client.command("AT+CPIN?")


def test_clock_from_network_time_and_ntp(pair) -> None:
    _sim, client, _ = pair
    reply = client.command("AT+CCLK?").decode()
    m = re.search(r'\+CCLK: "(\d\d)/(\d\d)/(\d\d),(\d\d):(\d\d):(\d\d)\+(\d\d)"', reply)
    assert m is not None, reply
    yy, mo, dd, hh, mi, ss, tz = (int(x) for x in m.groups())
    local = calendar.timegm((2000 + yy, mo, dd, hh, mi, ss))
    assert tz == 8
    assert abs(local - tz * 900 - (time.time() + 1000)) <= 2  # world = host + 1000 s
    client.command('AT+CNTP="pool.ntp.org",0')
    client.command("AT+CNTP")
    client.wait_for(b"+CNTP: 4")  # no data network yet: NTP fails
    net_up(client)
    client.command("AT+CNTP")
    client.wait_for(b"+CNTP: 0")


def test_default_date_without_network_time() -> None:
    ours, theirs = socket.socketpair()
    with ModemSimulator(theirs.fileno(), ModemSettings(nitz=False)):
        reply = AtClient(ours).command("AT+CCLK?")
        assert b'+CCLK: "80/01/06,00:00:' in reply
    ours.close()
    theirs.close()


def test_power_key_and_power_off(pair) -> None:
    sim, client, key = pair
    sim.power_off()
    client.wait_for(b"NORMAL POWER DOWN")
    assert client.silent("AT")
    key.sendall(b"1")
    time.sleep(0.1)
    key.sendall(b"0")  # a short press starts it
    client.wait_for(b"RDY")
    client.wait_for(b"PB DONE")
    assert sim.power_ons == 2
    assert b"OK" in client.command("AT")
    key.sendall(b"1")
    time.sleep(0.1)
    key.sendall(b"0")  # too short to turn it off
    assert b"OK" in client.command("AT")
    key.sendall(b"1")
    time.sleep(0.4)
    key.sendall(b"0")  # long: off
    client.wait_for(b"NORMAL POWER DOWN")
    assert client.silent("AT")


def test_hung_modem_needs_the_power_key(pair) -> None:
    sim, client, _key = pair
    sim.hang()
    assert client.silent("AT")
    sim.press_key(0.4)
    assert not sim.powered
    sim.press_key(0.1)
    client.wait_for(b"RDY")
    assert b"OK" in client.command("AT")


class Echo:
    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self) -> None:
        try:
            conn, _ = self.server.accept()
        except OSError:
            return
        with conn:
            while data := conn.recv(4096):
                conn.sendall(data)


def test_tcp_link_to_loopback(pair) -> None:
    sim, client, _ = pair
    echo = Echo()
    net_up(client)
    client.command(f'AT+CIPOPEN=0,"TCP","127.0.0.1",{echo.port}')
    client.wait_for(b"+CIPOPEN: 0,0")
    assert b"+CIPSEND: 0,5,5" in client.command("AT+CIPSEND=0,5", b"hello") + client.wait_for(
        b"+CIPSEND: 0,5,5"
    )
    client.wait_for(b"+CIPRXGET: 1,0")
    reply = client.command("AT+CIPRXGET=2,0,3")
    assert b"+CIPRXGET: 2,0,3,2\r\nhel\r\nOK" in reply
    reply = client.command("AT+CIPRXGET=2,0,100")
    assert b"+CIPRXGET: 2,0,2,0\r\nlo\r\nOK" in reply
    client.command("AT+CIPCLOSE=0")
    client.wait_for(b"+CIPCLOSE: 0,0")
    assert sim.opens == [("127.0.0.1", echo.port, False)]
    echo.server.close()


def test_only_loopback_is_connected(pair) -> None:
    sim, client, _ = pair
    net_up(client)
    client.command('AT+CIPOPEN=0,"TCP","example.com",80')
    client.wait_for(b"+CIPOPEN: 0,10")
    client.command('AT+CIPOPEN=0,"TCP","8.8.8.8",53')
    client.wait_for(b"+CIPOPEN: 0,10")
    assert sim.refused == ["example.com", "8.8.8.8"]
    assert is_loopback("127.0.0.5")
    assert is_loopback("::1")
    assert is_loopback("localhost")
    assert not is_loopback("localhost.example.com")


class PtyClient(AtClient):
    """The same client on a pty's slave side."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.buf = b""

    def _send(self, data: bytes) -> None:
        os.write(self.fd, data)

    def _fill(self, timeout: float) -> bool:
        ready, _, _ = select.select([self.fd], [], [], timeout)
        if not ready:
            return False
        self.buf += os.read(self.fd, 4096)
        return True


def test_cli_serves_a_pty_and_signals_change_coverage() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "simulators.cli", "modem", "--csq", "18"],
        stdout=subprocess.PIPE,
        text=True,
    )
    fd = -1
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        m = re.fullmatch(r"modem: (/dev/pts/\d+) 115200\n", line)
        assert m is not None, line
        fd = os.open(m.group(1), os.O_RDWR | os.O_NOCTTY)
        tty.setraw(fd)
        client = PtyClient(fd)
        client.command("ATE0")
        deadline = time.monotonic() + 5
        while b"+CSQ: 18,99" not in client.command("AT+CSQ"):  # registered after 0.2 s
            assert time.monotonic() < deadline
        proc.send_signal(signal.SIGUSR1)
        while b"+CSQ: 99,99" not in client.command("AT+CSQ"):
            assert time.monotonic() < deadline
        proc.send_signal(signal.SIGUSR2)
        while b"+CSQ: 18,99" not in client.command("AT+CSQ"):
            assert time.monotonic() < deadline
    finally:
        if fd >= 0:
            os.close(fd)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
