"""The Bulgarian working-day calendar (deadlines of the General Terms: 1.3, 4.4, 5.x).

Built on ``holidays.country_holidays("BG")`` (holidays 0.109), which models the
Labour Code holidays including Orthodox Easter Friday to Monday, the rule in
force since 2017 that a holiday falling on a Saturday or Sunday moves to the
next working day(s) (e.g. 2026-12-26, a Saturday, gives Monday 2026-12-28 off),
one-off government decisions (2025-12-31, 2026-01-02) and, for older years,
Saturdays worked in exchange (``weekend_workdays``). Nothing is hand-listed here.

Conventions: ``add_working_days(d, n)`` counts working days *after* ``d`` (``d``
itself never counts, so "within 3 working days of a request received on d" ends
on ``add_working_days(d, 3)``); ``working_days_between(a, b)`` counts the
working days in ``(a, b]``, its inverse.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterable

import holidays

COUNTRY = "BG"
_SATURDAY = 5


class WorkingDays:
    """Working days in Bulgaria; thread-safe, years loaded when first asked.

    ``extra_holidays`` / ``extra_workdays`` take a one-off government decision the
    installed holidays release does not know yet (configuration, not code).
    """

    def __init__(
        self,
        extra_holidays: Iterable[dt.date] = (),
        extra_workdays: Iterable[dt.date] = (),
    ) -> None:
        self._extra_holidays = frozenset(extra_holidays)
        self._extra_workdays = frozenset(extra_workdays)
        self._lock = threading.Lock()
        # year -> (days off on weekdays, weekend days that are worked)
        self._years: dict[int, tuple[frozenset[dt.date], frozenset[dt.date]]] = {}

    def _year(self, year: int) -> tuple[frozenset[dt.date], frozenset[dt.date]]:
        found = self._years.get(year)
        if found is not None:
            return found
        with self._lock:
            found = self._years.get(year)
            if found is None:
                # A holidays object fills itself lazily on lookup (not thread-safe):
                # read one year into immutable sets under the lock instead.
                calendar = holidays.country_holidays(COUNTRY, years=year)
                off = frozenset(d for d in calendar if isinstance(d, dt.date))
                worked = frozenset(d for d in calendar.weekend_workdays if d.year == year)
                found = (off, worked)
                self._years[year] = found
        return found

    def is_working_day(self, day: dt.date) -> bool:
        """Monday to Friday and not a holiday, or a Saturday declared a working day."""
        if day in self._extra_holidays:
            return False
        if day in self._extra_workdays:
            return True
        off, worked = self._year(day.year)
        if day.weekday() >= _SATURDAY:
            return day in worked
        return day not in off

    def holiday_name(self, day: dt.date) -> str | None:
        """The official (Bulgarian) name of the holiday on ``day``, if any."""
        name = holidays.country_holidays(COUNTRY, years=day.year).get(day)
        return str(name) if name is not None else None

    def next_working_day(self, day: dt.date) -> dt.date:
        """The first working day strictly after ``day``."""
        return self.add_working_days(day, 1)

    def add_working_days(self, day: dt.date, n: int) -> dt.date:
        """The ``n``-th working day after ``day`` (before it for negative ``n``;
        ``day`` itself for 0, working day or not)."""
        step = dt.timedelta(days=1 if n >= 0 else -1)
        remaining = abs(n)
        current = day
        while remaining:
            current += step
            if self.is_working_day(current):
                remaining -= 1
        return current

    def working_days_between(self, start: dt.date, end: dt.date) -> int:
        """How many working days lie in ``(start, end]`` (negative when ``end < start``)."""
        if end < start:
            return -self.working_days_between(end, start)
        count = 0
        current = start
        while current < end:
            current += dt.timedelta(days=1)
            count += self.is_working_day(current)
        return count


__all__ = ["WorkingDays"]
