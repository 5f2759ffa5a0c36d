"""Request and response models of the billing API (4.3, 4.4, ЗЗД art. 76).

Money is a decimal string in euro with two places (``"88.44"``), never a float:
JSON numbers would lose cents in clients that read them as doubles.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer

from portal_api.contracts.app.billing_views import (
    InvoiceSummary,
    NoticeView,
    PaymentOutcome,
    PaymentView,
    Restoration,
)

__all__ = [
    "AllocationOut",
    "InvoiceOut",
    "NoticeOut",
    "PaymentIn",
    "PaymentOut",
    "PaymentRecordedOut",
    "RestorationOut",
    "invoice_out",
    "notice_out",
    "outcome_out",
    "payment_out",
]

TAX_NUMBER = r"^[0-9]{10}$"  # ЗДДС art. 114(1)(2)

Euro = Annotated[Decimal, PlainSerializer(lambda v: f"{v:.2f}", return_type=str)]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True)


class InvoiceOut(_Model):
    """One monthly invoice (4.3): what it asks (tax base + VAT = total) and what is open."""

    number: str = Field(description="Ten digits, ЗДДС art. 114(1)(2)")
    contract_number: str
    month: str = Field(description="YYYY-MM, the month of service")
    issued_on: dt.date
    due_on: dt.date = Field(description="3.1a / 4.3: the 10th or the next working day")
    amount_net: Euro = Field(description="Tax base: the monthly fee of 4.1")
    vat: Euro
    total: Euro = Field(description="Owed by the due date")
    state: Literal["paid", "open", "overdue", "cancelled"]
    paid: Euro = Field(description="Everything payments settled on it (costs, interest, fee)")
    interest_charged: Euro = Field(description="4.4: statutory interest charged so far")
    outstanding: Euro = Field(description="Open fee plus unpaid interest")
    pdf_url: str


class AllocationOut(_Model):
    invoice_number: str
    costs: Euro
    interest: Euro
    fee: Euro


class PaymentOut(_Model):
    reference: str
    paid_on: dt.date
    amount: Euro
    invoice_number: str | None = Field(description="The invoice the customer named, if any")
    allocations: list[AllocationOut]
    credit: Euro = Field(description="Left over: settles the next invoices (4.3)")


class PaymentIn(_Model):
    """Money received for the contract (4.3); the reference is the bank's, unique."""

    amount: Decimal = Field(gt=0, max_digits=12, decimal_places=2, description="Euro")
    paid_on: dt.date
    reference: str = Field(min_length=1, max_length=64)
    invoice_number: str | None = Field(
        default=None, pattern=TAX_NUMBER, description="The invoice the customer named"
    )


class RestorationOut(_Model):
    paid_on: dt.date
    restore_by: dt.date = Field(description="4.4: within 3 working days")
    reason: str
    proposed: bool


class PaymentRecordedOut(_Model):
    recorded: bool = Field(description="False: this reference was recorded before")
    message: str
    payment: PaymentOut
    restoration: RestorationOut | None


class NoticeOut(_Model):
    kind: str = Field(description="expiry (2.5), interruption (3.2), invoice (4.3)")
    subject: str
    due_on: dt.date
    created_at: dt.datetime
    email_subject: str | None
    email_sent_at: dt.datetime | None


def invoice_out(invoice: InvoiceSummary, pdf_url: str) -> InvoiceOut:
    return InvoiceOut(
        number=invoice.number,
        contract_number=invoice.contract_number,
        month=f"{invoice.month:%Y-%m}",
        issued_on=invoice.issued_on,
        due_on=invoice.due_on,
        amount_net=invoice.amount,
        vat=invoice.vat,
        total=invoice.total,
        state=invoice.status,
        paid=invoice.paid,
        interest_charged=invoice.interest_charged,
        outstanding=invoice.outstanding,
        pdf_url=pdf_url,
    )


def payment_out(payment: PaymentView) -> PaymentOut:
    return PaymentOut(
        reference=payment.reference,
        paid_on=payment.paid_on,
        amount=payment.amount,
        invoice_number=payment.invoice_number,
        allocations=[
            AllocationOut(
                invoice_number=a.invoice_number, costs=a.costs, interest=a.interest, fee=a.fee
            )
            for a in payment.allocations
        ],
        credit=payment.credit,
    )


def _restoration_out(restoration: Restoration | None, lang: str) -> RestorationOut | None:
    if restoration is None:
        return None
    return RestorationOut(
        paid_on=restoration.paid_on,
        restore_by=restoration.restore_by,
        reason=restoration.reason_bg if lang == "bg" else restoration.reason_en,
        proposed=restoration.proposed,
    )


def outcome_out(outcome: PaymentOutcome, lang: str) -> PaymentRecordedOut:
    return PaymentRecordedOut(
        recorded=outcome.recorded,
        message=outcome.reason(lang),
        payment=payment_out(outcome.payment),
        restoration=_restoration_out(outcome.restoration, lang),
    )


def notice_out(notice: NoticeView) -> NoticeOut:
    return NoticeOut(
        kind=notice.kind,
        subject=notice.subject,
        due_on=notice.due_on,
        created_at=notice.created_at,
        email_subject=notice.email_subject,
        email_sent_at=notice.email_sent_at,
    )
