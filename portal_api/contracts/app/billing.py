"""Billing operations the API and the pages call: invoices, payments, notices (4.3, 4.4).

- Invoices (4.3): a contract's invoices with the VAT they add and the customer owes
  (docs/contract-rules.md "VAT"), what was paid, the interest charged (4.4), what is
  open; one invoice and its PDF by its ten-digit number (ЗДДС art. 114).
- Payments (4.3, ЗЗД art. 76): staff record money received; the domain ``Ledger``
  allocates it (the named invoice first, then the oldest; costs, interest, fee).
  The bank reference is unique: recording it again records nothing and says so.
- Restoration (4.4): when a payment leaves a SUSPENDED contract with no overdue fee,
  a RESTORATION_DUE decision is logged: access back within 3 working days
  (``interest.restoration_due``). The daily run checks the same (billing_restoration).
- Notices: what was sent to the customer and whether the e-mail went out.

Every operation runs in its own transaction; recording a payment writes the audit
log in the same one. Who may call what is the web layer's business; the service
says whose a contract is (:meth:`BillingService.contract_owner`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from portal_api.accounts.audit import write_audit
from portal_api.contracts.app.billing_restoration import check_restoration
from portal_api.contracts.app.billing_views import (
    AllocationView,
    InvoiceStatus,
    InvoiceSummary,
    NoticeView,
    PaymentOutcome,
    PaymentView,
)
from portal_api.contracts.daily import SOFIA
from portal_api.contracts.db.base import NotFoundError
from portal_api.contracts.db.billing_repository import BillingRepository, IssuedInvoice
from portal_api.contracts.db.enums import AllocationPart, InvoiceState, NoticeKind
from portal_api.contracts.db.events_repository import EventRepository
from portal_api.contracts.db.models import ContractRow
from portal_api.contracts.db.records import PaymentRecord
from portal_api.contracts.db.repository import ContractRepository
from portal_api.contracts.domain.billing import Payment
from portal_api.contracts.domain.decision import RuleError
from portal_api.contracts.domain.interest import RateTable
from portal_api.contracts.domain.money import ZERO
from portal_api.db.models import Customer, OutboxMessage
from portal_api.domain.workdays import WorkingDays

__all__ = [
    "BillingError",
    "BillingService",
    "ContractHit",
    "PaymentInput",
]


class BillingError(Exception):
    """A refused billing operation: 400 bad input, 404 no such object, 409 refused by a rule."""

    def __init__(self, status: int, reason_bg: str, reason_en: str) -> None:
        super().__init__(reason_en)
        self.status = status
        self.reason_bg = reason_bg
        self.reason_en = reason_en

    def reason(self, lang: str) -> str:
        return self.reason_bg if lang == "bg" else self.reason_en


@dataclass(frozen=True)
class PaymentInput:
    """Money received: euro amount, day, the bank's reference, optionally the invoice named."""

    amount: Decimal
    paid_on: dt.date
    reference: str
    invoice_number: str | None = None  # ten digits (ЗДДС art. 114)


@dataclass(frozen=True)
class ContractHit:
    """A contract found by the staff's search on the payments page."""

    number: str
    customer_number: str
    customer_name: str
    state: str


def _status(issued: IssuedInvoice, outstanding: Decimal, on: dt.date) -> InvoiceStatus:
    if issued.state is InvoiceState.CANCELLED:
        return "cancelled"
    if outstanding <= 0:
        return "paid"
    return "overdue" if on > issued.due_on else "open"


def _summary(bills: BillingRepository, issued: IssuedInvoice, on: dt.date) -> InvoiceSummary:
    allocated = bills.allocated(issued.key)
    interest = sum((amount for _, amount in bills.accruals(issued.key)), ZERO)
    paid_fee = allocated[AllocationPart.FEE]
    interest_paid = allocated[AllocationPart.INTEREST]
    outstanding = issued.total - paid_fee + interest - interest_paid
    return InvoiceSummary(
        number=issued.tax_number,
        key=issued.key,
        contract_number=issued.contract_number,
        customer_id=issued.customer_id,
        month=issued.month,
        issued_on=issued.issued_on,
        due_on=issued.due_on,
        amount=issued.amount,
        vat=issued.vat,
        total=issued.total,
        paid_fee=paid_fee,
        interest_charged=interest,
        interest_paid=interest_paid,
        costs_paid=allocated[AllocationPart.COSTS],
        status=_status(issued, outstanding, on),
    )


def _tax_numbers(session: Session, contract_number: str) -> dict[str, str]:
    """Engine key -> ten-digit number of the contract's invoices."""
    return {i.key: i.tax_number for i in BillingRepository(session).issued(contract_number)}


def _payment_view(record: PaymentRecord, numbers: dict[str, str]) -> PaymentView:
    named = record.payment.invoice_id
    return PaymentView(
        reference=record.payment.payment_id,
        paid_on=record.payment.paid_on,
        amount=record.payment.amount,
        invoice_number=None if named is None else numbers.get(named, named),
        allocations=tuple(
            AllocationView(
                invoice_number=numbers.get(p.invoice_id, p.invoice_id),
                costs=p.costs,
                interest=p.interest,
                fee=p.principal,
            )
            for p in record.applied
        ),
    )


class BillingService:
    """The billing operations over one database (see the module docstring)."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        *,
        calendar: WorkingDays,
        rates: RateTable,
        clock: Callable[[], dt.datetime],
    ) -> None:
        self.sessions = sessions
        self.calendar = calendar
        self.rates = rates
        self.clock = clock

    def today(self) -> dt.date:
        """The business day (Europe/Sofia) of the service's clock."""
        return self.clock().astimezone(SOFIA).date()

    # -- who owns what (the web layer's object checks) --------------------------------

    def contract_owner(self, contract_number: str) -> int | None:
        """The customer id of the contract, None when there is no such contract."""
        with self.sessions() as session:
            found: int | None = session.scalar(
                select(ContractRow.customer_id).where(ContractRow.number == contract_number)
            )
            return found

    def customer_contracts(self, customer_id: int) -> list[str]:
        with self.sessions() as session:
            return list(
                session.scalars(
                    select(ContractRow.number)
                    .where(ContractRow.customer_id == customer_id)
                    .order_by(ContractRow.number)
                )
            )

    def find_contracts(self, query: str, limit: int = 20) -> list[ContractHit]:
        """Staff search: by contract number, customer number or name, any case.

        Matched in Python: SQLite's lower() and LIKE fold ASCII only, and names are
        Cyrillic. A few columns of every contract are read; enough for a CSC's list.
        """
        needle = query.strip().casefold()
        with self.sessions() as session:
            rows = session.execute(
                select(ContractRow.number, Customer.number, Customer.name, ContractRow.state)
                .join(Customer, Customer.id == ContractRow.customer_id)
                .order_by(ContractRow.number)
            ).all()
        hits = [
            ContractHit(number, customer_number, name, state.value)
            for number, customer_number, name, state in rows
            if needle in f"{number}\n{customer_number}\n{name}".casefold()
        ]
        return hits[:limit]

    # -- invoices (4.3) --------------------------------------------------------------

    def invoices(self, contract_number: str, on: dt.date | None = None) -> list[InvoiceSummary]:
        day = on or self.today()
        with self.sessions() as session:
            bills = BillingRepository(session)
            try:
                issued = bills.issued(contract_number)
            except NotFoundError:
                raise _no_contract(contract_number) from None
            return [_summary(bills, i, day) for i in issued]

    def invoice(self, number: str, on: dt.date | None = None) -> InvoiceSummary | None:
        """One invoice by its ten-digit number; None when there is none."""
        with self.sessions() as session:
            bills = BillingRepository(session)
            issued = bills.issued_by_tax_number(number)
            return None if issued is None else _summary(bills, issued, on or self.today())

    def invoice_pdf(self, number: str) -> bytes | None:
        with self.sessions() as session:
            bills = BillingRepository(session)
            issued = bills.issued_by_tax_number(number)
            return None if issued is None else bills.invoice_pdf(issued.key)

    # -- payments (4.3, ЗЗД art. 76) ---------------------------------------------------

    def payments(self, contract_number: str) -> list[PaymentView]:
        with self.sessions() as session:
            bills = BillingRepository(session)
            try:
                records = bills.payments(contract_number)
            except NotFoundError:
                raise _no_contract(contract_number) from None
            numbers = _tax_numbers(session, contract_number)
            return [_payment_view(r, numbers) for r in records]

    def record_payment(
        self, contract_number: str, data: PaymentInput, *, actor_user_id: int, ip: str | None
    ) -> PaymentOutcome:
        """Record and allocate a payment (ЗЗД art. 76); the same reference twice records once."""
        reference = data.reference.strip()
        if not reference:
            raise BillingError(400, "Липсва референция на плащането.", "The reference is missing.")
        with self.sessions.begin() as session:
            bills = BillingRepository(session)
            contract = ContractRepository(session).contract(contract_number)
            if contract is None:
                raise _no_contract(contract_number)
            numbers = _tax_numbers(session, contract_number)
            seen = self._recorded(bills, contract_number, reference, numbers)
            if seen is not None:
                return seen
            named = self._named_invoice(numbers, data.invoice_number)
            payment = Payment(reference, data.paid_on, data.amount, named)
            before = bills.ledger(contract_number)
            try:
                allocation = before.pay(payment, self.rates)
            except (RuleError, LookupError) as exc:
                raise BillingError(
                    409, f"Плащането не може да бъде разпределено: {exc}", f"{exc}"
                ) from exc
            # The interest charged up to the day of payment is booked with the payment.
            bills.record_accrued(before, before.accrue(data.paid_on, self.rates))
            if bills.add_payment(contract_number, payment, allocation.value.applied) is None:
                # Recorded by a concurrent request between our check and the insert.
                raise BillingError(
                    409,
                    f"Плащане с референция {reference} вече е записано.",
                    f"A payment with reference {reference} is already recorded.",
                )
            for key in allocation.value.settled:
                bills.set_invoice_state(key, InvoiceState.PAID)
            write_audit(
                session,
                self.clock(),
                "payment_recorded",
                actor_user_id=actor_user_id,
                object_type="contract",
                object_id=contract_number,
                ip=ip,
                detail={
                    "reference": reference,
                    "amount": str(data.amount),
                    "paid_on": data.paid_on.isoformat(),
                    "named_invoice": data.invoice_number,
                    "settled": [numbers[k] for k in allocation.value.settled],
                    "credit_added": str(allocation.value.credit_added),
                },
            )
            restoration = check_restoration(session, contract_number, data.paid_on, self.calendar)
            recorded = bills.payments(contract_number)
            view = _payment_view(
                next(r for r in recorded if r.payment.payment_id == reference), numbers
            )
            return PaymentOutcome(
                recorded=True,
                payment=view,
                reason_bg=allocation.reason_bg,
                reason_en=allocation.reason_en,
                restoration=restoration,
            )

    @staticmethod
    def _recorded(
        bills: BillingRepository, contract_number: str, reference: str, numbers: dict[str, str]
    ) -> PaymentOutcome | None:
        """The outcome for a reference already recorded (for this contract: nothing twice)."""
        existing = bills.payment_contract(reference)
        if existing is None:
            return None
        if existing != contract_number:
            raise BillingError(
                409,
                f"Референция {reference} вече е записана по друг договор.",
                f"Reference {reference} is already recorded for another contract.",
            )
        record = next(
            r for r in bills.payments(contract_number) if r.payment.payment_id == reference
        )
        return PaymentOutcome(
            recorded=False,
            payment=_payment_view(record, numbers),
            reason_bg=f"Плащане с референция {reference} вече е записано: нищо не е добавено.",
            reason_en=f"A payment with reference {reference} is already recorded: nothing added.",
        )

    @staticmethod
    def _named_invoice(numbers: dict[str, str], invoice_number: str | None) -> str | None:
        """ЗЗД art. 76(1): the invoice the customer named, by its number, as the ledger's key."""
        if invoice_number is None or not invoice_number.strip():
            return None
        wanted = invoice_number.strip()
        for key, number in numbers.items():
            if number == wanted:
                return key
        raise BillingError(
            400,
            f"Фактура {wanted} не е по този договор.",
            f"Invoice {wanted} is not an invoice of this contract.",
        )

    # -- notices (2.5, 3.2, 4.3) ------------------------------------------------------

    def notices(self, contract_number: str) -> list[NoticeView]:
        with self.sessions() as session:
            try:
                records = EventRepository(session).notices(contract_number)
            except NotFoundError:
                raise _no_contract(contract_number) from None
            numbers = _tax_numbers(session, contract_number)
            out = []
            for record in records:
                message = (
                    None
                    if record.outbox_id is None
                    else session.get(OutboxMessage, record.outbox_id)
                )
                subject = record.subject
                if record.kind is NoticeKind.INVOICE:
                    subject = numbers.get(subject, subject)
                out.append(
                    NoticeView(
                        kind=record.kind.value,
                        subject=subject,
                        due_on=record.due_on,
                        created_at=record.created_at,
                        email_subject=None if message is None else message.subject,
                        email_sent_at=None if message is None else message.sent_at,
                    )
                )
            return sorted(out, key=lambda n: (n.created_at, n.due_on), reverse=True)


def _no_contract(number: str) -> BillingError:
    return BillingError(404, f"Няма договор {number}.", f"No contract {number}.")
