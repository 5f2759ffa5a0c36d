"""Small builders shared by the rollup tests."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from ingest.rollup import CounterReading

SOFIA = ZoneInfo("Europe/Sofia")
WRAP32 = 2**32  # a 32-bit Wh register wraps to 0 after 4_294_967_295
MAX_WH_PER_S = 100_000 / 3600  # a 100 kW site


def utc(y: int, mo: int, d: int, h: int = 0, mi: int = 0) -> int:
    """Unix seconds of a UTC wall time."""
    return int(datetime(y, mo, d, h, mi, tzinfo=UTC).timestamp())


def sofia(y: int, mo: int, d: int, h: int = 0, mi: int = 0, *, fold: int = 0) -> int:
    """Unix seconds of a Europe/Sofia wall time (``fold=1``: the second 03:xx in autumn)."""
    return int(datetime(y, mo, d, h, mi, tzinfo=SOFIA, fold=fold).timestamp())


def steady(
    start: int, end: int, step_s: int, wh_per_step: int, wh0: int = 0
) -> list[CounterReading]:
    """Readings every ``step_s`` from ``start`` to ``end`` inclusive at constant power."""
    return [
        CounterReading(ts, wh0 + i * wh_per_step)
        for i, ts in enumerate(range(start, end + 1, step_s))
    ]
