"""What the billing service returns: plain frozen values the API and the pages show.

An invoice's figures (4.3, 4.4, ЗЗД art. 76): tax base, VAT and total (the total
is owed, docs/contract-rules.md "VAT"), what payments settled of it, the interest
charged on it and what is still open. A payment with its allocation, a notice
with whether its e-mail went out (the outbox's ``sent_at``: one truth).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from portal_api.contracts.domain.money import ZERO

__all__ = [
    "AllocationView",
    "InvoiceStatus",
    "InvoiceSummary",
    "NoticeView",
    "PaymentOutcome",
    "PaymentView",
    "Restoration",
]

InvoiceStatus = Literal["paid", "open", "overdue", "cancelled"]


@dataclass(frozen=True)
class InvoiceSummary:
    """One monthly invoice as of ``on`` (4.3): what it asks, what was paid, what is open."""

    number: str  # ten digits, ЗДДС art. 114(1)(2)
    key: str  # the engine's key (contract and month)
    contract_number: str
    customer_id: int
    month: dt.date
    issued_on: dt.date
    due_on: dt.date
    amount: Decimal  # tax base (4.1)
    vat: Decimal
    total: Decimal  # owed by the due date
    paid_fee: Decimal  # of the total (fee + VAT) settled by payments
    interest_charged: Decimal  # 4.4, statutory interest charged so far
    interest_paid: Decimal
    costs_paid: Decimal
    status: InvoiceStatus

    @property
    def paid(self) -> Decimal:
        """Everything payments settled on this invoice (costs, interest, fee)."""
        return self.costs_paid + self.interest_paid + self.paid_fee

    @property
    def outstanding(self) -> Decimal:
        """Still owed on it: the open fee plus interest charged and not yet paid."""
        if self.status == "cancelled":
            return ZERO
        return self.total - self.paid_fee + self.interest_charged - self.interest_paid


@dataclass(frozen=True)
class AllocationView:
    """ЗЗД art. 76(2): what a payment settled of one invoice, in that order."""

    invoice_number: str
    costs: Decimal
    interest: Decimal
    fee: Decimal


@dataclass(frozen=True)
class PaymentView:
    reference: str
    paid_on: dt.date
    amount: Decimal
    invoice_number: str | None  # the invoice the customer named (ЗЗД art. 76(1))
    allocations: tuple[AllocationView, ...]

    @property
    def credit(self) -> Decimal:
        """The part no open invoice took: kept as credit for the next ones (4.3)."""
        used = sum((a.costs + a.interest + a.fee for a in self.allocations), ZERO)
        return self.amount - used


@dataclass(frozen=True)
class Restoration:
    """4.4: the overdue fees are paid, access comes back by ``restore_by``."""

    paid_on: dt.date
    restore_by: dt.date
    reason_bg: str
    reason_en: str
    proposed: bool  # False when the same suspension already had its restoration


@dataclass(frozen=True)
class PaymentOutcome:
    """What recording a payment did; ``recorded`` is False for a reference seen before."""

    recorded: bool
    payment: PaymentView
    reason_bg: str
    reason_en: str
    restoration: Restoration | None = None

    def reason(self, lang: str) -> str:
        return self.reason_bg if lang == "bg" else self.reason_en


@dataclass(frozen=True)
class NoticeView:
    """A notice to the customer (2.5 expiry, 3.2 interruption, 4.3 invoice)."""

    kind: str
    subject: str
    due_on: dt.date
    created_at: dt.datetime
    email_subject: str | None
    email_sent_at: dt.datetime | None
