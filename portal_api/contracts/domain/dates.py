"""Calendar arithmetic shared by the rules of the General Terms (ЗЗД art. 72).

ЗЗД art. 72(1): a period in days is counted from the day after the event, so
"14 days after d" is ``d + 14 days``. Art. 72(2): a period in months ends on the
corresponding day of the last month, or on that month's last day when it has no
such day (31 January + 1 month -> 28/29 February): :func:`add_months`. Art.
72(3): a period whose last day is not a working day ends on the next working day:
:func:`next_working_day_if_off`.

The months of a subscription run from the first day of a month (2.3), hence
:func:`first_of_month`, :func:`first_of_next_month` and :func:`month_end`.
Local calendar days are those of Europe/Sofia (:data:`SOFIA`, :func:`local_date`).
"""

from __future__ import annotations

import calendar as _calendar
import datetime as dt
from zoneinfo import ZoneInfo

from portal_api.domain.workdays import WorkingDays

__all__ = [
    "SOFIA",
    "UTC",
    "add_months",
    "first_of_month",
    "first_of_next_month",
    "local_date",
    "month_end",
    "next_working_day_if_off",
]

SOFIA = ZoneInfo("Europe/Sofia")
UTC = dt.UTC


def add_months(day: dt.date, months: int) -> dt.date:
    """The corresponding day ``months`` later (or earlier, when negative); the month's last
    day when it has no such day (ЗЗД art. 72(2): 31 Jan + 1 month -> 28/29 Feb)."""
    index = day.year * 12 + day.month - 1 + months
    year, month0 = divmod(index, 12)
    last = _calendar.monthrange(year, month0 + 1)[1]
    return dt.date(year, month0 + 1, min(day.day, last))


def first_of_month(day: dt.date) -> dt.date:
    """The first day of ``day``'s month."""
    return day.replace(day=1)


def first_of_next_month(day: dt.date) -> dt.date:
    """The first day of the month after ``day``'s month."""
    return add_months(first_of_month(day), 1)


def month_end(day: dt.date) -> dt.date:
    """The last day of ``day``'s month (28, 29, 30 or 31)."""
    return day.replace(day=_calendar.monthrange(day.year, day.month)[1])


def next_working_day_if_off(day: dt.date, calendar: WorkingDays) -> dt.date:
    """ЗЗД art. 72(3): a term ending on a non-working day ends on the next working day."""
    return day if calendar.is_working_day(day) else calendar.next_working_day(day)


def local_date(moment: dt.datetime) -> dt.date:
    """The Europe/Sofia calendar day of an aware moment."""
    return moment.astimezone(SOFIA).date()
