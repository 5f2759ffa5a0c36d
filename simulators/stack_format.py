"""Number and time formats shared by the stack's console view and its plain output.

Times are shown in Europe/Sofia, where the sites are (records carry UTC).
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

__all__ = ["SITE_TZ", "kw", "kwh", "local", "local_iso", "size"]

SITE_TZ = ZoneInfo("Europe/Sofia")


def local(ts: float, fmt: str = "%H:%M") -> str:
    """UTC unix seconds as site-local time, e.g. ``14:03``."""
    return datetime.fromtimestamp(ts, SITE_TZ).strftime(fmt)


def local_iso(ts: float, timespec: str = "minutes") -> str:
    """UTC unix seconds as site-local ISO 8601 with offset: ``2026-03-02T14:03+02:00``."""
    return datetime.fromtimestamp(ts, SITE_TZ).isoformat(timespec=timespec)


def kw(watts: float | None) -> str:
    """Watts as kW with two decimals (10 W, the resolution that matters on a panel)."""
    return "-" if watts is None else f"{watts / 1000:.2f}"


def kwh(wh: int | None, grouping: bool = True) -> str:
    """A Wh counter as kWh with two decimals (the SDM630's own 10 Wh step)."""
    if wh is None:
        return "-"
    return f"{wh / 1000:,.2f}" if grouping else f"{wh / 1000:.2f}"


def size(n: int) -> str:
    """A byte count for people: ``812 B``, ``14.2 kB``, ``3.1 MB``."""
    if n < 1000:
        return f"{n} B"
    if n < 1_000_000:
        return f"{n / 1000:.1f} kB"
    return f"{n / 1_000_000:.1f} MB"
