"""Faults a simulated meter produces on demand, as a real bus does now and then.

A :class:`FaultControl` holds the active faults; each is on for the next ``count``
requests or, with ``count=None``, until cleared. Every request that reaches the
meter calls :meth:`FaultControl.take`, which returns what to do to *that* request
(:class:`RequestFaults`) and uses up one request of every counted fault.

=============  ==============================================  ====================
kind           what the client sees                            parameters
=============  ==============================================  ====================
no_reply       nothing: a timeout                              -
crc_error      a reply with a wrong CRC (RTU) / garbled MBAP   -
exception      a Modbus exception response                     ``code`` (default 4)
slow_reply     the reply, ``delay_s`` late                     ``delay_s``
implausible    a channel reads ``value`` (NaN, 1e9 V, ...)     ``channel``, ``value``
counter_reset  counters restart near 0 (meter swapped), once   ``start_wh`` (0)
turnaround     the meter's turnaround time is ``seconds``      ``seconds``
=============  ==============================================  ====================

Text form for the CLI (``--fault``): ``KIND[:COUNT][:key=value]...``, e.g.
``no_reply:5``, ``exception:3:code=6``, ``slow_reply:delay_s=1.5``,
``implausible:10:channel=u_l1_v:value=nan``, ``counter_reset``,
``turnaround:seconds=0.05``. The JSON control socket takes the same names:
``{"fault": "exception", "count": 3, "code": 6}``.

Thread-safe: the RTU server thread, the control socket and a test thread share one.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass, field
from typing import Any

from protocol import channels

__all__ = ["EXCEPTION_CODES", "FAULT_KINDS", "FaultControl", "RequestFaults", "parse_fault"]

# kind -> {parameter: converter}; the first converter of each kind is its required/main one
_PARAMS: dict[str, dict[str, type]] = {
    "no_reply": {},
    "crc_error": {},
    "exception": {"code": int},
    "slow_reply": {"delay_s": float},
    "implausible": {"channel": str, "value": float},
    "counter_reset": {"start_wh": float},
    "turnaround": {"seconds": float},
}
FAULT_KINDS = tuple(_PARAMS)
_DEFAULTS: dict[str, dict[str, Any]] = {
    "exception": {"code": 4},  # slave device failure
    "slow_reply": {"delay_s": 1.0},
    "implausible": {"value": math.nan},
    "counter_reset": {"start_wh": 0.0},
}
# the exception codes the Modbus application protocol defines (V1.1b3, section 7)
EXCEPTION_CODES = frozenset({1, 2, 3, 4, 5, 6, 7, 8, 10, 11})
_REQUIRED = {"implausible": ("channel",), "turnaround": ("seconds",)}


@dataclass(frozen=True)
class RequestFaults:
    """What happens to one request (from :meth:`FaultControl.take`)."""

    no_reply: bool = False
    crc_error: bool = False
    exception_code: int | None = None
    extra_delay_s: float = 0.0
    implausible: dict[str, float] = field(default_factory=dict)
    counter_reset_wh: float | None = None  # not None: swap the meter now, counters from here
    turnaround_s: float | None = None  # not None: overrides the meter's own turnaround


@dataclass
class _Active:
    kind: str
    remaining: int | None  # requests left; None = until cleared
    params: dict[str, Any]

    def key(self) -> tuple[str, str]:
        # implausible values on different channels are independent faults
        return (self.kind, str(self.params.get("channel", "")))


class FaultControl:
    """The set of faults currently injected into one meter."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._active: dict[tuple[str, str], _Active] = {}
        self._counts: dict[str, int] = {}  # how many requests each kind has affected

    def inject(self, kind: str, count: int | None = None, **params: Any) -> None:
        """Turn fault ``kind`` on for ``count`` requests (None: until cleared).

        ``counter_reset`` is an event, not a state: it always applies to one request.
        """
        if kind == "counter_reset":
            count = 1
        entry = _Active(kind, count, _check(kind, count, params))
        with self._lock:
            self._active[entry.key()] = entry

    # convenience spellings for tests
    def no_reply(self, count: int | None = None) -> None:
        self.inject("no_reply", count)

    def crc_error(self, count: int | None = None) -> None:
        self.inject("crc_error", count)

    def exception(self, code: int = 4, count: int | None = None) -> None:
        self.inject("exception", count, code=code)

    def slow_reply(self, delay_s: float, count: int | None = None) -> None:
        self.inject("slow_reply", count, delay_s=delay_s)

    def implausible(self, channel: str, value: float, count: int | None = None) -> None:
        self.inject("implausible", count, channel=channel, value=value)

    def counter_reset(self, start_wh: float = 0.0) -> None:
        self.inject("counter_reset", 1, start_wh=start_wh)

    def turnaround(self, seconds: float, count: int | None = None) -> None:
        self.inject("turnaround", count, seconds=seconds)

    def clear(self, kind: str | None = None) -> None:
        """Clear one kind of fault, or all of them."""
        if kind is not None and kind not in _PARAMS:
            raise ValueError(_unknown(kind))
        with self._lock:
            for key in [k for k in self._active if kind is None or k[0] == kind]:
                del self._active[key]

    def take(self) -> RequestFaults:
        """The faults for the next request; uses up one request of each counted fault."""
        with self._lock:
            entries = list(self._active.values())
            for e in entries:
                self._counts[e.kind] = self._counts.get(e.kind, 0) + 1
                if e.remaining is not None:
                    e.remaining -= 1
                    if e.remaining <= 0:
                        del self._active[e.key()]
        out: dict[str, Any] = {"implausible": {}}
        for e in entries:
            p = e.params
            if e.kind == "no_reply":
                out["no_reply"] = True
            elif e.kind == "crc_error":
                out["crc_error"] = True
            elif e.kind == "exception":
                out["exception_code"] = p["code"]
            elif e.kind == "slow_reply":
                out["extra_delay_s"] = p["delay_s"]
            elif e.kind == "implausible":
                out["implausible"][p["channel"]] = p["value"]
            elif e.kind == "counter_reset":
                out["counter_reset_wh"] = p["start_wh"]
            elif e.kind == "turnaround":
                out["turnaround_s"] = p["seconds"]
        return RequestFaults(**out)

    def status(self) -> dict[str, Any]:
        """JSON-able view: active faults and how many requests each kind affected."""
        with self._lock:
            active = [
                {"fault": e.kind, "remaining": e.remaining, **_jsonable(e.params)}
                for e in self._active.values()
            ]
            return {"active": active, "affected": dict(self._counts)}


def parse_fault(spec: str) -> tuple[str, int | None, dict[str, Any]]:
    """``KIND[:COUNT][:key=value]...`` -> ``(kind, count, params)`` (validated)."""
    parts = spec.strip().split(":")
    kind, count, params = parts[0], None, {}
    for part in parts[1:]:
        if "=" in part:
            key, _, value = part.partition("=")
            params[key] = value
        elif count is None:
            try:
                count = int(part)
            except ValueError:
                raise ValueError(f"fault count must be an integer: {spec!r}") from None
        else:
            raise ValueError(f"fault is KIND[:COUNT][:key=value]..., got {spec!r}")
    return kind, count, _check(kind, count, params)


def _check(kind: str, count: int | None, params: dict[str, Any]) -> dict[str, Any]:
    """Validate and convert a fault's parameters (values may arrive as strings)."""
    if kind not in _PARAMS:
        raise ValueError(_unknown(kind))
    if count is not None and (isinstance(count, bool) or not isinstance(count, int) or count < 1):
        raise ValueError(f"count must be a positive integer or None, got {count!r}")
    allowed = _PARAMS[kind]
    out = dict(_DEFAULTS.get(kind, {}))
    for key, value in params.items():
        if key not in allowed:
            names = ", ".join(allowed) or "none"
            raise ValueError(f"fault {kind!r} takes parameters: {names}; got {key!r}")
        try:
            out[key] = allowed[key](value)
        except (TypeError, ValueError):
            raise ValueError(f"bad value for {kind}.{key}: {value!r}") from None
    for key in _REQUIRED.get(kind, ()):
        if key not in out:
            raise ValueError(f"fault {kind!r} needs {key}=...")
    if kind == "implausible" and out["channel"] not in channels.NAMES:
        raise ValueError(f"unknown channel {out['channel']!r} (not in protocol/channels.py)")
    if kind == "exception" and out["code"] not in EXCEPTION_CODES:
        raise ValueError(f"exception code must be one of {sorted(EXCEPTION_CODES)}")
    for key in ("delay_s", "seconds"):
        if key in out and out[key] < 0:
            raise ValueError(f"{kind}.{key} must be >= 0")
    return out


def _unknown(kind: str) -> str:
    return f"unknown fault {kind!r}; choose one of {', '.join(FAULT_KINDS)}"


def _jsonable(params: dict[str, Any]) -> dict[str, Any]:
    # JSON has no NaN/inf: report those as strings
    return {
        k: (repr(v) if isinstance(v, float) and not math.isfinite(v) else v)
        for k, v in params.items()
    }
