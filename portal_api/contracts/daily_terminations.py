"""The daily run's termination step: expiry (7.1a) and ends whose notice has run out (7.2, 7.3).

- 7.1a is no "may": a contract whose subscription's last day has passed ends on
  that last day by itself. The engine applies it (TERMINATED, ground 7.1a) and
  logs an applied decision with the explanation; ``decided_by`` stays empty.
  When a signed renewal (2.4, a contract with ``renewal_of`` = it) takes over,
  the renewal becomes active the same day with the equipment already on site
  (its installation and handover dates are the old contract's): nothing is
  dismantled and nothing installed.
- A termination staff confirmed with an end in the future (7.2 / 7.3: 14 days'
  notice; ``app.terminations``) is applied on its day.

Idempotent: an ended contract is no longer in the billed states the daily run
walks, and the decision's subject (``expiry:<last day>``) is logged once. A run
for an earlier day applies nothing that is not due by then.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal_api.contracts.app.decisions_store import record_applied
from portal_api.contracts.app.terminations import apply_termination_on
from portal_api.contracts.db.enums import DecisionKind, DecisionState
from portal_api.contracts.db.events_repository import EventRepository
from portal_api.contracts.db.models import ContractRow
from portal_api.contracts.db.records import ContractRecord
from portal_api.contracts.db.repository import ContractRepository
from portal_api.contracts.domain.contract import ContractState, TerminationGround
from portal_api.contracts.domain.lifecycle import Event, apply
from portal_api.contracts.domain.term import subscription_end
from portal_api.contracts.domain.termination import ended_by

__all__ = ["end_due_contracts"]

_IN_SERVICE = (ContractState.ACTIVE, ContractState.SUSPENDED)


def _renewal(session: Session, number: str) -> ContractRecord | None:
    """2.4: a renewal is a new contract naming this one; it takes the service over."""
    renewal = session.scalar(
        select(ContractRow.number).where(ContractRow.renewal_of == number).limit(1)
    )
    return None if renewal is None else ContractRepository(session).contract(renewal)


def _start_renewal(session: Session, old: ContractRecord, renewal: ContractRecord) -> None:
    """The signed renewal becomes active on its subscription start, on the old equipment."""
    contract = renewal.contract
    if contract.state is not ContractState.SIGNED or contract.subscription_start is None:
        return
    carried = contract.with_(
        installed_on=old.contract.installed_on,
        protocols_signed_on=old.contract.protocols_signed_on,
    )
    moved = apply(carried, Event.RENEWAL_STARTS, contract.subscription_start)
    if moved.allowed:
        ContractRepository(session).save_contract(replace(renewal, contract=moved.value))


def _expire(session: Session, record: ContractRecord, on: dt.date, now: dt.datetime) -> bool:
    contract = record.contract
    if contract.subscription_start is None:
        return False
    last = subscription_end(
        contract.subscription_start, contract.period_months, record.free_months
    ).value
    if on <= last:
        return False
    rule = ended_by(TerminationGround.TERM_EXPIRED, last)
    moved = apply_termination_on(session, record, TerminationGround.TERM_EXPIRED, last)
    if not moved.allowed:
        return False
    renewal = _renewal(session, contract.number)
    if renewal is not None:
        _start_renewal(session, record, renewal)
    record_applied(
        session,
        contract.number,
        DecisionKind.TERMINATION_PROPOSED,
        f"expiry:{last.isoformat()}",
        on=on,
        decision=rule,
        at=now,
        user_id=None,  # 7.1a: the engine's act, nobody's choice
    )
    return True


def _scheduled(session: Session, record: ContractRecord, on: dt.date) -> bool:
    """A confirmed end whose notice ran out by ``on`` (``app.terminations.terminate``)."""
    for logged in EventRepository(session).decisions(
        record.contract.number, DecisionState.CONFIRMED
    ):
        if logged.kind is not DecisionKind.TERMINATION_PROPOSED:
            continue
        numbers = logged.explanation.get("numbers", {})
        if not isinstance(numbers, dict) or not numbers.get("scheduled"):
            continue
        ends_on = dt.date.fromisoformat(str(numbers["ends_on"]))
        if ends_on > on:
            continue
        ground = TerminationGround(str(numbers["lifecycle_ground"]))
        return apply_termination_on(session, record, ground, ends_on).allowed
    return False


def end_due_contracts(session: Session, number: str, on: dt.date, now: dt.datetime) -> int:
    """End contract ``number`` if its term or its notice has run out by ``on``: 1, else 0.

    Read afresh: an earlier step of the same run may have granted a free month (5.x).
    """
    record = ContractRepository(session).contract(number)
    if record is None or record.contract.state not in _IN_SERVICE:
        return 0
    if _scheduled(session, record, on) or _expire(session, record, on, now):
        return 1
    return 0
