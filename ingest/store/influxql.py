"""InfluxQL text helpers: quoting and time literals in the subset 1.8+, 2.x and 3.x accept."""

from __future__ import annotations

from datetime import UTC, datetime


def ident(name: str) -> str:
    """A double-quoted identifier (measurement, tag, field, database, policy)."""
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def string(value: str) -> str:
    """A single-quoted string literal (tag values)."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


# InfluxDB times are int64 nanoseconds: 1677-09-21 .. 2262-04-11. Bounds beyond
# are clamped, so "everything" can be asked for as [0, 2**40).
_MIN_S = -9_223_372_035
_MAX_S = 9_223_372_035


def time_literal(ts: int) -> str:
    """RFC 3339 UTC: understood by every InfluxQL version, unlike epoch-with-unit literals."""
    ts = min(max(ts, _MIN_S), _MAX_S)
    return string(datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))


def time_range(start: int, end: int) -> str:
    """The [start, end) condition on time."""
    return f"time >= {time_literal(start)} AND time < {time_literal(end)}"


def source(database: str, rp: str, measurement: str) -> str:
    """A fully qualified measurement; the default policy when ``rp`` is empty."""
    if not rp:
        return ident(measurement)
    return f"{ident(database)}.{ident(rp)}.{ident(measurement)}"
