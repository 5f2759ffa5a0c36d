"""The modem's signal strength (RSSI, dBm) for the status message: ``signal_dbm``.

Two sources (``[modem]`` in the configuration), or none (``signal_dbm`` null):

* ``signal_command``: a program run with a timeout whose output holds the RSSI,
  e.g. ModemManager's ``mmcli -m any --signal-get --output-keyvalue``
  (``modem.signal.lte.rssi : -71.00``); a bare number is taken as it is;
* ``signal_file``: a file holding the dBm (what ``myenergy-stack``'s simulated
  link writes).

Read from the status path (the upload thread), never from the poll loop, and
cached for ``cache_s``: the heartbeat asks often, a modem query is slow, and a
hung ``mmcli`` costs at most ``timeout_s`` once per ``cache_s``. Any failure (no
program, a timeout, unparsable output, a missing file) is ``None``: an unknown
signal is reported as unknown, never as an error of the agent.
"""

from __future__ import annotations

import math
import re
import subprocess
import threading
import time
from collections.abc import Callable

import structlog

from edge_agent.config import ModemConfig

__all__ = ["SignalReader", "parse_signal"]

log = structlog.get_logger(__name__)

# Radio technologies mmcli reports, the most relevant first (an LTE module falls
# back to UMTS or GSM when LTE is gone, and then reports that one's RSSI).
_TECH_ORDER = ("lte", "5g", "nr5g", "umts", "gsm", "cdma1x", "evdo")
_NUMBER = re.compile(r"^[-+]?\d+(?:\.\d+)?$")
# What an RSSI can be: anything outside is a parse of the wrong field.
_MIN_DBM, _MAX_DBM = -150.0, 0.0


def _number(text: str) -> float | None:
    text = text.strip().removesuffix("dBm").strip()
    if not _NUMBER.match(text):
        return None  # "--" is mmcli's "unknown"
    value = float(text)
    return value if _MIN_DBM <= value <= _MAX_DBM else None


def _rank(key: str) -> int:
    parts = key.lower().split(".")
    for i, tech in enumerate(_TECH_ORDER):
        if tech in parts:
            return i
    return len(_TECH_ORDER)


def parse_signal(text: str) -> int | None:
    """The RSSI in whole dBm from a file's or a command's output, or None.

    Accepts a bare number (``-71``) or ``key : value`` / ``key = value`` lines
    whose key contains ``rssi`` (mmcli's keyvalue output), preferring LTE.
    """
    stripped = text.strip()
    bare = _number(stripped)
    if bare is not None:
        return round(bare)
    found: list[tuple[int, float]] = []
    for line in stripped.splitlines():
        key, sep, value = line.partition(":")
        if not sep:
            key, sep, value = line.partition("=")
        if not sep or "rssi" not in key.lower():
            continue
        number = _number(value)
        if number is not None:
            found.append((_rank(key), number))
    if not found:
        return None
    return round(min(found)[1])


class SignalReader:
    """``signal_dbm()``: the cached RSSI from the configured source (None when unknown)."""

    def __init__(
        self, config: ModemConfig, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self.config = config
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._value: int | None = None
        self._read_at: float | None = None

    @property
    def enabled(self) -> bool:
        return self.config.signal_command is not None or self.config.signal_file is not None

    def signal_dbm(self) -> int | None:
        """The latest reading, refreshed when older than ``cache_s``."""
        if not self.enabled:
            return None
        with self._lock:
            now = self._monotonic()
            if self._read_at is None or now - self._read_at >= self.config.cache_s:
                self._value = self._read()
                self._read_at = now
            return self._value

    def _read(self) -> int | None:
        if self.config.signal_file is not None:
            try:
                return parse_signal(self.config.signal_file.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError):
                return None  # not written yet, or the link is being rewritten
        assert self.config.signal_command is not None  # enabled
        return self._run(self.config.signal_command)

    def _run(self, argv: list[str]) -> int | None:
        try:
            done = subprocess.run(
                argv,
                capture_output=True,
                text=True,
                timeout=self.config.timeout_s,
                check=False,
            )
        except subprocess.TimeoutExpired:
            log.warning(
                "signal command timed out", command=argv[0], timeout_s=self.config.timeout_s
            )
            return None
        except OSError as exc:
            log.warning("signal command failed", command=argv[0], error=str(exc))
            return None
        if done.returncode != 0:
            log.warning("signal command failed", command=argv[0], exit=done.returncode)
            return None
        value = parse_signal(done.stdout)
        if value is None or not math.isfinite(value):
            return None
        return value
