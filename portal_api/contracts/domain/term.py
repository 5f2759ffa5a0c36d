"""Access and term: credentials (1.6), subscription start and end (2.2, 2.3), renewal (2.4),
expiry notice (2.5).

Readings (docs/contract-rules.md):

- 1.6: the credentials are due 14 calendar days after the later of installation
  and the signing of the handover protocols; a term whose last day is not a
  working day ends on the next working day (ЗЗД art. 72(3)). The 1.3 maximum
  (installation AND access) also binds: when the 1.3 deadline is earlier and not
  yet past at installation, it is the due date.
- 2.3: the subscription starts on the first day of the month after the month the
  credentials were received (2.3a), or after the month the previous contract
  expired (2.3b, a renewal signed no later than that expiry).
- 2.2 / 5.x: the subscription ends on the last day of its 12th / 24th month, plus
  one month per free month granted as compensation under 5.1 / 5.2.
- 2.5: the latest day for the expiry notice is 14 calendar days before the last
  day of the subscription; it is not moved for non-working days (e-mail and the
  web site, 9.1b, work every day, and moving it later would shorten the notice).
"""

from __future__ import annotations

import datetime as dt

from portal_api.contracts.domain.contract import SUBSCRIPTION_PERIODS
from portal_api.contracts.domain.dates import (
    add_months,
    first_of_next_month,
    next_working_day_if_off,
)
from portal_api.contracts.domain.decision import Decision, Number, RuleError
from portal_api.domain.workdays import WorkingDays

__all__ = [
    "CREDENTIALS_DAYS",
    "EXPIRY_NOTICE_DAYS",
    "check_expiry_notice",
    "credentials_due",
    "latest_expiry_notice",
    "renewal_start",
    "subscription_end",
    "subscription_start",
]

CREDENTIALS_DAYS = 14  # 1.6
EXPIRY_NOTICE_DAYS = 14  # 2.5


def credentials_due(
    installed_on: dt.date,
    protocols_signed_on: dt.date,
    calendar: WorkingDays,
    installation_deadline: dt.date | None = None,
) -> Decision[dt.date]:
    """1.6: the last day to send the username and password to the contract's e-mail."""
    if protocols_signed_on < installed_on:
        raise RuleError("1.4.2: the handover protocol is signed after the installation")
    start = protocols_signed_on
    plain = start + dt.timedelta(days=CREDENTIALS_DAYS)
    due = next_working_day_if_off(plain, calendar)
    numbers: dict[str, Number] = {
        "installed_on": installed_on,
        "protocols_signed_on": protocols_signed_on,
        "days": CREDENTIALS_DAYS,
        "day_14": plain,
        "moved_to_working_day": due != plain,
        "installation_deadline_1_3": installation_deadline,
    }
    if installation_deadline is not None and start <= installation_deadline < due:
        return Decision(
            value=installation_deadline,
            clause="1.6",
            reason_bg=(
                f"Достъпът се предоставя до {installation_deadline:%d.%m.%Y}: крайният срок "
                "по т. 1.3 за инсталиране и достъп изтича преди 14-ия ден по т. 1.6."
            ),
            reason_en=(
                f"Access is due by {installation_deadline.isoformat()}: the 1.3 deadline for "
                "installation and access ends before day 14 of 1.6."
            ),
            numbers=numbers,
        )
    return Decision(
        value=due,
        clause="1.6",
        reason_bg=(
            f"Потребителско име и парола се изпращат до {due:%d.%m.%Y}: 14 календарни дни "
            "след подписване на приемо-предавателните протоколи"
            + (", преместено на първия работен ден (чл. 72, ал. 3 ЗЗД)." if due != plain else ".")
        ),
        reason_en=(
            f"Credentials are due by {due.isoformat()}: 14 calendar days after the handover "
            "protocols were signed"
            + (", moved to the next working day (ZZD art. 72(3))." if due != plain else ".")
        ),
        numbers=numbers,
    )


def subscription_start(credentials_received_on: dt.date) -> Decision[dt.date]:
    """2.3a (first contract): the month after the month the credentials were received."""
    start = first_of_next_month(credentials_received_on)
    return Decision(
        value=start,
        clause="2.3a",
        reason_bg=(
            f"Абонаментът започва на {start:%d.%m.%Y}: месецът след получаване на "
            "потребителско име и парола."
        ),
        reason_en=(
            f"The subscription starts on {start.isoformat()}: the month after the credentials "
            "were received."
        ),
        numbers={"credentials_received_on": credentials_received_on, "start": start},
    )


def renewal_start(previous_end: dt.date, new_signed_on: dt.date | None = None) -> Decision[dt.date]:
    """2.3b, 2.4: a new contract continuing the previous one starts the month after it expired.

    If the new contract is signed only after the previous one expired, the service
    stopped in between (7.6): 2.3b does not reach back, the new contract starts as
    a first one (2.3a, the month after new credentials) and the Decision is refused.
    ``new_signed_on`` None: the caller already holds a renewal signed in time (billing).
    """
    start = first_of_next_month(previous_end)
    numbers: dict[str, Number] = {
        "previous_end": previous_end,
        "new_signed_on": new_signed_on,
        "start": start,
    }
    if new_signed_on is not None and new_signed_on > previous_end:
        return Decision(
            value=start,
            clause="2.3b",
            reason_bg=(
                "Новият договор е подписан след изтичане на предходния; услугата е "
                "преустановена (т. 7.6) и абонаментът започва по т. 2.3а."
            ),
            reason_en=(
                "The new contract was signed after the previous one expired; the service "
                "stopped (7.6) and the subscription starts under 2.3a."
            ),
            allowed=False,
            numbers=numbers,
        )
    return Decision(
        value=start,
        clause="2.3b",
        reason_bg=(
            f"Новият договор започва на {start:%d.%m.%Y}: месецът след изтичане на "
            "предходния договор (т. 2.3б, 2.4)."
        ),
        reason_en=(
            f"The new contract starts on {start.isoformat()}: the month after the previous "
            "contract expired (2.3b, 2.4)."
        ),
        numbers=numbers,
    )


def subscription_end(start: dt.date, period_months: int, free_months: int = 0) -> Decision[dt.date]:
    """2.2: the last day of the subscription; 5.1/5.2 free months lengthen it."""
    if start.day != 1:
        raise RuleError(f"2.3: a subscription starts on the first of a month, got {start}")
    if period_months not in SUBSCRIPTION_PERIODS:
        raise RuleError(f"2.2: the period is 12 or 24 months, got {period_months}")
    if free_months < 0:
        raise RuleError(f"5.x: free months cannot be negative, got {free_months}")
    months = period_months + free_months
    end = add_months(start, months) - dt.timedelta(days=1)
    return Decision(
        value=end,
        clause="2.2",
        reason_bg=(
            f"Абонаментът изтича на {end:%d.%m.%Y}: {period_months} месеца"
            + (f" и {free_months} безплатни месеца (т. 5.1/5.2)." if free_months else ".")
        ),
        reason_en=(
            f"The subscription ends on {end.isoformat()}: {period_months} months"
            + (f" and {free_months} free months (5.1/5.2)." if free_months else ".")
        ),
        numbers={
            "start": start,
            "period_months": period_months,
            "free_months": free_months,
            "end": end,
        },
    )


def latest_expiry_notice(end: dt.date) -> Decision[dt.date]:
    """2.5: the last day on which the company may notify the coming expiry."""
    latest = end - dt.timedelta(days=EXPIRY_NOTICE_DAYS)
    return Decision(
        value=latest,
        clause="2.5",
        reason_bg=(
            f"Уведомлението за изтичане се изпраща не по-късно от {latest:%d.%m.%Y}: "
            f"най-малко 14 календарни дни преди {end:%d.%m.%Y}."
        ),
        reason_en=(
            f"The expiry notice is sent no later than {latest.isoformat()}: at least 14 "
            f"calendar days before {end.isoformat()}."
        ),
        numbers={"end": end, "days": EXPIRY_NOTICE_DAYS, "latest": latest},
    )


def check_expiry_notice(end: dt.date, sent_on: dt.date) -> Decision[bool]:
    """2.5: was a notice sent on ``sent_on`` early enough?"""
    latest = latest_expiry_notice(end).value
    ok = sent_on <= latest
    return Decision(
        value=ok,
        clause="2.5",
        reason_bg=(
            "Уведомлението е изпратено навреме."
            if ok
            else f"Уведомлението е закъсняло: срокът е бил {latest:%d.%m.%Y}."
        ),
        reason_en=(
            "The notice was sent in time."
            if ok
            else f"The notice was late: it was due by {latest.isoformat()}."
        ),
        allowed=ok,
        numbers={
            "end": end,
            "sent_on": sent_on,
            "latest": latest,
            "days_before_end": (end - sent_on).days,
        },
    )
