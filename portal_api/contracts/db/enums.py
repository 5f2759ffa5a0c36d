"""Closed vocabularies of the contract tables that the pure domain does not name itself.

Stored as VARCHAR with a CHECK constraint, like the portal's other vocabularies
(portal_api/db/enums.py): adding a value is a plain constraint change on both
SQLite and PostgreSQL. The contract's state, the voltage level and the
termination ground are the domain's own enums (portal_api/contracts/domain).
"""

from __future__ import annotations

from enum import StrEnum

__all__ = [
    "AllocationPart",
    "DecisionKind",
    "DecisionState",
    "InterruptionKind",
    "InterruptionSource",
    "InvoiceState",
    "NoticeKind",
]


class InvoiceState(StrEnum):
    """4.3: an issued monthly invoice, settled in full, or annulled (credit note)."""

    ISSUED = "issued"
    PAID = "paid"
    CANCELLED = "cancelled"


class AllocationPart(StrEnum):
    """ЗЗД art. 76(2): a payment settles costs, then interest, then the fee itself."""

    COSTS = "costs"
    INTEREST = "interest"
    FEE = "fee"


class InterruptionKind(StrEnum):
    """5.1 planned, 5.2 unplanned (the domain's ``interruptions.Kind`` literal)."""

    PLANNED = "planned"
    UNPLANNED = "unplanned"


class InterruptionSource(StrEnum):
    """Who opened an interruption: staff, or the daily run from a silent device (5.2)."""

    STAFF = "staff"
    DEVICE_SILENCE = "device_silence"


class DecisionKind(StrEnum):
    """What the engine proposed or recorded; "may" rights wait for staff (issue 5)."""

    SUSPENSION_PROPOSED = "suspension_proposed"  # 4.4: more than 5 days late
    TERMINATION_PROPOSED = "termination_proposed"  # 4.4 / 7.4: more than 45 days late
    RESTORATION_DUE = "restoration_due"  # 4.4: paid, access back within 3 working days
    INTERRUPTION_PROPOSED = "interruption_proposed"  # 5.2: a device silent over 6 hours
    FREE_MONTH_GRANTED = "free_month_granted"  # 5.1 / 5.2 compensation
    PENALTY_PROPOSED = "penalty_proposed"  # 8.1


class DecisionState(StrEnum):
    PROPOSED = "proposed"
    CONFIRMED = "confirmed"
    REJECTED = "rejected"


class NoticeKind(StrEnum):
    EXPIRY = "expiry"  # 2.5: at least 14 days before the subscription ends
    INTERRUPTION = "interruption"  # 3.2б / 3.2в
    INVOICE = "invoice"  # 4.3: the monthly invoice by e-mail
