"""The queue of proposals staff confirm or reject (issue 5: "where the terms say 'may'").

The daily run and the customer propose; staff (DECISIONS) decide. Confirming
*applies* the proposal, in one transaction with the staff's answer and the audit
entry, after re-checking that its condition still holds:

- SUSPENSION_PROPOSED (4.4): the invoice is still unpaid more than 5 days after its
  due date (``interest.late_status``) → ``lifecycle.apply(SUSPEND)``.
- TERMINATION_PROPOSED (4.4 / 7.4): still more than 45 days late → terminated on
  NON_PAYMENT with the penalty of 8.1b; a customer's notice (7.2, 7.5c) → the
  termination of its stored facts (``terminations.terminate``).
- RESTORATION_DUE (4.4): the contract is suspended → ``lifecycle.apply(RESTORE)``.
- INTERRUPTION_PROPOSED (5.2): ``app.interruptions.open_from_proposal``.
- PENALTY_PROPOSED (8.1): the confirmed decision is the charge the customer owes.

A confirm whose condition no longer holds is refused (409) with the rule's
explanation and the proposal stays open for staff to reject.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from portal_api.contracts.app.contracts_common import Actor, ContractAppError, refused
from portal_api.contracts.app.decisions_store import audit_contract, decision_by_id
from portal_api.contracts.app.terminations import (
    terminate,
    terminate_for_non_payment,
)
from portal_api.contracts.app.terminations_facts import facts_from_numbers
from portal_api.contracts.db.billing_repository import BillingRepository
from portal_api.contracts.db.enums import DecisionKind, DecisionState
from portal_api.contracts.db.events_repository import EventRepository
from portal_api.contracts.db.records import ContractRecord, DecisionRecord
from portal_api.contracts.db.repository import ContractRepository
from portal_api.contracts.domain.dates import local_date
from portal_api.contracts.domain.decision import Decision
from portal_api.contracts.domain.interest import late_status
from portal_api.contracts.domain.lifecycle import Event, apply
from portal_api.domain.workdays import WorkingDays

__all__ = ["ConfirmContext", "confirm", "decisions", "reject"]


@dataclass(frozen=True)
class ConfirmContext:
    """Who confirms, when, and the calendar the rules count working days with."""

    actor: Actor
    now: dt.datetime
    calendar: WorkingDays

    @property
    def today(self) -> dt.date:
        return local_date(self.now)


def decisions(
    session: Session,
    state: DecisionState | None = DecisionState.PROPOSED,
    contract_number: str | None = None,
) -> list[DecisionRecord]:
    """The log, oldest first; the open proposals by default (None: every state)."""
    return EventRepository(session).decisions(contract_number, state)


def _contract(session: Session, number: str) -> ContractRecord:
    record = ContractRepository(session).contract(number)
    if record is None:
        raise ContractAppError(404, f"Няма договор {number}.", f"There is no contract {number}.")
    return record


def _save(session: Session, record: ContractRecord, moved: Decision[Any]) -> None:
    if not moved.allowed:
        raise refused(moved)
    ContractRepository(session).save_contract(
        ContractRecord(
            moved.value,
            record.customer_id,
            price_list_id=record.price_list_id,
            free_months=record.free_months,
            left_on=record.left_on,
            id=record.id,
        )
    )


def _still_late(session: Session, proposal: DecisionRecord, today: dt.date, *, days: str) -> None:
    """4.4: the proposal's invoice is still unpaid and late enough; refused otherwise."""
    ledger = BillingRepository(session).ledger(proposal.contract_number)
    item = next(
        (i for i in ledger.items if i.invoice_id == proposal.subject and i.principal > 0), None
    )
    if item is None:
        raise ContractAppError(
            409,
            f"Фактура {proposal.subject} е платена след предложението: основанието по "
            "т. 4.4 вече не е налице.",
            f"Invoice {proposal.subject} has been paid since the proposal: the ground of "
            "4.4 no longer holds.",
            explanation={"clause": "4.4", "invoice": proposal.subject, "paid": True},
        )
    status = late_status(item, today)
    allowed = status.value.suspension_allowed if days == "5" else status.value.termination_allowed
    if not allowed:
        raise refused(
            Decision(
                value=status.value,
                clause="4.4",
                reason_bg=status.reason_bg,
                reason_en=status.reason_en,
                allowed=False,
                numbers=status.numbers,
            )
        )


def _suspend(session: Session, proposal: DecisionRecord, ctx: ConfirmContext) -> None:
    record = _contract(session, proposal.contract_number)
    _still_late(session, proposal, ctx.today, days="5")
    _save(session, record, apply(record.contract, Event.SUSPEND, ctx.today))


def _terminate(session: Session, proposal: DecisionRecord, ctx: ConfirmContext) -> None:
    numbers = proposal.explanation.get("numbers", {})
    if isinstance(numbers, dict) and numbers.get("notice"):
        facts = facts_from_numbers(numbers)
        terminate(
            session,
            proposal.contract_number,
            facts,
            actor=ctx.actor,
            now=ctx.now,
            calendar=ctx.calendar,
        )
        return
    _contract(session, proposal.contract_number)
    _still_late(session, proposal, ctx.today, days="45")
    terminate_for_non_payment(
        session, proposal.contract_number, proposal.subject, actor=ctx.actor, now=ctx.now
    )


def _restore(session: Session, proposal: DecisionRecord, ctx: ConfirmContext) -> None:
    record = _contract(session, proposal.contract_number)
    _save(session, record, apply(record.contract, Event.RESTORE, ctx.today))


def _open_interruption(session: Session, proposal: DecisionRecord, ctx: ConfirmContext) -> None:
    # Imported here: the interruptions service is its own area (the 5.x rules, notices,
    # free months) that the rest of the queue does not need.
    from portal_api.contracts.app.interruptions import open_from_proposal  # noqa: PLC0415
    from portal_api.contracts.app.interruptions_views import InterruptionError  # noqa: PLC0415

    assert proposal.id is not None
    try:
        open_from_proposal(
            session,
            proposal.id,
            ctx.actor.user_id,
            ctx.now,
            calendar=ctx.calendar,
            ip=ctx.actor.ip,
        )
    except InterruptionError as error:
        raise ContractAppError(error.status, error.reason_bg, error.reason_en) from None


def _charge(session: Session, proposal: DecisionRecord, ctx: ConfirmContext) -> None:
    """8.1: the confirmed penalty decision is itself the record of what the customer owes."""
    del session, proposal, ctx


_HANDLERS: dict[DecisionKind, Callable[[Session, DecisionRecord, ConfirmContext], None]] = {
    DecisionKind.SUSPENSION_PROPOSED: _suspend,
    DecisionKind.TERMINATION_PROPOSED: _terminate,
    DecisionKind.RESTORATION_DUE: _restore,
    DecisionKind.INTERRUPTION_PROPOSED: _open_interruption,
    DecisionKind.PENALTY_PROPOSED: _charge,
}


def _open(session: Session, decision_id: int) -> DecisionRecord:
    found = decision_by_id(session, decision_id)
    if found.state is not DecisionState.PROPOSED:
        raise ContractAppError(
            409,
            f"Предложение {decision_id} вече е решено ({found.state.value}).",
            f"Decision {decision_id} is already {found.state.value}.",
        )
    return found


def confirm(session: Session, decision_id: int, ctx: ConfirmContext) -> DecisionRecord:
    """Apply proposal ``decision_id`` and mark it confirmed (404 unknown, 409 decided/refused)."""
    proposal = _open(session, decision_id)
    handler = _HANDLERS.get(proposal.kind)
    if handler is None:
        raise ContractAppError(
            409,
            "Този вид запис не се потвърждава.",
            f"A {proposal.kind.value} record is not confirmed.",
        )
    handler(session, proposal, ctx)
    current = decision_by_id(session, decision_id)
    if current.state is DecisionState.PROPOSED:  # a handler may have decided it already
        current = EventRepository(session).decide(
            decision_id, confirmed=True, user_id=ctx.actor.user_id, at=ctx.now
        )
    audit_contract(
        session,
        at=ctx.now,
        actor=ctx.actor,
        action="decision.confirm",
        number=proposal.contract_number,
        detail={"decision_id": decision_id, "kind": proposal.kind.value, "clause": proposal.clause},
    )
    return current


def reject(session: Session, decision_id: int, actor: Actor, now: dt.datetime) -> DecisionRecord:
    """Staff decline proposal ``decision_id``: nothing is applied (404 unknown, 409 decided)."""
    proposal = _open(session, decision_id)
    decided = EventRepository(session).decide(
        decision_id, confirmed=False, user_id=actor.user_id, at=now
    )
    audit_contract(
        session,
        at=now,
        actor=actor,
        action="decision.reject",
        number=proposal.contract_number,
        detail={"decision_id": decision_id, "kind": proposal.kind.value, "clause": proposal.clause},
    )
    return decided
