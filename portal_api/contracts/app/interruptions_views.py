"""Interruptions of the Service, the read side: what the API, the pages and the CLI
show (General Terms 5.1, 5.2, 5.3, 6.7, 7.5б).

- one interruption with every check explained (interruptions_checks);
- the list (staff: all; a customer: its own contracts');
- a contract's summary with its free months and the 7.5б right to terminate (shown;
  the customer chooses);
- the silent-device proposals staff have not answered yet (5.2).

Also ``InterruptionError``, the refusal both sides raise, and the lookups both sides
need (a contract, an interruption: 404 when unknown). The changes (open, update,
confirm a proposal) are in ``interruptions``, which imports this module, never the
other way round. Nothing here writes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy.orm import Session

from portal_api.contracts.app.interruptions_checks import (
    Measures,
    Remedies,
    checks_of,
    frequency_line,
    measures_of,
    remedies_of,
)
from portal_api.contracts.db.enums import (
    DecisionKind,
    DecisionState,
    InterruptionSource,
    NoticeKind,
)
from portal_api.contracts.db.events_repository import EventRepository
from portal_api.contracts.db.records import (
    ContractRecord,
    DecisionRecord,
    InterruptionRecord,
    NoticeRecord,
)
from portal_api.contracts.db.repository import ContractRepository
from portal_api.contracts.domain.decision import Decision
from portal_api.contracts.domain.interruptions import Interruption, Kind
from portal_api.domain.workdays import WorkingDays

__all__ = [
    "ContractInterruptions",
    "InterruptionError",
    "InterruptionView",
    "contract_interruptions",
    "interruption_view",
    "list_interruptions",
    "pending_proposals",
]


class InterruptionError(Exception):
    """A refused operation: ``status`` 400 (bad input), 404 (no such object) or 409
    (the state refuses it); the reason in English and Bulgarian."""

    def __init__(self, status: Literal[400, 404, 409], reason_en: str, reason_bg: str) -> None:
        super().__init__(reason_en)
        self.status = status
        self.reason_en = reason_en
        self.reason_bg = reason_bg

    def reason(self, lang: str) -> str:
        return self.reason_bg if lang == "bg" else self.reason_en


def _not_found(what: str) -> InterruptionError:
    return InterruptionError(404, f"{what} not found", "Не е намерено.")


@dataclass(frozen=True)
class InterruptionView:
    """One interruption as the API and the pages show it."""

    record: InterruptionRecord
    customer_id: int
    measures: Measures
    checks: list[Decision[Any]]
    notice: NoticeRecord | None
    free_month: DecisionRecord | None  # the month its own breach earned (5.1 / 5.2)

    @property
    def id(self) -> int:
        assert self.record.id is not None
        return self.record.id

    @property
    def item(self) -> Interruption:
        return self.record.interruption


@dataclass(frozen=True)
class ContractInterruptions:
    """A contract's interruptions with what they give the customer."""

    contract: ContractRecord
    items: list[InterruptionView]
    remedies: Remedies | None
    grants: list[DecisionRecord] = field(default_factory=list)


# -- lookups (both sides) -----------------------------------------------------------------


def _contract(session: Session, number: str) -> ContractRecord:
    record = ContractRepository(session).contract(number)
    if record is None:
        raise _not_found(f"contract {number}")
    return record


def _record(session: Session, interruption_id: int) -> InterruptionRecord:
    record = EventRepository(session).interruption(interruption_id)
    if record is None:
        raise _not_found(f"interruption {interruption_id}")
    return record


# -- reads ------------------------------------------------------------------------------


def _grants(session: Session, number: str) -> list[DecisionRecord]:
    return [
        d
        for d in EventRepository(session).decisions(number)
        if d.kind is DecisionKind.FREE_MONTH_GRANTED
    ]


def _view(
    session: Session,
    record: InterruptionRecord,
    contract: ContractRecord,
    grants: Sequence[DecisionRecord],
    siblings: Sequence[Interruption],
    *,
    calendar: WorkingDays,
    now: dt.datetime,
) -> InterruptionView:
    """``siblings``: every interruption of the contract (the yearly counts of 5.1 / 5.2)."""
    assert record.id is not None
    subject = f"interruption:{record.id}"
    checks = checks_of(record.interruption, calendar, now)
    frequency = frequency_line(
        record.interruption,
        siblings,
        subscription_start=contract.contract.subscription_start,
        term_months=contract.contract.period_months,
        now=now,
    )
    if frequency is not None:
        checks.insert(-2, frequency)  # after the kind's own checks, before 5.3 and 6.7
    return InterruptionView(
        record=record,
        customer_id=contract.customer_id,
        measures=measures_of(record.interruption, calendar, now),
        checks=checks,
        notice=EventRepository(session).notice(
            record.contract_number, NoticeKind.INTERRUPTION, str(record.id)
        ),
        free_month=next((g for g in grants if g.subject == subject), None),
    )


def interruption_view(
    session: Session, interruption_id: int, *, calendar: WorkingDays, now: dt.datetime
) -> InterruptionView:
    """One interruption with its measures and every check (404 when unknown)."""
    record = _record(session, interruption_id)
    contract = _contract(session, record.contract_number)
    grants = _grants(session, record.contract_number)
    siblings = [
        r.interruption for r in EventRepository(session).interruptions(contract.contract.number)
    ]
    return _view(session, record, contract, grants, siblings, calendar=calendar, now=now)


def _contracts_of(session: Session, customer_id: int | None) -> list[ContractRecord]:
    every = ContractRepository(session).contracts()
    if customer_id is None:
        return every
    return [c for c in every if c.customer_id == customer_id]


def list_interruptions(
    session: Session,
    *,
    calendar: WorkingDays,
    now: dt.datetime,
    customer_id: int | None = None,
    contract_number: str | None = None,
    kind: Kind | None = None,
    source: InterruptionSource | None = None,
    open_only: bool = False,
) -> list[InterruptionView]:
    """Interruptions by start, newest last; ``customer_id``: only that customer's."""
    events = EventRepository(session)
    views: list[InterruptionView] = []
    for contract in _contracts_of(session, customer_id):
        number = contract.contract.number
        if contract_number is not None and number != contract_number:
            continue
        records = events.interruptions(number, open_only=open_only)
        grants = _grants(session, number) if records else []
        siblings = [r.interruption for r in events.interruptions(number)] if records else []
        for record in records:
            if kind is not None and record.interruption.kind != kind:
                continue
            if source is not None and record.source is not source:
                continue
            views.append(
                _view(session, record, contract, grants, siblings, calendar=calendar, now=now)
            )
    views.sort(key=lambda v: (v.item.start, v.id))
    return views


def contract_interruptions(
    session: Session,
    *,
    calendar: WorkingDays,
    now: dt.datetime,
    customer_id: int | None = None,
    contract_number: str | None = None,
) -> list[ContractInterruptions]:
    """Per contract (of a customer, or one contract): its interruptions, the free
    months earned and granted (5.1 / 5.2) and the 7.5б right to terminate."""
    events = EventRepository(session)
    out = []
    for contract in _contracts_of(session, customer_id):
        number = contract.contract.number
        if contract_number is not None and number != contract_number:
            continue
        records = events.interruptions(number)
        grants = _grants(session, number)
        siblings = [r.interruption for r in records]
        views = [
            _view(session, r, contract, grants, siblings, calendar=calendar, now=now)
            for r in records
        ]
        remedies = remedies_of(
            [r.interruption for r in records],
            subscription_start=contract.contract.subscription_start,
            term_months=contract.contract.period_months,
            granted=contract.free_months,
            calendar=calendar,
            now=now,
        )
        out.append(ContractInterruptions(contract, views, remedies, grants))
    return out


# -- silent devices (5.2) ------------------------------------------------------------------


def pending_proposals(session: Session) -> list[DecisionRecord]:
    """Silent-device proposals staff have not answered yet, oldest first."""
    return [
        d
        for d in EventRepository(session).decisions(state=DecisionState.PROPOSED)
        if d.kind is DecisionKind.INTERRUPTION_PROPOSED
    ]
