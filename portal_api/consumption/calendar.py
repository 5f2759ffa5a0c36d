"""The intervals of a query: 1- and 15-minute slots, local hours, days, ISO weeks, months.

Local hours, days and months are ingest's own ``bucket_bounds`` (ingest/rollup,
Europe/Sofia by default, DST-correct: a day is 23, 24 or 25 hours). The ISO week
(Monday 00:00 local to the next Monday) lives here rather than in ingest: ingest
stores no week rows, only the portal groups by week. Minutes and quarter-hours
are UTC-aligned, like the stored 15-minute rows; in any zone whose offset is a
whole number of quarter-hours (every zone in use) they are local ones too.

Every bound is UTC unix seconds; a period is half-open, ``[start, end)``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ingest.rollup import bucket_bounds
from portal_api.consumption.errors import QueryError

GroupBy = Literal["15min", "hour", "day", "week", "month"]
Resolution = Literal["1min", "15min", "hour", "day"]
Unit = Literal["1min", "15min", "hour", "day", "week", "month"]
GROUP_BYS: tuple[GroupBy, ...] = get_args(GroupBy)
RESOLUTIONS: tuple[Resolution, ...] = get_args(Resolution)

_FIXED_S = {"1min": 60, "15min": 900}


def zone(name: str) -> ZoneInfo:
    """The IANA zone ``name``; QueryError when it is not one."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise QueryError(f"unknown time zone {name!r} (IANA name, e.g. Europe/Sofia)") from exc


def week_bounds(ts: int, tz: ZoneInfo) -> tuple[int, int]:
    """UTC ``[start, end)`` of the ISO week (Monday 00:00 local) holding instant ``ts``."""
    local = datetime.fromtimestamp(ts, tz)
    monday = datetime(local.year, local.month, local.day, tzinfo=tz) - timedelta(
        days=local.weekday()
    )
    # wall-clock arithmetic: Monday to Monday, 167, 168 or 169 hours across DST
    return int(monday.timestamp()), int((monday + timedelta(days=7)).timestamp())


def interval_bounds(ts: int, unit: Unit, tz: ZoneInfo) -> tuple[int, int]:
    """UTC ``[start, end)`` of the ``unit`` interval holding instant ``ts`` in ``tz``."""
    if unit in _FIXED_S:
        step = _FIXED_S[unit]
        start = ts - ts % step
        return start, start + step
    if unit == "week":
        return week_bounds(ts, tz)
    if unit in ("hour", "day", "month"):
        return bucket_bounds(ts, unit, tz)
    raise QueryError(f"unknown interval {unit!r}")


def intervals(start: int, end: int, unit: Unit, tz: ZoneInfo) -> list[tuple[int, int]]:
    """Every ``unit`` interval that overlaps ``[start, end)``, in order.

    The first is the one holding ``start`` and the last the one holding
    ``end - 1``: a period that does not begin or end on a bound is widened to
    whole intervals, never cut (a partial day would read as a low day).
    """
    out: list[tuple[int, int]] = []
    t = start
    while t < end:
        bounds = interval_bounds(t, unit, tz)
        out.append(bounds)
        t = bounds[1]
    return out


__all__ = [
    "GROUP_BYS",
    "RESOLUTIONS",
    "GroupBy",
    "Resolution",
    "Unit",
    "interval_bounds",
    "intervals",
    "week_bounds",
    "zone",
]
