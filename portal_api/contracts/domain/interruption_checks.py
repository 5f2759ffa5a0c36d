"""Checks of one interruption against the General Terms (3.2б, 3.2в, 5.1, 5.2).

- 3.2в / 5.1 planned: notice not later than 1 working day before; at most 2
  working days long.
- 5.2 / 3.2б unplanned: only a problem that blocks normal use for more than 6
  *astronomical* hours counts; the company notifies within 1 working day; faults
  in its scope are fixed within 5 working days of the day they were established
  (or reported by the customer); a device silent for more than 6 hours is a
  proposed interruption.

The value object and the limits: ``interruptions``; readings in
docs/contract-rules.md, "5.1" and "5.2".
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from portal_api.contracts.domain.dates import UTC, local_date
from portal_api.contracts.domain.decision import Decision, Number, RuleError
from portal_api.contracts.domain.interruptions import (
    PLANNED_MAX_WORKING_DAYS,
    PLANNED_NOTICE_WORKING_DAYS,
    UNPLANNED_FIX_WORKING_DAYS,
    UNPLANNED_MIN_DURATION,
    UNPLANNED_NOTICE_WORKING_DAYS,
    Interruption,
    as_decimal,
    astronomical_hours,
    require_aware,
    touched_working_days,
    working_days_duration,
)
from portal_api.domain.workdays import WorkingDays

__all__ = [
    "counts_as_unplanned",
    "fix_deadline",
    "planned_duration_check",
    "planned_notice_check",
    "proposed_from_silence",
    "unplanned_notice_check",
]


# ---------------------------------------------------------------- 5.1 planned


def planned_notice_check(item: Interruption, calendar: WorkingDays) -> Decision[bool]:
    """3.2в / 5.1: the notice must come not later than 1 working day before the start.

    The notice is in time when given on or before the working day preceding the
    local day the interruption starts (the hour of the notice does not matter).
    ``value``: the notice was in time.
    """
    if item.kind != "planned":
        raise RuleError("3.2в is about planned interruptions")
    start_day = local_date(item.start)
    latest = calendar.add_working_days(start_day, -PLANNED_NOTICE_WORKING_DAYS)
    numbers: dict[str, Number] = {
        "start": item.start,
        "start_day": start_day,
        "notice_by": latest,
        "notified_at": item.notified_at,
    }
    if item.notified_at is None:
        return Decision(
            value=False,
            clause="3.2c",
            reason_bg=f"Не е изпратено уведомление за планираното прекъсване; срокът беше "
            f"до {latest.isoformat()} (1 работен ден преди).",
            reason_en=f"No notice of the planned interruption was given; it was due by "
            f"{latest.isoformat()} (1 working day before).",
            numbers=numbers,
        )
    on = local_date(item.notified_at)
    ok = on <= latest and item.notified_at <= item.start
    numbers["notified_on"] = on
    return Decision(
        value=ok,
        clause="3.2c",
        reason_bg=(
            f"Уведомлението от {on.isoformat()} е "
            + ("в срок" if ok else "закъсняло")
            + f": планираното прекъсване започва на {start_day.isoformat()}, уведомление "
            f"най-късно на {latest.isoformat()}."
        ),
        reason_en=(
            f"The notice of {on.isoformat()} was "
            + ("in time" if ok else "late")
            + f": the planned interruption starts on {start_day.isoformat()}, notice due "
            f"by {latest.isoformat()}."
        ),
        numbers=numbers,
    )


def planned_duration_check(
    item: Interruption, calendar: WorkingDays, as_of: dt.datetime | None = None
) -> Decision[bool]:
    """5.1: a planned interruption lasts at most 2 working days. ``value``: within the limit."""
    if item.kind != "planned":
        raise RuleError("5.1 limits planned interruptions")
    end = item.until(as_of)
    length = working_days_duration(item.start, end, calendar)
    ok = length <= PLANNED_MAX_WORKING_DAYS
    return Decision(
        value=ok,
        clause="5.1",
        reason_bg=(
            f"Планираното прекъсване е продължило {as_decimal(length)} работни дни "
            + ("(до 2 допустими)." if ok else "(над допустимите 2): право на компенсация.")
        ),
        reason_en=(
            f"The planned interruption lasted {as_decimal(length)} working days "
            + ("(2 allowed)." if ok else "(over the 2 allowed): compensation is due.")
        ),
        numbers={
            "start": item.start,
            "end": end,
            "working_days": as_decimal(length),
            "touched_working_days": touched_working_days(item.start, end, calendar),
            "limit_working_days": PLANNED_MAX_WORKING_DAYS,
        },
    )


# ---------------------------------------------------------------- 5.2 unplanned


def counts_as_unplanned(item: Interruption, as_of: dt.datetime | None = None) -> Decision[bool]:
    """5.2 / 3.2б: an unplanned problem counts only if it lasts more than 6 astronomical hours."""
    if item.kind != "unplanned":
        raise RuleError("5.2 is about unplanned interruptions")
    elapsed = item.elapsed(as_of)
    counts = elapsed > UNPLANNED_MIN_DURATION
    hours = astronomical_hours(elapsed)
    return Decision(
        value=counts,
        clause="5.2",
        reason_bg=(
            f"Неизправността е продължила {hours} астрономически часа: "
            + ("повече от 6, прекъсване по т. 5.2." if counts else "не повече от 6, не се отчита.")
        ),
        reason_en=(
            f"The fault lasted {hours} astronomical hours: "
            + ("more than 6, an interruption under 5.2." if counts else "6 or fewer, not counted.")
        ),
        numbers={
            "start": item.start,
            "end": item.until(as_of),
            "hours": hours,
            "limit_hours": 6,
        },
    )


def _established(item: Interruption) -> dt.datetime:
    """When the fault was established: the earlier of the company's finding and the
    customer's report; the start when neither is known (the company's own
    monitoring sees a silent device from its first minute)."""
    known = [t for t in (item.detected_at, item.reported_by_customer_at) if t is not None]
    return min(known, key=lambda t: t.astimezone(UTC)) if known else item.start


def unplanned_notice_check(item: Interruption, calendar: WorkingDays) -> Decision[bool]:
    """3.2б: the company notifies within 1 working day of establishing a problem over 6 hours.

    The duty arises when the problem is known *and* has lasted 6 hours; the
    notice is due by the end of the next working day after that local day.
    ``value``: notified in time (a problem of 6 hours or less needs no notice).
    """
    if item.kind != "unplanned":
        raise RuleError("3.2б is about unplanned interruptions")
    long_enough = item.start.astimezone(UTC) + UNPLANNED_MIN_DURATION
    arises = max(_established(item).astimezone(UTC), long_enough)
    due = calendar.add_working_days(local_date(arises), UNPLANNED_NOTICE_WORKING_DAYS)
    numbers: dict[str, Number] = {
        "duty_arises": arises,
        "notice_by": due,
        "notified_at": item.notified_at,
    }
    if item.end is not None and item.elapsed() <= UNPLANNED_MIN_DURATION:
        return Decision(
            value=True,
            clause="3.2b",
            reason_bg="Проблемът не е траял повече от 6 часа: уведомление не се дължи.",
            reason_en="The problem lasted no more than 6 hours: no notice was due.",
            numbers=numbers,
        )
    ok = item.notified_at is not None and local_date(item.notified_at) <= due
    return Decision(
        value=ok,
        clause="3.2b",
        reason_bg=("Потребителят е уведомен в срок" if ok else "Потребителят не е уведомен в срок")
        + f" (до {due.isoformat()}, 1 работен ден).",
        reason_en=(
            "The customer was notified in time" if ok else "The customer was not notified in time"
        )
        + f" (by {due.isoformat()}, 1 working day).",
        numbers=numbers,
    )


def fix_deadline(
    item: Interruption, calendar: WorkingDays, as_of: dt.datetime | None = None
) -> Decision[dt.date]:
    """5.2: a fault in the company's scope is fixed within 5 working days of the day it was
    established or reported (that day not counted). ``value``: the last local day;
    ``allowed`` False when the fix came (or, still open at ``as_of``, will come) late."""
    if item.kind != "unplanned":
        raise RuleError("5.2 is about unplanned interruptions")
    established = _established(item)
    due = calendar.add_working_days(local_date(established), UNPLANNED_FIX_WORKING_DAYS)
    end = item.until(as_of)
    late = local_date(end) > due
    numbers: dict[str, Number] = {
        "established": established,
        "working_days": UNPLANNED_FIX_WORKING_DAYS,
        "fix_by": due,
        "fixed_at": item.end,
        "as_of": as_of,
        "company_fault": item.company_fault,
    }
    if not item.company_fault:
        return Decision(
            value=due,
            clause="5.2",
            reason_bg="Неизправността не е в обхвата на отговорност на дружеството: срокът "
            "от 5 работни дни не се прилага.",
            reason_en="The fault is not in the company's scope: the 5-working-day fix time "
            "does not apply.",
            numbers=numbers,
        )
    fixed = "отстранена" if item.end is not None else "неотстранена към момента"
    fixed_en = "fixed" if item.end is not None else "not fixed yet"
    return Decision(
        value=due,
        clause="5.2",
        reason_bg=f"Срок за отстраняване до {due.isoformat()} (5 работни дни от "
        f"{local_date(established).isoformat()}); неизправността е {fixed}"
        + (" след срока." if late else " в срока."),
        reason_en=f"Fix due by {due.isoformat()} (5 working days after "
        f"{local_date(established).isoformat()}); the fault was {fixed_en}"
        + (" after the deadline." if late else " within the deadline."),
        allowed=not late,
        numbers=numbers,
    )


def proposed_from_silence(
    device_id: str,
    silent_since: dt.datetime,
    now: dt.datetime,
    sites: Iterable[str] = (),
) -> Decision[Interruption | None]:
    """5.2: a device silent for more than 6 astronomical hours -> a proposed unplanned
    interruption (staff confirm it and its cause).

    Fed by ingest's ``DeviceStateStore.interruption_candidates`` (epoch seconds:
    the adapter turns them into aware datetimes). The fault is presumed to be the
    company's (its equipment; ЗЗД art. 81 presumes the debtor's fault) until
    staff find a cause outside its scope (6.6ж mobile network, 5.3 customer).
    The company's monitoring sees the silence from its start: it is established then.
    """
    require_aware("silent_since", silent_since)
    require_aware("now", now)
    silent = now.astimezone(UTC) - silent_since.astimezone(UTC)
    hours = astronomical_hours(silent)
    numbers: dict[str, Number] = {
        "device_id": device_id,
        "silent_since": silent_since,
        "now": now,
        "hours": hours,
        "limit_hours": 6,
    }
    if silent <= UNPLANNED_MIN_DURATION:
        return Decision(
            value=None,
            clause="5.2",
            reason_bg=f"Устройството мълчи {hours} часа: не повече от 6, не е прекъсване.",
            reason_en=f"The device has been silent {hours} hours: 6 or fewer, no interruption.",
            allowed=False,
            numbers=numbers,
        )
    proposal = Interruption(
        kind="unplanned",
        start=silent_since,
        end=None,
        company_fault=True,
        sites=frozenset(sites),
        detected_at=silent_since,
        device_id=device_id,
    )
    return Decision(
        value=proposal,
        clause="5.2",
        reason_bg=f"Устройството мълчи {hours} часа (повече от 6): предлага се непланирано "
        "прекъсване от началото на мълчанието; служител потвърждава причината.",
        reason_en=f"The device has been silent {hours} hours (more than 6): an unplanned "
        "interruption from the start of the silence is proposed; staff confirm the cause.",
        numbers=numbers,
    )
