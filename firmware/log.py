"""Structured log lines on the serial console: one JSON object per line.

``log("uplink.connected", broker="...", ms=120)`` prints
``{"t":12345,"ev":"uplink.connected","broker":"...","ms":120}`` where ``t`` is
ticks_ms (the console has no wall clock before the first sync). The same shape
as the edge agent's structlog JSON, so one parser reads both. Secrets never
reach a log call: credentials are not passed to it anywhere.
"""

import json
import time

_level = 1  # 0 debug, 1 info
_counts = {}  # type: dict[str, int]  # event -> how many times, for the status message's error summary


def set_debug(on: bool) -> None:
    global _level  # noqa: PLW0603 - one switch for the whole firmware, set at boot
    _level = 0 if on else 1


def log(event: str, **fields: object) -> None:
    """Print one structured line (info)."""
    _counts[event] = _counts.get(event, 0) + 1
    fields["t"] = time.ticks_ms()
    fields["ev"] = event
    try:
        print(json.dumps(fields))
    except (TypeError, ValueError):
        print(json.dumps({"t": fields["t"], "ev": event, "unprintable": True}))


def debug(event: str, **fields: object) -> None:
    """Like :func:`log`, only when debug logging is on."""
    if _level == 0:
        log(event, **fields)


def count(event: str) -> int:
    """How many times ``event`` was logged since boot."""
    n = _counts.get(event, 0)
    return n
