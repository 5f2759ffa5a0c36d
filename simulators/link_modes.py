"""Modes of the simulated mobile link and their text form (CLI, control socket).

``pass`` forwards bytes; ``cut`` resets every connection and closes new ones at
once (the modem lost registration and the kernel says so); ``blackhole`` keeps
connections open but drops every byte (coverage gone: TCP just stalls, keepalives
time out); ``throttle`` limits each direction to ``rate_bps`` bytes per second and
adds ``latency_s`` (a congested 2G fallback).

Text form, used by ``myenergy-sim link --schedule`` and the control socket::

    pass | cut | blackhole | throttle:RATE_BPS[:LATENCY_MS]
    schedule: DURATION_S:MODE,DURATION_S:MODE,...   e.g. 60:pass,30:cut,30:throttle:2000:300
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["KINDS", "LinkMode", "parse_mode", "parse_schedule"]

KINDS = ("pass", "cut", "blackhole", "throttle")


@dataclass(frozen=True)
class LinkMode:
    """One state of the link."""

    kind: str = "pass"
    rate_bps: float | None = None  # throttle only: bytes per second, each direction
    latency_s: float = 0.0  # throttle only: added one-way delay

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown link mode {self.kind!r}; choose one of {', '.join(KINDS)}")
        if self.kind == "throttle" and (self.rate_bps is None or self.rate_bps <= 0):
            raise ValueError("throttle needs a rate in bytes/s > 0 (throttle:RATE[:LATENCY_MS])")
        if self.latency_s < 0:
            raise ValueError("latency must be >= 0")

    def __str__(self) -> str:
        if self.kind != "throttle":
            return self.kind
        return f"throttle:{self.rate_bps:g}:{self.latency_s * 1000.0:g}"


def parse_mode(text: str) -> LinkMode:
    """``pass``, ``cut``, ``blackhole`` or ``throttle:RATE_BPS[:LATENCY_MS]``."""
    parts = text.strip().split(":")
    kind = parts[0]
    if kind != "throttle":
        if len(parts) != 1:
            raise ValueError(f"mode {kind!r} takes no parameters: {text!r}")
        return LinkMode(kind)
    if len(parts) not in (2, 3):
        raise ValueError(f"throttle is throttle:RATE_BPS[:LATENCY_MS], got {text!r}")
    try:
        rate = float(parts[1])
        latency_ms = float(parts[2]) if len(parts) == 3 else 0.0
    except ValueError:
        raise ValueError(f"throttle rate and latency must be numbers: {text!r}") from None
    return LinkMode("throttle", rate_bps=rate, latency_s=latency_ms / 1000.0)


def parse_schedule(text: str) -> list[tuple[float, LinkMode]]:
    """``60:pass,30:cut,...`` -> ``[(60.0, LinkMode("pass")), (30.0, LinkMode("cut")), ...]``."""
    out: list[tuple[float, LinkMode]] = []
    for item in text.split(","):
        duration, sep, mode = item.strip().partition(":")
        if not sep:
            raise ValueError(f"schedule entries are DURATION_S:MODE, got {item!r}")
        try:
            seconds = float(duration)
        except ValueError:
            raise ValueError(f"schedule duration must be a number: {item!r}") from None
        if seconds <= 0:
            raise ValueError(f"schedule duration must be > 0: {item!r}")
        out.append((seconds, parse_mode(mode)))
    if not out:
        raise ValueError("empty schedule")
    return out
