"""Rows to domain values and back: the one place that knows both shapes.

Pure functions over the models (no session, no query): the repository fetches
and writes rows, this module translates. When the domain renames or moves a
name, this is the file to follow it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from portal_api.contracts.db.enums import AllocationPart, InterruptionKind, InterruptionSource
from portal_api.contracts.db.models import (
    ContractRow,
    ContractSiteRow,
    DecisionRow,
    InterruptionRow,
    InvoiceRow,
    NoticeRow,
    PaymentAllocationRow,
    PriceListItemRow,
    PriceListRow,
)
from portal_api.contracts.db.records import (
    ContractRecord,
    DecisionRecord,
    InterruptionRecord,
    InvoiceRecord,
    NoticeRecord,
)
from portal_api.contracts.domain.billing import DUE_DAY, AppliedPart, Invoice
from portal_api.contracts.domain.contract import Contract, CustomerKind, Site
from portal_api.contracts.domain.decision import Decision, to_json
from portal_api.contracts.domain.interruptions import Interruption
from portal_api.contracts.domain.money import ZERO
from portal_api.contracts.domain.prices import PriceList
from portal_api.db.enums import CustomerKind as CustomerRowKind

__all__ = [
    "CUSTOMER_KIND",
    "allocation_rows",
    "applied_parts",
    "contract_record",
    "decision_record",
    "explanation",
    "interruption_record",
    "interruption_values",
    "invoice_record",
    "invoice_values",
    "notice_record",
    "price_list",
    "price_list_rows",
    "site_values",
    "write_contract",
]

# The portal's customers table (seed 000 wording) and the preamble of the General Terms.
CUSTOMER_KIND: Mapping[CustomerRowKind, CustomerKind] = {
    CustomerRowKind.PERSON: CustomerKind.NATURAL_PERSON,
    CustomerRowKind.SOLE_TRADER: CustomerKind.SOLE_TRADER,
    CustomerRowKind.COMPANY: CustomerKind.LEGAL_ENTITY,
}


# -- price lists (4.1, 4.2) ------------------------------------------------------------


def price_list_rows(prices: PriceList) -> tuple[PriceListRow, list[PriceListItemRow]]:
    """The rows of one version; its ``version`` is the list's name, or its date when unnamed."""
    row = PriceListRow(
        version=prices.name or prices.effective_from.isoformat(),
        effective_from=prices.effective_from,
        additional_device_price=prices.additional_device,
    )
    items = [
        PriceListItemRow(voltage=level, period_months=months, unit_price=price)
        for (level, months), price in sorted(prices.items.items())
    ]
    return row, items


def price_list(row: PriceListRow, items: Iterable[PriceListItemRow]) -> PriceList:
    return PriceList(
        effective_from=row.effective_from,
        items={(item.voltage, item.period_months): item.unit_price for item in items},
        additional_device=row.additional_device_price,
        name=row.version,
    )


# -- contracts (1.1, 2.x) --------------------------------------------------------------


def write_contract(record: ContractRecord, row: ContractRow) -> None:
    """Copy the contract's own columns onto ``row`` (sites: :func:`site_values`)."""
    contract = record.contract
    row.number = contract.number
    row.customer_id = record.customer_id
    row.state = contract.state
    row.period_months = contract.period_months
    row.contact_email = contract.email
    row.off_premises = contract.off_premises
    row.renewal_of = contract.renewal_of
    row.signed_on = contract.signed_on
    row.in_force_on = contract.in_force_on  # 2.1
    row.installed_on = contract.installed_on
    row.protocols_signed_on = contract.protocols_signed_on
    row.credentials_given_on = contract.credentials_given_on
    row.subscription_start = contract.subscription_start
    row.subscription_end = contract.subscription_end
    row.free_months = record.free_months
    row.price_list_id = record.price_list_id
    row.suspended_on = contract.suspended_on
    row.terminated_on = contract.terminated_on
    row.termination_ground = contract.termination_ground
    row.dismantled_on = contract.dismantled_on


def site_values(site: Site, left_on: dt.date | None) -> dict[str, Any]:
    return {
        "site_id": site.site_id,
        "voltage": site.voltage,
        "multimeters": site.multimeters,
        "left_on": left_on,
    }


def contract_record(
    row: ContractRow, sites: Iterable[ContractSiteRow], customer_kind: CustomerRowKind
) -> ContractRecord:
    ordered = sorted(sites, key=lambda s: s.id)
    contract = Contract(
        number=row.number,
        customer_kind=CUSTOMER_KIND[customer_kind],
        sites=tuple(Site(s.site_id, s.voltage, s.multimeters) for s in ordered),
        period_months=row.period_months,
        email=row.contact_email,
        off_premises=row.off_premises,
        state=row.state,
        renewal_of=row.renewal_of,
        signed_on=row.signed_on,
        installed_on=row.installed_on,
        protocols_signed_on=row.protocols_signed_on,
        credentials_given_on=row.credentials_given_on,
        subscription_start=row.subscription_start,
        subscription_end=row.subscription_end,
        suspended_on=row.suspended_on,
        terminated_on=row.terminated_on,
        termination_ground=row.termination_ground,
        dismantled_on=row.dismantled_on,
    )
    return ContractRecord(
        contract=contract,
        customer_id=row.customer_id,
        price_list_id=row.price_list_id,
        free_months=row.free_months,
        left_on={s.site_id: s.left_on for s in ordered if s.left_on is not None},
        id=row.id,
    )


# -- invoices and payments (4.3, ЗЗД art. 76) ----------------------------------------


def nominal_due(month: dt.date) -> dt.date:
    """3.1a / 4.3: the 10th of the invoiced month (the working-day shift is in ``due_on``)."""
    return dt.date(month.year, month.month, DUE_DAY)


def invoice_values(invoice: Invoice, contract_id: int, issued_on: dt.date) -> dict[str, Any]:
    if invoice.month.day != 1:
        raise ValueError(
            f"invoice {invoice.invoice_id}: month is its first day, not {invoice.month}"
        )
    if invoice.nominal_due != nominal_due(invoice.month):
        raise ValueError(f"invoice {invoice.invoice_id}: nominal due is the {DUE_DAY}th (4.3)")
    return {
        "contract_id": contract_id,
        "month": invoice.month,
        "number": invoice.invoice_id,
        "amount": invoice.amount,
        "due_on": invoice.due,
        "issued_on": issued_on,
    }


def invoice_record(row: InvoiceRow, contract_number: str) -> InvoiceRecord:
    invoice = Invoice(
        invoice_id=row.number,
        contract_id=contract_number,
        month=row.month,
        amount=row.amount,
        nominal_due=nominal_due(row.month),
        due=row.due_on,
    )
    return InvoiceRecord(invoice=invoice, issued_on=row.issued_on, state=row.state, id=row.id)


def allocation_rows(
    applied: Iterable[AppliedPart], invoice_ids: Mapping[str, int]
) -> list[PaymentAllocationRow]:
    """One row per non-zero part (costs, interest, fee) of each invoice a payment settled."""
    rows: list[PaymentAllocationRow] = []
    for part in applied:
        for kind, amount in (
            (AllocationPart.COSTS, part.costs),
            (AllocationPart.INTEREST, part.interest),
            (AllocationPart.FEE, part.principal),
        ):
            if amount < 0:
                raise ValueError(f"a negative allocation to {part.invoice_id}: {amount}")
            if amount > 0:
                rows.append(
                    PaymentAllocationRow(
                        invoice_id=invoice_ids[part.invoice_id], part=kind, amount=amount
                    )
                )
    return rows


def applied_parts(
    rows: Iterable[PaymentAllocationRow], invoice_numbers: Mapping[int, str]
) -> tuple[AppliedPart, ...]:
    """The allocation rows of one payment, one AppliedPart per invoice in the order stored."""
    parts: dict[int, dict[AllocationPart, Decimal]] = {}
    for row in sorted(rows, key=lambda r: r.id):
        parts.setdefault(row.invoice_id, {})[row.part] = row.amount
    return tuple(
        AppliedPart(
            invoice_id=invoice_numbers[invoice_id],
            costs=amounts.get(AllocationPart.COSTS, ZERO),
            interest=amounts.get(AllocationPart.INTEREST, ZERO),
            principal=amounts.get(AllocationPart.FEE, ZERO),
        )
        for invoice_id, amounts in parts.items()
    )


# -- interruptions (5.1, 5.2) ----------------------------------------------------------


def interruption_values(item: Interruption) -> dict[str, Any]:
    return {
        "kind": InterruptionKind(item.kind),
        "started_at": item.start,
        "ended_at": item.end,
        "notified_at": item.notified_at,
        "detected_at": item.detected_at,
        "reported_by_customer_at": item.reported_by_customer_at,
        "company_fault": item.company_fault,
        "customer_caused": item.customer_caused,
        "customer_obstructed": item.customer_obstructed,
        "device_id": item.device_id,
    }


def interruption_record(
    row: InterruptionRow, site_ids: Iterable[str], contract_number: str
) -> InterruptionRecord:
    item = Interruption(
        kind="planned" if row.kind is InterruptionKind.PLANNED else "unplanned",
        start=row.started_at,
        end=row.ended_at,
        notified_at=row.notified_at,
        company_fault=row.company_fault,
        sites=frozenset(site_ids),
        detected_at=row.detected_at,
        reported_by_customer_at=row.reported_by_customer_at,
        customer_caused=row.customer_caused,
        customer_obstructed=row.customer_obstructed,
        device_id=row.device_id,
    )
    return InterruptionRecord(
        interruption=item,
        contract_number=contract_number,
        source=InterruptionSource(row.source),
        id=row.id,
    )


# -- the decision log and the notices ------------------------------------------------


# One converter for the API, the log and this table: Decision.explain() is JSON already.
_json = to_json


def explanation(decision: Decision[Any]) -> dict[str, Any]:
    """``decision.explain()``, storable as JSON (the clause, reasons, numbers, value)."""
    return dict(decision.explain())


def decision_record(row: DecisionRow, contract_number: str) -> DecisionRecord:
    return DecisionRecord(
        contract_number=contract_number,
        kind=row.kind,
        subject=row.subject,
        clause=row.clause,
        proposed_on=row.proposed_on,
        explanation=row.explanation,
        state=row.state,
        decided_by=row.decided_by,
        decided_at=row.decided_at,
        id=row.id,
    )


def notice_record(row: NoticeRow, contract_number: str) -> NoticeRecord:
    return NoticeRecord(
        contract_number=contract_number,
        kind=row.kind,
        subject=row.subject,
        due_on=row.due_on,
        created_at=row.created_at,
        outbox_id=row.outbox_id,
        id=row.id,
    )
