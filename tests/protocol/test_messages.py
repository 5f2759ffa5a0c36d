"""Status and command JSON."""

import json

import pytest

from protocol.codec import (
    DecodeError,
    decode_command,
    decode_status,
    encode_command,
    encode_status,
)


def test_status_round_trip() -> None:
    status = {
        "state": "online",
        "version": "0.1.0",
        "ts": 1767225600,
        "queue_depth": 3,
        "oldest_unsent_age_s": None,
        "modbus_errors": {"timeout": 2},
        "clock": "synced",
        "live_until": None,
    }
    data = encode_status(status)
    assert b" " not in data  # compact: it travels over a metered link too
    assert decode_status(data) == status


def test_last_will_status() -> None:
    assert decode_status(encode_status({"state": "offline"})) == {"state": "offline"}


@pytest.mark.parametrize(
    "status", [{}, {"state": 1}, {"state": "online", "x": float("nan")}, [("state", "online")]]
)
def test_encode_status_rejects(status: object) -> None:
    with pytest.raises(ValueError):
        encode_status(status)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"null",
        b"[]",
        b'"online"',
        b"{}",
        b'{"state": 5}',
        b'{"state": "online", "x": NaN}',
        b'{"state": "online", "x": 1e999}',
        b"\xff\xfe",
        b'{"state": "online"',
        b"[" * 3000 + b"]" * 3000,
        b'{"state": "' + b"x" * 5000 + b'"}',
    ],
)
def test_decode_status_rejects(data: bytes) -> None:
    with pytest.raises(DecodeError):
        decode_status(data)


@pytest.mark.parametrize(
    "cmd",
    [
        {"cmd": "live", "minutes": 5},
        {"cmd": "live", "minutes": 5, "id": "c-1", "exp": 1767225660},
        {"cmd": "live_stop"},
        {"cmd": "time", "utc": 1767225600},
        {"cmd": "time", "utc": 1767225600.25},
        {"cmd": "config", "poll_s": 2},
        {"cmd": "config", "poll_s": 0.5, "upload_s": 600, "status_s": 3600, "live_sample_s": 1},
    ],
)
def test_command_round_trip(cmd: dict[str, object]) -> None:
    data = encode_command(cmd)
    assert json.loads(data) == cmd
    assert decode_command(data) == cmd


@pytest.mark.parametrize(
    ("cmd", "message"),
    [
        ({"cmd": "reboot"}, "unknown command"),
        ({"minutes": 5}, "unknown command"),
        ({"cmd": 5}, "unknown command"),
        ({"cmd": "live"}, "needs field 'minutes'"),
        ({"cmd": "live", "minutes": "5"}, "minutes must be an integer"),
        ({"cmd": "live", "minutes": 5.0}, "minutes must be an integer"),
        ({"cmd": "live", "minutes": True}, "minutes must be an integer"),
        ({"cmd": "live", "minutes": 0}, "minutes must be in"),
        ({"cmd": "live", "minutes": 5, "seconds": 3}, "no field 'seconds'"),
        ({"cmd": "live_stop", "minutes": 5}, "no field 'minutes'"),
        ({"cmd": "time", "utc": 1000}, "utc must be in"),
        ({"cmd": "time", "utc": None}, "utc must be a number"),
        ({"cmd": "config"}, "changes nothing"),
        ({"cmd": "config", "poll_s": 0}, "poll_s must be in"),
        ({"cmd": "config", "meter.poll_s": 5}, "no field"),
        ({"cmd": "live", "minutes": 5, "id": ""}, "id must be a string"),
        ({"cmd": "live", "minutes": 5, "id": 7}, "id must be a string"),
        ({"cmd": "live", "minutes": 5, "exp": -1}, "exp must be in"),
    ],
)
def test_commands_are_validated(cmd: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        encode_command(cmd)
    with pytest.raises(DecodeError, match=message):
        decode_command(json.dumps(cmd).encode())


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"live",
        b'["live", 5]',
        b'{"cmd": "time", "utc": NaN}',
        b'{"cmd": "time", "utc": Infinity}',
        b'{"cmd": "live", "minutes": 5}' + b" " * 2000,
        b"\x80",
    ],
)
def test_decode_command_rejects_garbage(data: bytes) -> None:
    with pytest.raises(DecodeError):
        decode_command(data)


def test_non_bytes_payloads() -> None:
    with pytest.raises(DecodeError):
        decode_command('{"cmd": "live_stop"}')  # type: ignore[arg-type]
    assert decode_command(bytearray(b'{"cmd":"live_stop"}')) == {"cmd": "live_stop"}  # type: ignore[arg-type]
