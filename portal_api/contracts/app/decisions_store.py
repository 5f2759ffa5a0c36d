"""The decision log as the decisions and terminations services use it (issue 5).

One decision by its id (a 404 refusal when unknown), and a decision *applied*
rather than proposed (``EventRepository.record_applied``): a row the engine or a
staff member already acted on (an expiry under 7.1a, a confirmed termination, the
penalty it charges), stored confirmed, so it can never be confirmed twice and the
queue never shows it. ``decided_by`` is None when the engine applied a rule that is no "may"
(7.1a: the term ran out). The caller owns the transaction.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.orm import Session

from portal_api.contracts.app.contracts_common import ContractAppError, audit
from portal_api.contracts.db import mapping
from portal_api.contracts.db.enums import DecisionKind
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
    return EventRepository(session).record_applied(
        contract_number, kind, subject, on, decision, at=at, user_id=user_id
    )


# Every change of a contract is audited the same way, whichever area makes it.
audit_contract = audit
