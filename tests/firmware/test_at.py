"""firmware.at.AtChannel on real MicroPython against a scripted modem.

The "modem" is a thread of the test at the other end of the shim UART(2)'s
socket pair: for each command line it receives it writes the scripted reply,
in pieces with pauses when a test wants the bytes split across reads.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from tests.firmware.harness import results, run_firmware

pytestmark = pytest.mark.micropython

Reply = list[bytes] | Callable[[socket.socket], None]


class ScriptedModem:
    """Answers each command line with its scripted reply (pieces 20 ms apart)."""

    def __init__(self, replies: dict[str, Reply]) -> None:
        self.fw, self._ours = socket.socketpair()
        self.fw.setblocking(False)
        self.replies = replies
        self.received: list[str] = []
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def read_exactly(self, n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = self._ours.recv(n - len(data))
            if not chunk:
                break
            data += chunk
        return data

    def _run(self) -> None:
        line = b""
        while True:
            try:
                ch = self._ours.recv(1)
            except OSError:
                return
            if not ch:
                return
            if ch != b"\r":
                line += ch
                continue
            cmd, line = line.decode(), b""
            self.received.append(cmd)
            reply = self.replies.get(cmd, [b"\r\nERROR\r\n"])
            if callable(reply):
                reply(self._ours)
                continue
            for i, piece in enumerate(reply):
                if i:
                    time.sleep(0.02)
                self._ours.sendall(piece)

    def close(self) -> None:
        self._ours.close()
        self.fw.close()


@pytest.fixture
def modem_factory() -> Iterator[Callable[[dict[str, Reply]], ScriptedModem]]:
    made: list[ScriptedModem] = []

    def make(replies: dict[str, Reply]) -> ScriptedModem:
        made.append(ScriptedModem(replies))
        return made[-1]

    yield make
    for m in made:
        m.close()


PRELUDE = """
import time
import host
from machine import UART
from firmware.at import AtChannel, OK, ERROR, TIMEOUT

at = AtChannel(UART(2, 115200))
urcs = []
def urc(line):
    urcs.append(line)
blocks = []
def block(header, data):
    blocks.append((header, data))
at.on_urc("+CEREG:", urc)
at.on_urc("+IPCLOSE:", urc)
at.on_data("+CIPRXGET: 2,", 2, block)

def run(cmd, timeout_ms=1000, expect=None, data=None):
    req = at.send(cmd, timeout_ms, expect, data)
    while not req.done:
        at.step()
        host.sleep_ms(1)
    return req

def idle(ms):
    t0 = time.ticks_ms()
    while time.ticks_diff(time.ticks_ms(), t0) < ms:
        at.step()
        host.sleep_ms(1)
"""


def test_answers_errors_echo_and_timeout(modem_factory) -> None:
    modem = modem_factory(
        {
            "AT": [b"AT\r", b"\r\nOK\r\n"],  # echoed, as before ATE0
            "AT+CGSN": [b"\r\n866123045678901\r\n\r\nOK\r\n"],
            "AT+CPIN?": [b"\r\n+CME ERROR: 10\r\n"],
            "AT+FOO": [b"\r\nERROR\r\n"],
            "AT+CSSLCFG?": [b'\r\n+CSSLCFG: 0,"a,b",3\r\n', b"\r\nOK\r\n"],
            "AT+CSQ": [b"\r\n+CSQ: 20,99\r\n", b"\r\n+CEREG: 1\r\n\r\nOK\r\n"],
        }
    )
    script = (
        PRELUDE
        + """
r = run("AT")
print("=at", r.state, r.lines)
r = run("AT+CGSN")
print("=imei", r.state, r.line())
r = run("AT+CPIN?", expect="+CPIN:")
print("=cpin", r.state, r.cme)
r = run("AT+FOO")
print("=foo", r.state, r.cme)
r = run("AT+CSSLCFG?", expect="+CSSLCFG:")
print("=values", r.values())
r = run("AT+CSQ", expect="+CSQ:")
print("=csq", r.state, r.lines, urcs)
r = run("AT+NOANSWER", timeout_ms=300)
print("=timeout", r.state, at.busy)
busy = at.send("AT", 1000)
print("=busy", at.send("AT+CGSN") is None)
while not busy.done:
    at.step()
print("=after", busy.state)
"""
    )
    modem.replies["AT+NOANSWER"] = []
    out = results(run_firmware(script, fds={"uart2": modem.fw.fileno()}))
    assert out["at"] == "1 []"
    assert out["imei"] == "1 866123045678901"
    assert out["cpin"] == "2 10"
    assert out["foo"] == "2 -1"
    assert out["values"] == "['0', '\"a,b\"', '3']"
    # the URC inside the answer went to its handler, not to the answer's lines
    assert out["csq"] == "1 ['+CSQ: 20,99'] ['+CEREG: 1']"
    assert out["timeout"] == "3 False"
    assert out["busy"] == "True"
    assert out["after"] == "1"


def test_prompt_data_send_and_binary_read(modem_factory) -> None:
    payload = bytes(range(256)) + b"\r\nOK\r\nERROR\r\n+IPCLOSE: 0,1\r\n>"
    got: list[bytes] = []

    def cipsend(sock: socket.socket) -> None:
        sock.sendall(b"\r\n>")
        got.append(modem.read_exactly(len(payload)))
        sock.sendall(b"\r\nOK\r\n\r\n+CIPSEND: 0,%d,%d\r\n" % (len(payload), len(payload)))

    header = b"\r\n+CIPRXGET: 2,0,%d,0\r\n" % len(payload)
    stream = header + payload + b"\r\nOK\r\n\r\n+IPCLOSE: 0,1\r\n"
    pieces = [stream[i : i + 37] for i in range(0, len(stream), 37)]  # split anywhere
    modem = modem_factory({f"AT+CIPSEND=0,{len(payload)}": cipsend, "AT+CIPRXGET=2,0,1024": pieces})
    script = (
        PRELUDE
        + f"""
import binascii
payload = binascii.unhexlify("{payload.hex()}")
r = run("AT+CIPSEND=0,%d" % len(payload), data=payload)
print("=send", r.state, r.prompted)
r = run("AT+CIPRXGET=2,0,1024")
idle(100)
print("=read", r.state, len(blocks))
print("=header", blocks[0][0])
print("=same", blocks[0][1] == payload)
print("=urcs", urcs)
print("=stray", at.stray)
"""
    )
    out = results(run_firmware(script, fds={"uart2": modem.fw.fileno()}))
    assert out["send"] == "1 True"
    assert got == [payload]
    assert out["read"] == "1 1"
    assert out["header"] == f"+CIPRXGET: 2,0,{len(payload)},0"
    assert out["same"] == "True"
    assert out["urcs"] == "['+IPCLOSE: 0,1']"  # the real one only, not the one in the data
    assert out["stray"] == "1"  # +CIPSEND: 0,n,n: nobody registered it here


def test_urcs_between_commands_and_expected_prefix_while_pending(modem_factory) -> None:
    def cereg(sock: socket.socket) -> None:
        sock.sendall(b"\r\n+CEREG: 1,5\r\n\r\nOK\r\n")
        time.sleep(0.05)
        sock.sendall(b"\r\n+CEREG: 2\r\n")  # after the answer: a URC again

    modem = modem_factory({"AT+CEREG?": cereg, "AT": [b"\r\nOK\r\n"]})
    script = (
        PRELUDE
        + """
r = run("AT+CEREG?", expect="+CEREG:")
idle(300)
print("=answer", r.lines)
print("=urcs", urcs)
"""
    )
    out = results(run_firmware(script, fds={"uart2": modem.fw.fileno()}))
    assert out["answer"] == "['+CEREG: 1,5']"
    assert out["urcs"] == "['+CEREG: 2']"
