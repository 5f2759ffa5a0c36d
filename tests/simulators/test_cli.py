"""``myenergy-sim``: help that reads as docs, clear errors, and a real run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from pymodbus.client import ModbusTcpClient

from simulators.cli import main
from simulators.control import request


@pytest.mark.parametrize("argv", [["--help"], ["meter", "--help"], ["link", "--help"]])
def test_help(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "myenergy-sim" in out


def test_meter_help_documents_the_faults(capsys):
    with pytest.raises(SystemExit):
        main(["meter", "--help"])
    out = capsys.readouterr().out
    for word in (
        "no_reply",
        "crc_error",
        "exception",
        "slow_reply",
        "implausible",
        "counter_reset",
        "turnaround",
        "rtu: /dev/pts/",
    ):
        assert word in out


def test_unknown_model_lists_the_available_ones(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["meter", "--model", "nope"])
    assert exc.value.code == 2
    assert "sdm630" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["meter", "--fault", "gremlins"], "unknown fault"),
        (["meter", "--tcp", "10.1.2.3:502"], "loopback"),
        (["meter", "--tcp", "/tmp/x.sock"], "HOST:PORT"),
        (["meter", "--start", "yesterday"], "--start"),
        (["link", "--listen", "127.0.0.1:0", "--target", "127.0.0.1:1", "--mode", "fog"], "mode"),
        (
            ["link", "--listen", "127.0.0.1:0", "--target", "127.0.0.1:1", "--schedule", "x"],
            "DURATION",
        ),
    ],
)
def test_bad_arguments_are_reported(argv, message, capsys):
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def _start(args: list[str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "simulators.cli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


def _lines(proc: subprocess.Popen[str], prefixes: tuple[str, ...]) -> dict[str, str]:
    found: dict[str, str] = {}
    deadline = time.monotonic() + 20
    assert proc.stdout is not None
    while len(found) < len(prefixes) and time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        key, _, rest = line.partition(": ")
        found[key] = rest.strip()
    assert set(found) >= set(prefixes), found
    return found


def _stop(proc: subprocess.Popen[str]) -> tuple[str, str]:
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=10)
    assert proc.returncode == 0, err
    return out, err


def test_meter_command_serves_rtu_tcp_and_control():
    proc = _start(
        [
            "meter",
            "--rtu",
            "--rtu-tcp",
            "127.0.0.1:0",
            "--tcp",
            "127.0.0.1:0",
            "--parity",
            "E",
            "--control",
            "127.0.0.1:0",
            "--fault",
            "exception:1:code=6",
            "--start",
            "2026-06-21T10:00Z",
            "--pv-kw",
            "6",
        ]
    )
    try:
        lines = _lines(proc, ("rtu", "rtu-tcp", "tcp", "control"))
        path, baud, frame, _, slave = lines["rtu"].split()
        assert path.startswith("/dev/pts/") and (baud, frame, slave) == ("9600", "8E1", "1")
        assert lines["rtu-tcp"].startswith("127.0.0.1:")
        assert lines["rtu-tcp"].endswith(" 9600 8E1 slave 1")
        host, port = lines["tcp"].split()[0].rsplit(":", 1)
        client = ModbusTcpClient(host, port=int(port), timeout=2, retries=0)
        assert client.connect()  # type: ignore[no-untyped-call]
        first = client.read_input_registers(0, count=2, device_id=1)
        assert first.isError() and first.exception_code == 6  # the --fault, once
        assert not client.read_input_registers(52, count=2, device_id=1).isError()
        client.close()  # type: ignore[no-untyped-call]
        status = request(lines["control"], {"status": True})
        assert status["requests"] == 2 and status["readings"]["p_total_w"] < 0
    finally:
        _, err = _stop(proc)
    assert "served 2 requests" in err


def test_link_command_prints_counters():
    proc = _start(
        [
            "link",
            "--listen",
            "127.0.0.1:0",
            "--target",
            "127.0.0.1:9",
            "--schedule",
            "30:blackhole",
            "--report-s",
            "0",
        ]
    )
    try:
        lines = _lines(proc, ("link",))
        assert lines["link"].endswith("-> 127.0.0.1:9")
    finally:
        out, _ = _stop(proc)
    assert "link: blackhole up=0 down=0" in out
