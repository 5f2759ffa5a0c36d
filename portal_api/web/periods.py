"""The history page's periods: a day, an ISO week, a month or a year around a date.

Each view fixes the bar resolution (``group_by``) and the per-phase resolution,
within the consumption service's span limits: phases of a year are asked in
quarters (a ``day`` series is limited to 92 days per query).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal
from zoneinfo import ZoneInfo

from portal_api.consumption.calendar import GroupBy, Resolution
from portal_api.consumption.schemas import EnergyInterval

__all__ = ["VIEWS", "HistoryPeriod", "View", "history_period", "period_summary"]

View = Literal["day", "week", "month", "year"]
VIEWS: tuple[View, ...] = ("day", "week", "month", "year")
_GROUP_BY: dict[View, GroupBy] = {"day": "15min", "week": "hour", "month": "day", "year": "month"}
_PHASES: dict[View, Resolution] = {"day": "15min", "week": "hour", "month": "hour", "year": "day"}


@dataclass(frozen=True)
class HistoryPeriod:
    view: View
    first: dt.date  # first local day of the period
    end: dt.date  # first local day after it
    group_by: GroupBy
    phase_resolution: Resolution

    def start_at(self, tz: ZoneInfo) -> dt.datetime:
        return dt.datetime.combine(self.first, dt.time(), tzinfo=tz)

    def end_at(self, tz: ZoneInfo) -> dt.datetime:
        return dt.datetime.combine(self.end, dt.time(), tzinfo=tz)

    def previous_day(self) -> dt.date:
        """A date inside the previous period of the same view."""
        return self.first - dt.timedelta(days=1)

    def phase_chunks(self) -> list[tuple[dt.date, dt.date]]:
        """[first, end) split into pieces the phases API accepts in one query."""
        if self.view != "year":
            return [(self.first, self.end)]
        chunks = []
        for month in (1, 4, 7, 10):
            start = dt.date(self.first.year, month, 1)
            stop = (
                dt.date(self.first.year + 1, 1, 1)
                if month == 10
                else dt.date(self.first.year, month + 3, 1)
            )
            chunks.append((start, stop))
        return chunks


def _next_month(day: dt.date) -> dt.date:
    return dt.date(day.year + day.month // 12, day.month % 12 + 1, 1)


def history_period(view: View, day: dt.date) -> HistoryPeriod:
    """The ``view`` period that contains ``day`` (weeks start on Monday, ISO)."""
    if view == "day":
        first, end = day, day + dt.timedelta(days=1)
    elif view == "week":
        first = day - dt.timedelta(days=day.weekday())
        end = first + dt.timedelta(days=7)
    elif view == "month":
        first = day.replace(day=1)
        end = _next_month(first)
    else:
        first = dt.date(day.year, 1, 1)
        end = dt.date(day.year + 1, 1, 1)
    return HistoryPeriod(view, first, end, _GROUP_BY[view], _PHASES[view])


def period_summary(
    rows: list[EnergyInterval], now: dt.datetime
) -> tuple[float | None, float | None]:
    """Total imported kWh and the duration-weighted completeness of the intervals
    that have begun by ``now`` (the rest of today is not missing data, it is the
    future); None, None when none has begun."""
    begun = [r for r in rows if r.interval_start < now]
    if not begun:
        return None, None
    seconds = [(r.interval_end - r.interval_start).total_seconds() for r in begun]
    completeness = sum(r.completeness * s for r, s in zip(begun, seconds, strict=True)) / sum(
        seconds
    )
    values = [r.import_kwh for r in begun if r.import_kwh is not None]
    return (round(sum(values), 3) if values else None), completeness
