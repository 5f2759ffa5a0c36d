"""Invoices (4.3), payments and their allocation (ЗЗД art. 76), interest accruals (4.4).

Idempotent for the daily run (base.py): :meth:`BillingRepository.add_invoice`
(one per contract and month), :meth:`~BillingRepository.add_accrual` (one per
invoice and day), :meth:`~BillingRepository.add_payment` (one per bank reference).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal

from sqlalchemy import select

from portal_api.contracts.db import mapping
from portal_api.contracts.db.base import RepositoryBase
from portal_api.contracts.db.enums import AllocationPart, InvoiceState
from portal_api.contracts.db.models import (
    InterestAccrualRow,
    InvoiceRow,
    PaymentAllocationRow,
    PaymentRow,
)
from portal_api.contracts.db.records import InvoiceRecord, PaymentRecord
from portal_api.contracts.domain.billing import AppliedPart, Invoice, Ledger, OpenItem, Payment
from portal_api.contracts.domain.money import ZERO

__all__ = ["BillingRepository"]


class BillingRepository(RepositoryBase):
    # -- invoices (4.3) -------------------------------------------------------------

    def add_invoice(self, invoice: Invoice, issued_on: dt.date) -> int | None:
        """Issue ``invoice``; None when its contract's month is already invoiced.

        Attach the PDF afterwards (:meth:`attach_pdf`), once the claim succeeded.
        A number reused for another contract or month still fails (IntegrityError).
        """
        contract = self._contract_row(invoice.contract_id)
        values = mapping.invoice_values(invoice, contract.id, issued_on)
        values["state"] = InvoiceState.ISSUED
        return self._insert_absent(InvoiceRow, values, ("contract_id", "month"))

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

        Per invoice (not cancelled): fee left = amount - fee allocated; interest left
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
                principal=invoice.amount - allocated.get((invoice.id, AllocationPart.FEE), ZERO),
                interest=sum((a for _, a in accrued), ZERO)
                - allocated.get((invoice.id, AllocationPart.INTEREST), ZERO),
                interest_to=max((d for d, _ in accrued), default=None),
            )
            if item.balance > 0:
                items.append(item)
        return Ledger(items=tuple(items), credit=paid - sum(allocated.values(), ZERO))
