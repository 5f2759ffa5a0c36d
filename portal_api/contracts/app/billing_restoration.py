"""4.4 restoration: a suspended contract whose overdue fees are paid gets access back.

"При отпадане на съответното задължение ... възстановява достъпа ... в срок до 3
(три) работни дни": the obligation is the overdue FEES (interest is claimed
separately, docs/contract-rules.md "4.4"); the term runs from the day the last
overdue fee was paid (``interest.restoration_due``). Restoring is the company's
duty, not an option, but changing the contract's state is a staff act: the rule
logs a RESTORATION_DUE decision (one per suspension) that staff confirm when
access is back. Called after a payment is recorded and by the daily run.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal_api.contracts.app.billing_views import Restoration
from portal_api.contracts.db.billing_repository import BillingRepository
from portal_api.contracts.db.enums import DecisionKind
from portal_api.contracts.db.events_repository import EventRepository
from portal_api.contracts.db.models import ContractRow
from portal_api.contracts.domain.billing import Ledger
from portal_api.contracts.domain.contract import ContractState
from portal_api.contracts.domain.interest import restoration_due
from portal_api.contracts.domain.money import ZERO
from portal_api.domain.workdays import WorkingDays

__all__ = ["check_restoration"]


def _overdue_fees(ledger: Ledger, on: dt.date) -> Decimal:
    """4.4: the fees (not interest) still unpaid after their due date on ``on``."""
    return sum((i.principal for i in ledger.items if i.due < on and i.principal > 0), ZERO)


def check_restoration(
    session: Session, contract_number: str, on: dt.date, calendar: WorkingDays
) -> Restoration | None:
    """4.4: a SUSPENDED contract with no overdue fee left is owed its access back within
    3 working days after the day the last overdue fee was paid.

    Logs one RESTORATION_DUE decision per suspension (its subject is the suspension
    day); staff confirm it when access is back. None when the contract is not
    suspended, a fee is still overdue, or no payment is known.
    """
    contract = session.scalar(select(ContractRow).where(ContractRow.number == contract_number))
    if contract is None or contract.state is not ContractState.SUSPENDED:
        return None
    bills = BillingRepository(session)
    if _overdue_fees(bills.ledger(contract_number), on) > 0:
        return None
    paid = [p.payment.paid_on for p in bills.payments(contract_number) if p.payment.paid_on <= on]
    if not paid:
        return None
    paid_on = max(paid)  # the payment that cleared the last overdue fee
    rule = restoration_due(paid_on, calendar)
    subject = (contract.suspended_on or paid_on).isoformat()
    logged = EventRepository(session).propose(
        contract_number, DecisionKind.RESTORATION_DUE, subject, on, rule
    )
    return Restoration(
        paid_on=paid_on,
        restore_by=rule.value,
        reason_bg=rule.reason_bg,
        reason_en=rule.reason_en,
        proposed=logged is not None,
    )
