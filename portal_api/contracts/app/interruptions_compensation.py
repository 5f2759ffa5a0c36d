"""5.1 / 5.2 compensation: one free month added to the term per breach, applied by the engine.

A free month is the customer's right ("се добавя"), not an option of the company, so
the engine applies it without waiting for staff: it records a FREE_MONTH_GRANTED
decision (state confirmed, with the domain's explanation) and lengthens the
contract (``free_months`` + 1, ``subscription_end`` one month later, 2.2).

One decision per breach, with a subject that names the breach, so a re-run (the
daily step, a second staff edit) grants nothing twice:

- ``interruption:<id>`` — a planned interruption over 2 working days (5.1) or an
  unplanned fault in the company's scope fixed after 5 working days (5.2);
- ``planned-year:<first day>`` / ``unplanned-year:<first day>`` — a subscription
  year with more than 10 planned / 20 unplanned interruptions by the company's
  fault (docs/contract-rules.md "5.1": the 11th, 12th... add nothing more).

Which breaches exist is decided by ``interruption_remedies.free_months`` alone: a
single interruption's own breach is ``free_months([it])`` (one interruption can never
exceed a yearly count), the years are the ones its ``*_frequency_years`` numbers name.
A month once granted is not taken back if staff later change the facts (e.g. mark
the interruption as obstructed, 6.7): that is a correction for staff to handle.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from sqlalchemy.orm import Session

from portal_api.contracts.db.enums import DecisionKind
from portal_api.contracts.db.events_repository import EventRepository
from portal_api.contracts.db.repository import ContractRepository
from portal_api.contracts.domain.contract import ContractState
from portal_api.contracts.domain.dates import local_date
from portal_api.contracts.domain.interruption_remedies import free_months
from portal_api.contracts.domain.term import subscription_end
from portal_api.domain.workdays import WorkingDays

__all__ = ["COMPENSATED_STATES", "grant_free_months"]

# A contract whose term still runs; an ended one has no term left to lengthen.
COMPENSATED_STATES = (ContractState.ACTIVE, ContractState.SUSPENDED)
_CAUSES = ("planned", "unplanned")


def _year_starts(label: object) -> list[str]:
    """First days of the years in a ``free_months`` label ("2025-02-01..2026-02-01, ...")."""
    if not isinstance(label, str) or not label:
        return []
    return [part.split("..")[0].strip() for part in label.split(",")]


def grant_free_months(
    session: Session, contract_number: str, *, calendar: WorkingDays, now: dt.datetime
) -> int:
    """Grant the free months earned by ``contract_number``'s interruptions as of ``now``
    and not granted yet; returns how many were added (0 on a re-run)."""
    contracts = ContractRepository(session)
    events = EventRepository(session)
    record = contracts.contract(contract_number)
    if record is None or record.contract.state not in COMPENSATED_STATES:
        return 0
    start = record.contract.subscription_start
    if start is None:
        return 0  # 2.3: no subscription year yet to count in
    term = record.contract.period_months
    on = local_date(now)
    happened = [r for r in events.interruptions(contract_number) if r.interruption.start <= now]
    granted = 0
    for item in happened:
        own = free_months([item.interruption], start, term, calendar, now)
        if own.value > 0 and events.record_applied(
            contract_number,
            DecisionKind.FREE_MONTH_GRANTED,
            f"interruption:{item.id}",
            on,
            own,
            at=now,
        ):
            granted += 1
    overall = free_months([r.interruption for r in happened], start, term, calendar, now)
    for cause in _CAUSES:
        for first in _year_starts(overall.numbers.get(f"{cause}_frequency_years")):
            if events.record_applied(
                contract_number,
                DecisionKind.FREE_MONTH_GRANTED,
                f"{cause}-year:{first}",
                on,
                overall,
                at=now,
            ):
                granted += 1
    if granted:
        total = record.free_months + granted
        end = subscription_end(start, term, total).value
        contracts.save_contract(
            replace(record, free_months=total, contract=record.contract.with_(subscription_end=end))
        )
    return granted
