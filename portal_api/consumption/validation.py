"""Checks of a query's period before any store is asked: aware times, order, span.

Spans are counted in local calendar days of the query's zone (wall-clock
arithmetic), so a whole October in Europe/Sofia — 31 days and one hour — is a
31-day period, not one refused for an hour too many.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from portal_api.consumption.calendar import GROUP_BYS, RESOLUTIONS, GroupBy, Resolution
from portal_api.consumption.errors import QueryError

TWENTY_YEARS_DAYS = 20 * 365 + 5  # with their leap days

# Longest period per energy group_by (decision 0004): a page holds at most 5000
# intervals, and a longer 15-minute query is a CSV export's job, month by month.
ENERGY_MAX_DAYS: Mapping[GroupBy, int] = {
    "15min": 31,
    "hour": 366,
    "day": TWENTY_YEARS_DAYS,
    "week": TWENTY_YEARS_DAYS,
    "month": TWENTY_YEARS_DAYS,
}
# Per-phase series are read from the meter records themselves (one per minute):
# the longest period per resolution keeps a query to about 100 000 records.
PHASES_MAX_DAYS: Mapping[Resolution, int] = {"1min": 2, "15min": 14, "hour": 31, "day": 92}


def aware(name: str, t: datetime) -> datetime:
    """``t`` if it carries a UTC offset; QueryError otherwise (ambiguous across DST)."""
    if t.tzinfo is None or t.utcoffset() is None:
        raise QueryError(f"{name} must carry a UTC offset (ISO 8601, e.g. 2026-03-29T00:00+02:00)")
    return t


def check_period(
    period_from: datetime, period_to: datetime, tz: ZoneInfo, max_days: int, what: str
) -> tuple[int, int]:
    """UTC unix seconds of ``[period_from, period_to)`` after the checks.

    ``what`` names the granularity in the message (``group_by=15min``).
    """
    aware("period_from", period_from)
    aware("period_to", period_to)
    if period_to <= period_from:
        raise QueryError("period_to must be after period_from")
    try:
        limit = period_from.astimezone(tz) + timedelta(days=max_days)
    except OverflowError:  # near year 9999: no period that long can end in range anyway
        limit = datetime.max.replace(tzinfo=tz)
    if period_to > limit:
        raise QueryError(f"the period is longer than {max_days} days, the limit for {what}")
    return int(period_from.timestamp()), int(period_to.timestamp())


def parse_instant(text: str, tz: ZoneInfo, name: str) -> datetime:
    """A query bound: ISO 8601 with an offset, or a date meaning its local midnight in ``tz``.

    A date-time without an offset is refused (ambiguous twice a year); QueryError
    names the parameter.
    """
    value = text.strip()
    try:
        if len(value) == 10:  # YYYY-MM-DD
            day = date.fromisoformat(value)
            return datetime(day.year, day.month, day.day, tzinfo=tz)
        return aware(name, datetime.fromisoformat(value))
    except ValueError as exc:
        if isinstance(exc, QueryError):
            raise
        raise QueryError(f"{name} is not an ISO 8601 date or date-time: {text!r}") from exc


def check_group_by(group_by: str) -> GroupBy:
    """``group_by`` as a GroupBy; QueryError for anything else."""
    for known in GROUP_BYS:
        if group_by == known:
            return known
    raise QueryError(f"group_by must be one of {', '.join(GROUP_BYS)}")


def check_resolution(resolution: str) -> Resolution:
    """``resolution`` as a Resolution; QueryError for anything else."""
    for known in RESOLUTIONS:
        if resolution == known:
            return known
    raise QueryError(f"resolution must be one of {', '.join(RESOLUTIONS)}")


__all__ = [
    "ENERGY_MAX_DAYS",
    "PHASES_MAX_DAYS",
    "aware",
    "check_group_by",
    "check_period",
    "check_resolution",
    "parse_instant",
]
