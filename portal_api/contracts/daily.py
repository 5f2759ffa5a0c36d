"""The contract engine's daily run (issue 5): invoices (4.3), interest (4.4), proposals
(4.4 / 7.4) and the expiry notice (2.5), idempotent and safe to re-run for a past date.

Every step writes through an idempotent repository call (one invoice per contract and
month, one accrual per invoice and day, one proposal per contract, kind and invoice,
one notice per contract, kind and subject; the e-mail is queued only after its notice
is claimed), so running the job twice for one day, or for an earlier day after a
later one, adds nothing (a MyEnergy request ordered online reaches "active" once,
when its contract's subscription has started). The invoice is dated the 1st of its
month (4.3) and its PDF depends on the invoice only, never on the day of the run. The
engine never changes a contract's state: suspension and termination are proposals staff
confirm.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session, sessionmaker

from portal_api.contracts.app.billing_restoration import check_restoration
from portal_api.contracts.daily_interruptions import (
    DeviceStatusSource,
    interruption_steps,
    silence_step,
)
from portal_api.contracts.daily_terminations import end_due_contracts
from portal_api.contracts.db.billing_repository import BillingRepository
from portal_api.contracts.db.enums import DecisionKind, NoticeKind
from portal_api.contracts.db.events_repository import EventRepository
from portal_api.contracts.db.records import ContractRecord
from portal_api.contracts.db.repository import ContractRepository
from portal_api.contracts.domain.billing import ContractTerms, Invoice, invoice_schedule
from portal_api.contracts.domain.contract import ContractState
from portal_api.contracts.domain.fees import monthly_fee
from portal_api.contracts.domain.interest import RateTable, late_status
from portal_api.contracts.domain.term import latest_expiry_notice, subscription_end
from portal_api.contracts.invoice_pdf import render_invoice
from portal_api.contracts.invoice_tax import vat_on
from portal_api.contracts.invoice_view import InvoiceLine, InvoiceView
from portal_api.contracts.settings import BillingSettings
from portal_api.db.models import Customer
from portal_api.db.models import Site as SiteRow
from portal_api.domain.workdays import WorkingDays
from portal_api.notify.outbox import Outbox
from portal_api.service_requests.follow import subscription_started

__all__ = ["BILLED_STATES", "SOFIA", "BillingSettings", "DailyReport", "run_daily"]

SOFIA = ZoneInfo("Europe/Sofia")
BILLED_STATES = (ContractState.ACTIVE, ContractState.SUSPENDED)  # 4.4: fees stay due


@dataclass
class DailyReport:
    on: dt.date
    contracts: int = 0
    invoices: int = 0
    accruals: int = 0
    proposals: int = 0
    notices: int = 0
    terminations: int = 0  # 7.1a expiries and ends whose notice ran out
    failed: list[tuple[str, str]] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = [
            f"daily run {self.on.isoformat()}: {self.contracts} contract(s), "
            f"{self.invoices} invoice(s), {self.accruals} accrual(s), "
            f"{self.proposals} proposal(s), {self.notices} notice(s), "
            f"{self.terminations} termination(s), {len(self.failed)} failed"
        ]
        out += [f"  FAILED {number}: {error}" for number, error in self.failed]
        return out


def _terms(record: ContractRecord) -> ContractTerms:
    """2.3a (credentials) or 2.3b (renewal: the day before the stored start ended the old one)."""
    contract = record.contract
    fee = Decimal(0)  # replaced per month by the fee of the sites of that month (4.1, 7.1з)
    if contract.credentials_given_on is not None and contract.renewal_of is None:
        return ContractTerms(
            contract.number,
            fee,
            contract.period_months,
            contract.credentials_given_on,
            free_months=record.free_months,
        )
    if contract.subscription_start is None:
        raise ValueError("neither credentials (2.3a) nor a subscription start (2.3b) is known")
    return ContractTerms(
        contract.number,
        fee,
        contract.period_months,
        previous_contract_end=contract.subscription_start - dt.timedelta(days=1),
        free_months=record.free_months,
    )


def _invoice_number(bills: BillingRepository, key: str) -> str:
    """ЗДДС art. 114(1)(2): the ten-digit number the invoice took from the one gapless
    series in this transaction (BillingRepository.add_invoice)."""
    return bills.tax_number(key)


def _view(
    session: Session,
    record: ContractRecord,
    invoice: Invoice,
    *,
    number: str,
    lines: tuple[InvoiceLine, ...],
    billing: BillingSettings,
) -> InvoiceView:
    customer = session.get_one(Customer, record.customer_id)
    # ЗДДС art. 114(1)(5): the buyer's address; the first site's when none is on file.
    address = (customer.address or "").strip()
    if not address:
        first_site = session.get(SiteRow, lines[0].metering_point) if lines else None
        address = (
            f"{first_site.address}, {first_site.settlement}" if first_site is not None else "-"
        )
    issued = dt.datetime.combine(invoice.month, dt.time(0, 0), SOFIA).astimezone(dt.UTC)
    dual = billing.dual_display_until is not None and invoice.month <= billing.dual_display_until
    return InvoiceView(
        invoice_number=number,
        issue_date=invoice.month,
        tax_event_date=invoice.month,
        due_date=invoice.due,
        service_month=invoice.month,
        contract_number=record.contract.number,
        customer_number=customer.number,
        buyer_name=customer.name,
        buyer_address=address,
        lines=lines,
        iban=billing.iban,
        bic=billing.bic,
        bank=billing.bank,
        dual_display=dual,
        created_at=issued,
        vat_rate=billing.vat_rate,
    )


def _issue_invoices(
    session: Session,
    record: ContractRecord,
    on: dt.date,
    *,
    calendar: WorkingDays,
    billing: BillingSettings,
    outbox: Outbox,
    now: dt.datetime,
    report: DailyReport,
) -> None:
    """4.3: every month begun by ``on`` gets its invoice once, with its PDF and e-mail."""
    contracts = ContractRepository(session)
    bills = BillingRepository(session)
    events = EventRepository(session)
    if record.price_list_id is None:
        raise ValueError("the contract keeps no price list (4.2)")
    prices = contracts.price_list(record.price_list_id)
    contract = record.contract
    for scheduled in invoice_schedule(_terms(record), on, calendar).value:
        fee = monthly_fee(record.sites_on(scheduled.month), contract.period_months, prices).value
        invoice = replace(scheduled, amount=fee.total)  # the tax base (4.1, without VAT)
        vat = vat_on(fee.total, billing.vat_rate)
        row_id = bills.add_invoice(invoice, invoice.month, vat=vat)
        if row_id is None:
            continue  # issued by an earlier run
        bills.apply_credit(contract.number, invoice.invoice_id)  # 4.3: overpaid money first
        lines = tuple(
            InvoiceLine(
                metering_point=part.site_id,
                voltage_level=part.voltage.value,
                unit_price=part.unit_price,
                additional_devices=part.additional_devices,
                additional_device_price=part.additional_device_price,
            )
            for part in fee.sites
        )
        number = _invoice_number(bills, invoice.invoice_id)
        view = _view(session, record, invoice, number=number, lines=lines, billing=billing)
        if (view.subtotal, view.vat) != (fee.total, vat):  # the PDF says what the ledger owes
            raise ValueError(f"invoice {number}: the PDF's amounts differ from the ledger's")
        bills.attach_pdf(invoice.invoice_id, render_invoice(view))
        report.invoices += 1
        notice = events.claim_notice(
            contract.number, NoticeKind.INVOICE, invoice.invoice_id, invoice.month, now
        )
        if notice is not None:
            message = outbox.enqueue(
                session,
                contract.email,
                f"Фактура {number} за {invoice.month:%m.%Y} (договор {contract.number})",
                f"Фактура {number}: {view.total} EUR с ДДС, платима до "
                f"{invoice.due:%d.%m.%Y} (т. 4.3 от Общите условия).",
                kind="contract_invoice",
            )
            session.flush()
            events.attach_outbox(notice, message.id)


def _interest_and_proposals(
    session: Session, record: ContractRecord, on: dt.date, rates: RateTable, report: DailyReport
) -> None:
    """4.4: interest through ``on``; suspension (> 5 days) and termination (> 45) proposals."""
    bills = BillingRepository(session)
    events = EventRepository(session)
    number = record.contract.number
    before = bills.ledger(number)
    after = before.accrue(on, rates)
    report.accruals += bills.record_accrued(before, after)
    for item in before.items:
        if item.principal <= 0 or item.due >= on:
            continue
        status = late_status(item, on)
        if status.value.suspension_allowed and events.propose(
            number, DecisionKind.SUSPENSION_PROPOSED, item.invoice_id, on, status
        ):
            report.proposals += 1
        if status.value.termination_allowed and events.propose(
            number, DecisionKind.TERMINATION_PROPOSED, item.invoice_id, on, status
        ):
            report.proposals += 1


def _expiry_notice(
    session: Session,
    record: ContractRecord,
    on: dt.date,
    *,
    outbox: Outbox,
    now: dt.datetime,
    report: DailyReport,
) -> None:
    """2.5: once, from the latest notice day (14 days before the end) on.

    A run after that day still sends it (a missed day is caught up), so a later run
    never leaves something an earlier one would have done.
    """
    contract = record.contract
    if contract.subscription_start is None:
        return
    end = subscription_end(
        contract.subscription_start, contract.period_months, record.free_months
    ).value
    latest = latest_expiry_notice(end).value
    if on < latest:
        return
    events = EventRepository(session)
    notice = events.claim_notice(contract.number, NoticeKind.EXPIRY, end.isoformat(), latest, now)
    if notice is None:
        return
    message = outbox.enqueue(
        session,
        contract.email,
        f"Изтичане на договор {contract.number} на {end:%d.%m.%Y}",
        f"Договор {contract.number} изтича на {end:%d.%m.%Y} (т. 2.5 от Общите условия).",
        kind="contract_expiry",
    )
    session.flush()
    events.attach_outbox(notice, message.id)
    report.notices += 1


def _run_contract(
    sessions: sessionmaker[Session],
    number: str,
    on: dt.date,
    *,
    calendar: WorkingDays,
    rates: RateTable,
    billing: BillingSettings,
    outbox: Outbox,
    now: dt.datetime,
    report: DailyReport,
) -> None:
    """One contract's day in one transaction; a failure is reported, never raised."""
    report.contracts += 1
    partial = DailyReport(on)
    try:
        with sessions.begin() as session:
            record = ContractRepository(session).contract(number)
            if record is None:
                return
            # 2.3a: the request that ordered the contract online reaches "active" (issue 6).
            subscription_started(
                session,
                number=number,
                state=record.contract.state,
                subscription_start=record.contract.subscription_start,
                on=on,
                at=now,
            )
            _issue_invoices(
                session,
                record,
                on,
                calendar=calendar,
                billing=billing,
                outbox=outbox,
                now=now,
                report=partial,
            )
            _interest_and_proposals(session, record, on, rates, partial)
            # 4.4: a suspended contract with its overdue fees paid is restored.
            restoration = check_restoration(session, number, on, calendar)
            if restoration is not None and restoration.proposed:
                partial.proposals += 1
            _expiry_notice(session, record, on, outbox=outbox, now=now, report=partial)
            steps = interruption_steps(
                session, record, calendar=calendar, outbox=outbox, now=now
            )  # 3.2б / 3.2в notices, 5.1 / 5.2 free months
            partial.notices += steps.notices
            # 7.1a / 7.2 / 7.3: last, once the day's invoices and free months are in.
            partial.terminations += end_due_contracts(session, number, on, now)
    except Exception as exc:  # one bad contract must not stop the others
        report.failed.append((number, f"{type(exc).__name__}: {exc}"))
        return
    report.invoices += partial.invoices
    report.accruals += partial.accruals
    report.proposals += partial.proposals
    report.notices += partial.notices
    report.terminations += partial.terminations


def run_daily(
    sessions: sessionmaker[Session],
    on: dt.date,
    *,
    calendar: WorkingDays,
    rates: RateTable,
    billing: BillingSettings,
    now: dt.datetime,
    statuses: DeviceStatusSource | None = None,
) -> DailyReport:
    """Run the day ``on`` for every billed contract, one transaction per contract.

    ``statuses`` (the time-series read side, ``ConsumptionService``): given, the run
    also scans for devices silent over 6 hours (5.2, daily_interruptions)."""
    report = DailyReport(on)
    outbox = Outbox(sessions, clock=lambda: now)
    done: set[str] = set()
    while True:
        # A renewal that the day's expiry step activated (2.4) is billed in the same run.
        with sessions() as session:
            pending = [
                r.contract.number
                for r in ContractRepository(session).contracts(BILLED_STATES)
                if r.contract.number not in done
            ]
        if not pending:
            break
        for number in pending:
            done.add(number)
            _run_contract(
                sessions,
                number,
                on,
                calendar=calendar,
                rates=rates,
                billing=billing,
                outbox=outbox,
                now=now,
                report=report,
            )
    if statuses is not None:
        try:
            report.proposals += len(silence_step(sessions, statuses, now).proposed)
        except Exception as exc:  # the scan failing must not hide the contracts' day
            report.failed.append(("silence scan", f"{type(exc).__name__}: {exc}"))
    return report
