"""Invoices (4.3), payments and their allocation (ЗЗД art. 76), interest accruals (4.4).

Idempotent for the daily run (base.py): :meth:`BillingRepository.add_invoice`
(one per contract and month), :meth:`~BillingRepository.add_accrual` (one per
invoice and day), :meth:`~BillingRepository.add_payment` (one per bank reference).

Invoice numbers (ЗДДС art. 114(1)(2), ППЗДДС): ten digits from one series with no
gap and no repeat. A new invoice takes the next number with ``UPDATE
invoice_number_series SET last_number = last_number + 1 ... RETURNING`` in the
transaction that inserts it: the series row stays locked until that transaction
ends (a PostgreSQL row lock; SQLite has one writer at a time), so a rolled-back
contract gives its numbers back and a concurrent run waits, then continues from
the committed number. A month already invoiced takes no number (checked first,
and a number taken for a month another run claimed meanwhile is given back
while the lock is still ours).

VAT: ``amount`` is the tax base and ``vat`` the tax; the ledger owes their sum
(docs/contract-rules.md "VAT").
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select, update

from portal_api.contracts.db import mapping
from portal_api.contracts.db.base import RepositoryBase
from portal_api.contracts.db.enums import AllocationPart, InvoiceState
from portal_api.contracts.db.models import (
    ContractRow,
    InterestAccrualRow,
    InvoiceNumberSeriesRow,
    InvoiceRow,
    PaymentAllocationRow,
    PaymentRow,
)
from portal_api.contracts.db.records import InvoiceRecord, PaymentRecord
from portal_api.contracts.domain.billing import AppliedPart, Invoice, Ledger, OpenItem, Payment
from portal_api.contracts.domain.money import ZERO

__all__ = ["SERIES_ID", "BillingRepository", "IssuedInvoice", "format_tax_number"]

SERIES_ID = 1  # the one series of invoice numbers (its row in invoice_number_series)
_LAST_NUMBER = 9_999_999_999  # ten digits


def format_tax_number(number: int) -> str:
    """ЗДДС art. 114(1)(2): ten Arabic digits, zero-padded."""
    if not 1 <= number <= _LAST_NUMBER:
        raise ValueError(f"invoice number {number} does not fit in ten digits")
    return f"{number:010d}"


@dataclass(frozen=True)
class IssuedInvoice:
    """An invoice as the customer sees it: its ten-digit number, tax base, VAT, state.

    ``key`` is the engine's own key (contract and month, the ledger's invoice id);
    ``tax_number`` is the number printed on the invoice (ЗДДС art. 114).
    """

    key: str
    tax_number: str
    contract_number: str
    customer_id: int
    month: dt.date
    due_on: dt.date
    issued_on: dt.date
    amount: Decimal  # tax base: the monthly fee (4.1)
    vat: Decimal
    state: InvoiceState

    @property
    def total(self) -> Decimal:
        return self.amount + self.vat


class BillingRepository(RepositoryBase):
    # -- invoices (4.3) and their numbers (ЗДДС art. 114) ------------------------------

    def add_invoice(
        self, invoice: Invoice, issued_on: dt.date, *, vat: Decimal = ZERO
    ) -> int | None:
        """Issue ``invoice`` (tax base ``invoice.amount``, plus ``vat``) with the next
        number of the series; None when its contract's month is already invoiced.

        Attach the PDF afterwards (:meth:`attach_pdf`), once the claim succeeded.
        A key reused for another contract or month still fails (IntegrityError).
        """
        contract = self._contract_row(invoice.contract_id)
        invoiced = self.session.scalar(
            select(InvoiceRow.id).where(
                InvoiceRow.contract_id == contract.id, InvoiceRow.month == invoice.month
            )
        )
        if invoiced is not None:
            return None  # no number taken: nothing to give back
        number = self._take_number()
        values = mapping.invoice_values(invoice, contract.id, issued_on)
        values.update(state=InvoiceState.ISSUED, vat=vat, tax_number=format_tax_number(number))
        row_id = self._insert_absent(InvoiceRow, values, ("contract_id", "month"))
        if row_id is None:
            # Another run claimed the month between the check and our lock on the series.
            self._give_back(number)
        return row_id

    def _take_number(self) -> int:
        """The next number of the series; the series row stays locked until the end of
        the caller's transaction (which a rollback gives back)."""
        self.session.flush()
        series = InvoiceNumberSeriesRow
        taken = self.session.execute(
            update(series)
            .where(series.id == SERIES_ID)
            .values(last_number=series.last_number + 1)
            .returning(series.last_number)
            .execution_options(synchronize_session=False)
        ).scalar_one_or_none()
        if taken is None:
            # A database built without revision 0003's row (metadata.create_all).
            self._insert_absent(
                InvoiceNumberSeriesRow, {"id": SERIES_ID, "last_number": 0}, ("id",)
            )
            return self._take_number()
        return int(taken)

    def _give_back(self, number: int) -> None:
        series = InvoiceNumberSeriesRow
        self.session.execute(
            update(series)
            .where(series.id == SERIES_ID, series.last_number == number)
            .values(last_number=number - 1)
            .execution_options(synchronize_session=False)
        )

    def tax_number(self, invoice_number: str) -> str:
        """The ten-digit number (ЗДДС art. 114) of the invoice keyed ``invoice_number``."""
        number = self._invoice_row(invoice_number).tax_number
        if number is None:
            raise ValueError(f"invoice {invoice_number} has no number of the series")
        return number

    def last_tax_number(self) -> int:
        """The last number used (0 before the first invoice)."""
        found = self.session.scalar(
            select(InvoiceNumberSeriesRow.last_number).where(InvoiceNumberSeriesRow.id == SERIES_ID)
        )
        return int(found or 0)

    def issued(self, contract_number: str) -> list[IssuedInvoice]:
        """The contract's invoices, oldest month first."""
        contract = self._contract_row(contract_number)
        rows = self.session.scalars(
            select(InvoiceRow)
            .where(InvoiceRow.contract_id == contract.id)
            .order_by(InvoiceRow.month)
        )
        return [self._issued(row, contract) for row in rows]

    def issued_by_tax_number(self, tax_number: str) -> IssuedInvoice | None:
        row = self.session.scalar(select(InvoiceRow).where(InvoiceRow.tax_number == tax_number))
        if row is None:
            return None
        return self._issued(row, self.session.get_one(ContractRow, row.contract_id))

    @staticmethod
    def _issued(row: InvoiceRow, contract: ContractRow) -> IssuedInvoice:
        if row.tax_number is None:  # revision 0003 numbered every older invoice
            raise ValueError(f"invoice {row.number} has no number of the series")
        return IssuedInvoice(
            key=row.number,
            tax_number=row.tax_number,
            contract_number=contract.number,
            customer_id=contract.customer_id,
            month=row.month,
            due_on=row.due_on,
            issued_on=row.issued_on,
            amount=row.amount,
            vat=row.vat,
            state=row.state,
        )

    def allocated(self, invoice_number: str) -> dict[AllocationPart, Decimal]:
        """ЗЗД art. 76: what payments settled of the invoice, per part."""
        invoice = self._invoice_row(invoice_number)
        out = dict.fromkeys(AllocationPart, ZERO)
        for part, amount in self.session.execute(
            select(PaymentAllocationRow.part, PaymentAllocationRow.amount).where(
                PaymentAllocationRow.invoice_id == invoice.id
            )
        ):
            out[part] += amount
        return out

    def attach_pdf(self, number: str, pdf: bytes) -> None:
        self._invoice_row(number).pdf = pdf
        self.session.flush()

    def invoice_pdf(self, number: str) -> bytes | None:
        return self._invoice_row(number).pdf

    def set_invoice_state(self, number: str, state: InvoiceState) -> None:
        self._invoice_row(number).state = state
        self.session.flush()

    def invoices(self, contract_number: str) -> list[InvoiceRecord]:
        contract = self._contract_row(contract_number)
        rows = self.session.scalars(
            select(InvoiceRow)
            .where(InvoiceRow.contract_id == contract.id)
            .order_by(InvoiceRow.month)
        )
        return [mapping.invoice_record(row, contract_number) for row in rows]

    # -- payments (ЗЗД art. 76) and interest (4.4) ------------------------------------

    def add_payment(
        self, contract_number: str, payment: Payment, applied: Iterable[AppliedPart] = ()
    ) -> int | None:
        """Record a payment and its allocation; None when its reference is already recorded."""
        parts = tuple(applied)
        total = sum((p.costs + p.interest + p.principal for p in parts), ZERO)
        if total > payment.amount:
            raise ValueError(f"payment {payment.payment_id}: {total} allocated of {payment.amount}")
        contract = self._contract_row(contract_number)
        named = None if payment.invoice_id is None else self._invoice_row(payment.invoice_id).id
        payment_id = self._insert_absent(
            PaymentRow,
            {
                "contract_id": contract.id,
                "paid_on": payment.paid_on,
                "amount": payment.amount,
                "reference": payment.payment_id,
                "invoice_id": named,
            },
            ("reference",),
        )
        if payment_id is None:
            return None
        numbers = {p.invoice_id for p in parts}
        ids = {n: self._invoice_row(n).id for n in numbers}
        for row in mapping.allocation_rows(parts, ids):
            row.payment_id = payment_id
            self.session.add(row)
        self.session.flush()
        return payment_id

    def apply_credit(self, contract_number: str, invoice_number: str) -> Decimal:
        """4.3 / ЗЗД art. 76: money paid earlier and not yet allocated (the contract's
        credit) settles the fee of a newly issued invoice; the amount applied.

        The oldest payment with money left goes first; each part applied is an allocation
        row of that payment (FEE), so the ledger rebuilt afterwards has the same credit
        the domain's ``Ledger.add_invoice`` leaves. Marks the invoice PAID when covered.
        """
        contract = self._contract_row(contract_number)
        invoice = self._invoice_row(invoice_number)
        open_fee = invoice.amount + invoice.vat - self.allocated(invoice_number)[AllocationPart.FEE]
        applied = ZERO
        for payment in self.session.scalars(
            select(PaymentRow)
            .where(PaymentRow.contract_id == contract.id)
            .order_by(PaymentRow.paid_on, PaymentRow.id)
        ):
            if open_fee <= 0:
                break
            used = sum(
                self.session.scalars(
                    select(PaymentAllocationRow.amount).where(
                        PaymentAllocationRow.payment_id == payment.id
                    )
                ),
                ZERO,
            )
            take = min(payment.amount - used, open_fee)
            if take <= 0:
                continue
            self.session.add(
                PaymentAllocationRow(
                    payment_id=payment.id,
                    invoice_id=invoice.id,
                    part=AllocationPart.FEE,
                    amount=take,
                )
            )
            open_fee -= take
            applied += take
        if applied > 0 and open_fee <= 0:
            invoice.state = InvoiceState.PAID
        self.session.flush()
        return applied

    def payment_contract(self, reference: str) -> str | None:
        """The contract a payment with bank ``reference`` was recorded for, if any."""
        found: str | None = self.session.scalar(
            select(ContractRow.number)
            .join(PaymentRow, PaymentRow.contract_id == ContractRow.id)
            .where(PaymentRow.reference == reference)
        )
        return found

    def payments(self, contract_number: str) -> list[PaymentRecord]:
        contract = self._contract_row(contract_number)
        numbers = self._invoice_numbers(contract.id)
        records = []
        for row in self.session.scalars(
            select(PaymentRow)
            .where(PaymentRow.contract_id == contract.id)
            .order_by(PaymentRow.paid_on, PaymentRow.id)
        ):
            allocations = self.session.scalars(
                select(PaymentAllocationRow).where(PaymentAllocationRow.payment_id == row.id)
            )
            payment = Payment(
                payment_id=row.reference,
                paid_on=row.paid_on,
                amount=row.amount,
                invoice_id=None if row.invoice_id is None else numbers[row.invoice_id],
            )
            applied = mapping.applied_parts(allocations, numbers)
            records.append(PaymentRecord(contract_number, payment, applied, row.id))
        return records

    def _invoice_numbers(self, contract_id: int) -> dict[int, str]:
        rows = self.session.execute(
            select(InvoiceRow.id, InvoiceRow.number).where(InvoiceRow.contract_id == contract_id)
        )
        return {i: n for i, n in rows}

    def add_accrual(self, invoice_number: str, through_date: dt.date, amount: Decimal) -> bool:
        """4.4: interest of the days after the invoice's previous accrual through ``through_date``.

        False when that day was already accrued (a re-run): nothing is charged twice.
        """
        invoice = self._invoice_row(invoice_number)
        values = {"invoice_id": invoice.id, "through_date": through_date, "amount": amount}
        return (
            self._insert_absent(InterestAccrualRow, values, ("invoice_id", "through_date"))
            is not None
        )

    def record_accrued(self, before: Ledger, after: Ledger) -> int:
        """Store what ``after = before.accrue(day, rates)`` charged; the number of new rows."""
        previous = {item.invoice_id: item for item in before.items}
        added = 0
        for item in after.items:
            old = previous.get(item.invoice_id)
            if old is None or item.interest_to is None or item.interest_to == old.interest_to:
                continue
            if self.add_accrual(item.invoice_id, item.interest_to, item.interest - old.interest):
                added += 1
        return added

    def accruals(self, invoice_number: str) -> list[tuple[dt.date, Decimal]]:
        invoice = self._invoice_row(invoice_number)
        rows = self.session.execute(
            select(InterestAccrualRow.through_date, InterestAccrualRow.amount)
            .where(InterestAccrualRow.invoice_id == invoice.id)
            .order_by(InterestAccrualRow.through_date)
        )
        return [(day, amount) for day, amount in rows]

    def ledger(self, contract_number: str) -> Ledger:
        """The contract's open items and credit, rebuilt from invoices, accruals and payments.

        Per invoice (not cancelled): fee left = amount + VAT - fee allocated; interest left
        = interest accrued - interest allocated, accrued through the last accrual
        day. Credit = payments - everything allocated.
        """
        contract = self._contract_row(contract_number)
        allocated: dict[tuple[int, AllocationPart], Decimal] = {}
        for invoice_id, part, amount in self.session.execute(
            select(
                PaymentAllocationRow.invoice_id,
                PaymentAllocationRow.part,
                PaymentAllocationRow.amount,
            )
            .join(PaymentRow, PaymentRow.id == PaymentAllocationRow.payment_id)
            .where(PaymentRow.contract_id == contract.id)
        ):
            allocated[(invoice_id, part)] = allocated.get((invoice_id, part), ZERO) + amount
        paid = sum(
            self.session.scalars(
                select(PaymentRow.amount).where(PaymentRow.contract_id == contract.id)
            ),
            ZERO,
        )
        items: list[OpenItem] = []
        for invoice in self.session.scalars(
            select(InvoiceRow)
            .where(
                InvoiceRow.contract_id == contract.id, InvoiceRow.state != InvoiceState.CANCELLED
            )
            .order_by(InvoiceRow.due_on, InvoiceRow.number)
        ):
            accrued = self.session.execute(
                select(InterestAccrualRow.through_date, InterestAccrualRow.amount).where(
                    InterestAccrualRow.invoice_id == invoice.id
                )
            ).all()
            item = OpenItem(
                invoice_id=invoice.number,
                due=invoice.due_on,
                # The customer owes the invoice's total: tax base + VAT.
                principal=invoice.amount
                + invoice.vat
                - allocated.get((invoice.id, AllocationPart.FEE), ZERO),
                interest=sum((a for _, a in accrued), ZERO)
                - allocated.get((invoice.id, AllocationPart.INTEREST), ZERO),
                interest_to=max((d for d, _ in accrued), default=None),
            )
            if item.balance > 0:
                items.append(item)
        return Ledger(items=tuple(items), credit=paid - sum(allocated.values(), ZERO))
