"""The customer's notice of an interruption (General Terms 3.2б, 3.2в), through the outbox.

- 3.2в / 5.1 planned: the notice goes out when staff record the planned work, and at
  the latest 1 working day before its start; a planned interruption that has already
  begun is not announced any more (the check then shows the notice missing).
- 3.2б / 5.2 unplanned: once the problem has lasted more than 6 astronomical hours,
  within 1 working day; one recorded only after it ended AND after its notice day is
  not announced any more (old history imported later sends no stale e-mails).

One notice per interruption: ``EventRepository.claim_notice`` (contract,
INTERRUPTION, interruption id) is claimed first and the e-mail queued only after a
successful claim, exactly as the daily run's expiry notice (2.5), so a re-run or a
second portal instance sends nothing twice. When the company had recorded no notice
time, the e-mail's time becomes the interruption's ``notified_at``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from sqlalchemy.orm import Session

from portal_api.contracts.db.enums import NoticeKind
from portal_api.contracts.db.events_repository import EventRepository
from portal_api.contracts.db.records import InterruptionRecord
from portal_api.contracts.domain.dates import SOFIA, local_date
from portal_api.contracts.domain.interruption_checks import (
    counts_as_unplanned,
    unplanned_notice_check,
)
from portal_api.contracts.domain.interruptions import PLANNED_NOTICE_WORKING_DAYS, Interruption
from portal_api.domain.workdays import WorkingDays
from portal_api.notify.outbox import Outbox

__all__ = ["NOTICE_MAIL_KIND", "notice_due", "send_notice"]

NOTICE_MAIL_KIND = "contract_interruption"


def notice_due(item: Interruption, calendar: WorkingDays, now: dt.datetime) -> dt.date | None:
    """The last day the notice of ``item`` may go out, or None when none is due (yet)."""
    if item.kind == "planned":
        if item.start <= now:
            return None  # 3.2в announces work ahead; afterwards there is nothing to announce
        return calendar.add_working_days(local_date(item.start), -PLANNED_NOTICE_WORKING_DAYS)
    if not counts_as_unplanned(item, max(now, item.start)).value:
        return None  # 3.2б: only a problem of more than 6 hours is notified
    due = unplanned_notice_check(item, calendar).numbers["notice_by"]
    assert isinstance(due, dt.date)
    if item.end is not None and local_date(now) > due:
        return (
            None  # over and its notice day gone: an e-mail now tells nothing (the check shows it)
        )
    return due


def _local(moment: dt.datetime) -> str:
    return moment.astimezone(SOFIA).strftime("%d.%m.%Y %H:%M")


def _where(item: Interruption) -> str:
    if not item.sites:
        return "всички обекти по договора"
    return "обекти " + ", ".join(sorted(item.sites))


def _mail(item: Interruption, number: str, planned_end: dt.datetime | None) -> tuple[str, str]:
    """Subject and body in Bulgarian (the customer's language of the contract, 9.1)."""
    if item.kind == "planned":
        end = item.end or planned_end
        until = f" до {_local(end)}" if end is not None else ""
        subject = (
            f"Планирано прекъсване на услугата MyEnergy от {_local(item.start)} (договор {number})"
        )
        body = (
            f"Уведомяваме Ви, че поради планирани работи услугата MyEnergy по договор {number} "
            f"ще бъде прекъсната от {_local(item.start)}{until} ({_where(item)}).\n"
            "Уведомлението се изпраща не по-късно от 1 работен ден преди прекъсването "
            "(т. 3.2в от Общите условия); планираното прекъсване е до 2 работни дни "
            "(т. 5.1 от Общите условия)."
        )
        return subject, body
    ended = f" Услугата е възстановена на {_local(item.end)}." if item.end is not None else ""
    subject = f"Непланирано прекъсване на услугата MyEnergy (договор {number})"
    body = (
        f"Уведомяваме Ви, че от {_local(item.start)} услугата MyEnergy по договор {number} е "
        f"прекъсната ({_where(item)}).{ended}\n"
        "Уведомлението се изпраща в срок до 1 работен ден (т. 3.2б от Общите условия); "
        "неизправност в обхвата на отговорност на дружеството се отстранява в срок до 5 "
        "работни дни (т. 5.2 от Общите условия)."
    )
    return subject, body


def send_notice(
    session: Session,
    record: InterruptionRecord,
    email: str,
    *,
    calendar: WorkingDays,
    outbox: Outbox,
    now: dt.datetime,
    planned_end: dt.datetime | None = None,
) -> bool:
    """Queue the notice of ``record`` when one is due and none was sent; True if queued.

    ``planned_end`` (planned work only) is the announced end, told to the customer.
    """
    assert record.id is not None
    item = record.interruption
    due = notice_due(item, calendar, now)
    if due is None:
        return False
    events = EventRepository(session)
    notice = events.claim_notice(
        record.contract_number, NoticeKind.INTERRUPTION, str(record.id), due, now
    )
    if notice is None:
        return False  # sent before (by this run, an earlier one or another instance)
    subject, body = _mail(item, record.contract_number, planned_end)
    message = outbox.enqueue(session, email, subject, body, kind=NOTICE_MAIL_KIND)
    session.flush()
    events.attach_outbox(notice, message.id)
    if item.notified_at is None:
        events.save_interruption(record.id, replace(item, notified_at=now))
    return True
