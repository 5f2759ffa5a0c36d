"""JSON payloads: the retained device status and the cloud's commands.

Status and commands are rare, small and read by people (broker consoles, logs),
so they are JSON rather than binary. Both decoders accept only a JSON object of
at most a few KiB and raise DecodeError for anything else. Commands are checked
field by field: a device must never act on a command it half understands.
"""

import json

from protocol.errors import DecodeError
from protocol.records import MAX_TS

MAX_STATUS_BYTES = 4096
MAX_COMMAND_BYTES = 1024

STATE_ONLINE = "online"
STATE_OFFLINE = "offline"  # published by the broker as the device's MQTT last will

CMD_LIVE = "live"
CMD_LIVE_STOP = "live_stop"
CMD_TIME = "time"
CMD_CONFIG = "config"

_INT = "integer"
_NUMBER = "number"
_TEXT = "string"
_TIME_MIN = 1577836800  # 2020-01-01: a `time` before the product existed is a bug

# name -> {field: (type, minimum, maximum, required)}
COMMANDS = {
    CMD_LIVE: {"minutes": (_INT, 1, 1440, True)},
    CMD_LIVE_STOP: {},
    CMD_TIME: {"utc": (_NUMBER, _TIME_MIN, MAX_TS, True)},
    # Settings the cloud may change remotely; the device still applies its own,
    # stricter rules (e.g. poll_s must divide the minute) and reports refusals.
    CMD_CONFIG: {
        "poll_s": (_NUMBER, 0.2, 60, False),
        "upload_s": (_NUMBER, 1, 3600, False),
        "status_s": (_NUMBER, 60, 86400, False),
        "live_sample_s": (_NUMBER, 0.2, 60, False),
    },
}  # type: dict[str, dict[str, tuple[str, float, float, bool]]]

# Fields any command may carry: "id" correlates a command with the device's
# reaction in its status; "exp" (UTC unix seconds) is when a command queued in a
# persistent session has gone stale and must be ignored by a device whose clock
# is not unanchored.
COMMON = {
    "cmd": (_TEXT, 1, 32, True),
    "id": (_TEXT, 1, 64, False),
    "exp": (_INT, 0, MAX_TS, False),
}  # type: dict[str, tuple[str, float, float, bool]]


def _finite(obj: object, depth: int = 0) -> bool:
    """True when ``obj`` holds no NaN/infinity (which JSON cannot represent)."""
    if depth > 32:
        return False
    if isinstance(obj, float):
        return obj - obj == 0.0
    if isinstance(obj, dict):
        return all(_finite(v, depth + 1) for v in obj.values())
    if isinstance(obj, list):
        return all(_finite(v, depth + 1) for v in obj)
    return True


def _field_problem(name: str, value: object, spec: tuple[str, float, float, bool]) -> str | None:
    kind, lo, hi = spec[0], spec[1], spec[2]
    if kind == _TEXT:
        if not isinstance(value, str) or not lo <= len(value) <= hi:
            return "%s must be a string of %d..%d characters" % (name, lo, hi)
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float) if kind == _NUMBER else int):
        return "%s must be %s %s" % (name, "an" if kind == _INT else "a", kind)
    if isinstance(value, float) and value - value != 0.0:
        return "%s must be finite" % name
    if not lo <= value <= hi:
        return "%s must be in %s..%s" % (name, lo, hi)
    return None


def command_problem(cmd: object) -> str | None:
    """Why ``cmd`` is not a valid v1 command, or None when it is."""
    if not isinstance(cmd, dict):
        return "a command is a JSON object"
    name = cmd.get("cmd")
    if not isinstance(name, str) or name not in COMMANDS:
        return "unknown command %r (known: %s)" % (name, ", ".join(sorted(COMMANDS)))
    fields = COMMANDS[name]
    for key in cmd:
        if not isinstance(key, str) or (key not in COMMON and key not in fields):
            return "command %s has no field %r" % (name, key)
    for table in (COMMON, fields):
        for key, spec in table.items():
            if key in cmd:
                problem = _field_problem(key, cmd[key], spec)
                if problem:
                    return "command %s: %s" % (name, problem)
            elif spec[3]:
                return "command %s needs field %r" % (name, key)
    if name == CMD_CONFIG and not any(key in fields for key in cmd):
        return "command config changes nothing"
    return None


def _dumps(obj: object) -> bytes:
    # Compact separators: these go over a metered link too.
    return json.dumps(obj, separators=(",", ":")).encode()


def _loads(data: bytes, limit: int, what: str) -> dict[str, object]:
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise DecodeError("%s payload must be bytes" % what)
    if len(data) > limit:
        raise DecodeError("%s payload larger than %d bytes" % (what, limit))
    try:
        obj = json.loads(bytes(data).decode())
    except Exception:  # UnicodeError, ValueError, RecursionError ...: all mean "not JSON"
        raise DecodeError("%s payload is not UTF-8 JSON" % what) from None
    if not isinstance(obj, dict):
        raise DecodeError("%s payload must be a JSON object" % what)
    if not _finite(obj):
        raise DecodeError("%s payload has NaN/Infinity or nests too deep" % what)
    return obj


def encode_status(status: dict[str, object]) -> bytes:
    """JSON of the device status; ValueError unless it is a dict with a string "state"."""
    if not isinstance(status, dict) or not isinstance(status.get("state"), str):
        raise ValueError('a status is a dict with a string "state"')
    if not _finite(status):
        raise ValueError("a status cannot hold NaN/Infinity")
    data = _dumps(status)
    if len(data) > MAX_STATUS_BYTES:
        raise ValueError("status larger than %d bytes" % MAX_STATUS_BYTES)
    return data


def decode_status(data: bytes) -> dict[str, object]:
    """The status dict; DecodeError unless it is a JSON object with a string "state"."""
    obj = _loads(data, MAX_STATUS_BYTES, "status")
    if not isinstance(obj.get("state"), str):
        raise DecodeError('status without a string "state"')
    return obj


def encode_command(cmd: dict[str, object]) -> bytes:
    """JSON of a command; ValueError unless it is a valid v1 command."""
    problem = command_problem(cmd)
    if problem:
        raise ValueError(problem)
    data = _dumps(cmd)
    if len(data) > MAX_COMMAND_BYTES:
        raise ValueError("command larger than %d bytes" % MAX_COMMAND_BYTES)
    return data


def decode_command(data: bytes) -> dict[str, object]:
    """The command dict; DecodeError unless it is a valid v1 command."""
    obj = _loads(data, MAX_COMMAND_BYTES, "command")
    problem = command_problem(obj)
    if problem:
        raise DecodeError(problem)
    return obj
