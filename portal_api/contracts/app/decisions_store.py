"""The decision log as the decisions and terminations services use it (issue 5).

Two things the event repository does not offer: one decision by its id, and a
decision *applied* rather than proposed. An applied decision is a row the engine
or a staff member already acted on (an expiry under 7.1a, a confirmed
termination, the penalty it charges): it is written proposed and decided in the
same transaction, so it can never be confirmed twice and the queue never shows
it. ``decided_by`` is None when the engine applied a rule that is no "may"
(7.1a: the term ran out). The caller owns the transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from portal_api.accounts.audit import write_audit
from portal_api.contracts.app.contracts_common import Actor, ContractAppError
from portal_api.contracts.db import mapping
from portal_api.contracts.db.enums import DecisionKind, DecisionState
from portal_api.contracts.db.events_repository import EventRepository
from portal_api.contracts.db.models import ContractRow, DecisionRow
from portal_api.contracts.db.records import DecisionRecord
from portal_api.contracts.domain.decision import Decision

__all__ = ["audit_contract", "decision_by_id", "record_applied"]


def decision_by_id(session: Session, decision_id: int) -> DecisionRecord:
    """The decision ``decision_id``; a 404 refusal when there is none."""
    row = session.get(DecisionRow, decision_id)
    if row is None:
        raise ContractAppError(
            404, f"Няма предложение {decision_id}.", f"There is no decision {decision_id}."
        )
    number = session.get_one(ContractRow, row.contract_id).number
    return mapping.decision_record(row, number)


def record_applied(
    session: Session,
    contract_number: str,
    kind: DecisionKind,
    subject: str,
    *,
    on: dt.date,
    decision: Decision[Any],
    at: dt.datetime,
    user_id: int | None,
) -> int | None:
    """Log ``decision`` as already confirmed; None when the same subject is logged (a re-run)."""
    decision_id = EventRepository(session).propose(contract_number, kind, subject, on, decision)
    if decision_id is None:
        return None
    row = session.get_one(DecisionRow, decision_id)
    row.state = DecisionState.CONFIRMED
    row.decided_by = user_id
    row.decided_at = at
    session.flush()
    return decision_id


def audit_contract(
    session: Session,
    *,
    at: dt.datetime,
    actor: Actor,
    action: str,
    number: str,
    detail: Mapping[str, object],
) -> None:
    """Audit a change of contract ``number`` (who, when, from where, what; no personal number)."""
    write_audit(
        session,
        at,
        action,
        actor_user_id=actor.user_id,
        object_type="contract",
        object_id=number,
        ip=actor.ip,
        detail=detail,
    )
