"""The billing service (4.3, 4.4, ЗЗД art. 76) on the demo data of the web fixture.

A real SQLite database seeded like the portal's tests and run for 2026-03-02: Ivan's
contract MYE-2025-0001 (two LV sites, 29.80 EUR a month without VAT) has invoices
0000000001 (January, due Mon 12 Jan: 10 Jan is a Saturday), 0000000002 (February,
due 10 Feb) and 0000000003 (March, due 10 Mar), each 29.80 + 5.96 VAT = 35.76 EUR.
Interest through 2 March: 0.49 on January, 0.20 on February.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select, update

from portal_api.contracts.app.billing import BillingError, BillingService, PaymentInput
from portal_api.contracts.app.billing_views import AllocationView, PaymentOutcome
from portal_api.contracts.daily import run_daily
from portal_api.contracts.db.billing_repository import BillingRepository
from portal_api.contracts.db.enums import DecisionKind, InvoiceState
from portal_api.contracts.db.events_repository import EventRepository
from portal_api.contracts.db.models import ContractRow, InvoiceRow, PaymentRow
from portal_api.contracts.domain.contract import ContractState
from portal_api.db.models import AuditEntry, User
from portal_api.web.billing_access import billing_service
from portal_api.web.services import Services
from tests.portal.contracts_pdf.test_invoice_pdf import _text
from tests.portal.web.server import portal_config, seeded_services

NOW = dt.datetime(2026, 3, 2, 12, 0, tzinfo=dt.UTC)
TODAY = dt.date(2026, 3, 2)
IVAN = "MYE-2025-0001"
MARIA = "MYE-2025-0002"
E = Decimal


def D(month: int, day: int) -> dt.date:  # noqa: N802 - a day of 2026, read like D(3, 10)
    return dt.date(2026, month, day)


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Services]:
    built = seeded_services(portal_config(tmp_path), lambda: NOW)
    yield built
    built.close()


@pytest.fixture
def billing(services: Services) -> BillingService:
    return billing_service(services)


def _operator(services: Services) -> int:
    with services.sessions() as session:
        found: int = session.scalars(select(User.id).where(User.username == "operator")).one()
        return found


def _pay(
    services: Services,
    billing: BillingService,
    amount: str,
    reference: str,
    *,
    on: dt.date = TODAY,
    invoice: str | None = None,
    contract: str = IVAN,
) -> PaymentOutcome:
    return billing.record_payment(
        contract,
        PaymentInput(E(amount), on, reference, invoice),
        actor_user_id=_operator(services),
        ip="127.0.0.1",
    )


def _suspend(services: Services, number: str, on: dt.date) -> None:
    with services.sessions.begin() as session:
        session.execute(
            update(ContractRow)
            .where(ContractRow.number == number)
            .values(state=ContractState.SUSPENDED, suspended_on=on)
        )


def _restorations(services: Services, number: str) -> list[tuple[str, dt.date]]:
    with services.sessions() as session:
        return [
            (d.subject, d.proposed_on)
            for d in EventRepository(session).decisions(number)
            if d.kind is DecisionKind.RESTORATION_DUE
        ]


# -- VAT: the customer owes what the invoice says (docs/contract-rules.md "VAT") ---------


def test_4_3_vat_invoice_ledger_pdf_and_service_agree_to_the_cent(
    services: Services, billing: BillingService
) -> None:
    march = billing.invoices(IVAN)[2]
    assert (march.number, march.amount, march.vat, march.total) == (
        "0000000003",
        E("29.80"),
        E("5.96"),
        E("35.76"),
    )
    assert (march.status, march.outstanding, march.due_on) == ("open", E("35.76"), D(3, 10))
    with services.sessions() as session:
        ledger = BillingRepository(session).ledger(IVAN)
    owed = {item.invoice_id: item.principal for item in ledger.items}
    assert owed[march.key] == E("35.76")  # the ledger owes base + VAT, not the net fee
    pdf = billing.invoice_pdf("0000000003")
    assert pdf is not None
    text = _text(pdf)
    assert "ФАКТУРА № 0000000003" in text
    assert "Данъчна основа 29,80 €" in text and "ДДС 20 % 5,96 €" in text
    assert "Сума за плащане 35,76 €" in text
    # ЗДДС art. 114(1)(5): the buyer's own postal address (revision 0003), not the site's
    assert "ул. „Акад. Андрей Сахаров“ 14, 9010 Варна" in text


def test_4_4_interest_runs_on_the_total_with_vat(billing: BillingService) -> None:
    january, february, _ = billing.invoices(IVAN)
    # 35.76 x rate x days / 360 (actual/360), charged by the daily run through 2 March
    assert (january.interest_charged, february.interest_charged) == (E("0.49"), E("0.20"))
    assert (january.outstanding, february.outstanding) == (E("36.25"), E("35.96"))
    assert (january.status, february.status) == ("overdue", "overdue")


# -- payments and their allocation (4.3, ЗЗД art. 76) ------------------------------------


def test_zzd_76_allocation_costs_interest_fee(services: Services, billing: BillingService) -> None:
    """The oldest invoice first; within it interest before the fee; the rest to the next."""
    outcome = _pay(services, billing, "40.00", "BNK-0001")
    assert outcome.recorded
    assert outcome.payment.allocations == (
        AllocationView("0000000001", E("0.00"), E("0.49"), E("35.76")),
        AllocationView("0000000002", E("0.00"), E("0.20"), E("3.55")),
    )
    january, february, march = billing.invoices(IVAN)
    assert (january.status, january.outstanding, january.paid) == ("paid", E("0"), E("36.25"))
    assert (february.outstanding, february.paid) == (E("32.21"), E("3.75"))
    assert march.outstanding == E("35.76")
    with services.sessions() as session:
        state = session.scalars(
            select(InvoiceRow.state).where(InvoiceRow.tax_number == "0000000001")
        ).one()
        assert state is InvoiceState.PAID


def test_4_3_named_invoice_is_settled_first(services: Services, billing: BillingService) -> None:
    """ЗЗД art. 76(1): the customer named March; January's older debt waits."""
    outcome = _pay(services, billing, "10.00", "BNK-0002", invoice="0000000003")
    assert outcome.payment.allocations == (
        AllocationView("0000000003", E("0.00"), E("0.00"), E("10.00")),
    )
    assert outcome.payment.invoice_number == "0000000003"
    assert billing.invoices(IVAN)[0].outstanding == E("36.25")


def test_4_3_overpayment_is_kept_as_credit(services: Services, billing: BillingService) -> None:
    outcome = _pay(services, billing, "150.00", "BNK-0003")
    # 36.25 + 35.96 + 35.76 = 107.97 settled, 42.03 credit for the next invoices
    assert outcome.payment.credit == E("42.03")
    assert all(i.status == "paid" for i in billing.invoices(IVAN))
    with services.sessions() as session:
        assert BillingRepository(session).ledger(IVAN).credit == E("42.03")


def test_4_3_same_bank_reference_records_nothing_twice(
    services: Services, billing: BillingService
) -> None:
    first = _pay(services, billing, "40.00", "BNK-0004")
    again = _pay(services, billing, "40.00", "BNK-0004")
    assert (first.recorded, again.recorded) == (True, False)
    assert "already recorded" in again.reason_en
    assert again.payment == first.payment
    with services.sessions() as session:
        assert len(session.scalars(select(PaymentRow)).all()) == 1
    with pytest.raises(BillingError) as refused:
        _pay(services, billing, "40.00", "BNK-0004", contract=MARIA)
    assert refused.value.status == 409


def test_4_3_an_invoice_of_another_contract_cannot_be_named(
    services: Services, billing: BillingService
) -> None:
    with pytest.raises(BillingError) as refused:
        _pay(services, billing, "10.00", "BNK-0005", invoice="0000000004")  # Maria's
    assert refused.value.status == 400
    with pytest.raises(BillingError) as unknown:
        _pay(services, billing, "10.00", "BNK-0006", contract="MYE-2099-0001")
    assert unknown.value.status == 404


def test_4_3_a_payment_is_audited_without_personal_numbers(
    services: Services, billing: BillingService
) -> None:
    _pay(services, billing, "40.00", "BNK-0007")
    with services.sessions() as session:
        entry = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "payment_recorded")
        ).one()
    assert (entry.object_type, entry.object_id, entry.ip) == ("contract", IVAN, "127.0.0.1")
    assert entry.actor_user_id == _operator(services)
    assert entry.detail["reference"] == "BNK-0007" and entry.detail["amount"] == "40.00"
    assert entry.detail["settled"] == ["0000000001"]
    assert "7804122056" not in str(entry.detail)  # Ivan's (demo) EGN


def test_4_3_payments_list_shows_the_allocation(
    services: Services, billing: BillingService
) -> None:
    _pay(services, billing, "40.00", "BNK-0008", on=D(2, 27))
    (payment,) = billing.payments(IVAN)
    assert (payment.reference, payment.paid_on, payment.amount) == ("BNK-0008", D(2, 27), E("40"))
    assert [a.invoice_number for a in payment.allocations] == ["0000000001", "0000000002"]
    assert payment.credit == E("0.00")


# -- 4.4 restoration ------------------------------------------------------------------


def test_4_4_restoration_due_within_3_working_days_over_a_holiday(
    services: Services, billing: BillingService
) -> None:
    """Paid Mon 2 March 2026; Tue 3 March is a public holiday: access back by Fri 6 March."""
    _suspend(services, IVAN, D(2, 20))
    outcome = _pay(services, billing, "72.21", "BNK-0009")  # 36.25 + 35.96: every overdue fee
    restoration = outcome.restoration
    assert restoration is not None and restoration.proposed
    assert (restoration.paid_on, restoration.restore_by) == (D(3, 2), D(3, 6))
    assert "3 working days" in restoration.reason_en
    assert _restorations(services, IVAN) == [("2026-02-20", D(3, 2))]
    # A later payment during the same suspension proposes nothing new.
    again = _pay(services, billing, "5.00", "BNK-0010", on=D(3, 3))
    assert again.restoration is not None and not again.restoration.proposed
    assert len(_restorations(services, IVAN)) == 1


def test_4_4_paying_exactly_the_fees_leaves_the_suspension(
    services: Services, billing: BillingService
) -> None:
    """ЗЗД art. 76(2) sends money to interest first: 2 x 35.76 leaves 0.69 of a fee open."""
    _suspend(services, IVAN, D(2, 20))
    outcome = _pay(services, billing, "71.52", "BNK-0011")
    assert outcome.restoration is None
    assert billing.invoices(IVAN)[1].outstanding == E("0.69")
    assert _restorations(services, IVAN) == []


def test_4_4_daily_run_checks_restoration(services: Services, billing: BillingService) -> None:
    """Paid while active, suspended afterwards (staff confirmed late): the run sees it."""
    _pay(services, billing, "72.21", "BNK-0012")
    _suspend(services, IVAN, D(3, 3))
    assert services.billing is not None
    report = run_daily(
        services.sessions,
        D(3, 4),
        calendar=services.calendar,
        rates=services.rates,
        billing=services.billing,
        now=NOW,
    )
    assert report.failed == []
    assert _restorations(services, IVAN) == [("2026-03-03", D(3, 4))]
    with services.sessions() as session:
        (decision,) = [
            d
            for d in EventRepository(session).decisions(IVAN)
            if d.kind is DecisionKind.RESTORATION_DUE
        ]
    numbers = decision.explanation["numbers"]
    assert isinstance(numbers, dict) and numbers["restore_by"] == "2026-03-06"


# -- notices --------------------------------------------------------------------------


def test_4_3_notices_name_the_invoice_number_and_the_mail(billing: BillingService) -> None:
    notices = billing.notices(IVAN)
    assert [n.subject for n in notices] == ["0000000003", "0000000002", "0000000001"]
    assert all(n.kind == "invoice" for n in notices)
    assert notices[0].email_subject == "Фактура 0000000003 за 03.2026 (договор MYE-2025-0001)"
    assert notices[0].email_sent_at is None  # the fixture sends no mail


def test_find_contracts_by_number_customer_or_name(billing: BillingService) -> None:
    assert [h.number for h in billing.find_contracts("0002")] == [MARIA]
    assert [h.number for h in billing.find_contracts("3100000017")] == [IVAN]
    assert [h.number for h in billing.find_contracts("добруджа")] == ["MYE-2025-0003"]
    assert len(billing.find_contracts("")) == 3


def test_4_3_credit_settles_the_next_invoice_the_daily_run_issues(
    services: Services, billing: BillingService
) -> None:
    """42.03 EUR left over on 2 March pays April's 35.76 when the run issues it."""
    _pay(services, billing, "150.00", "BNK-0013")
    assert services.billing is not None
    report = run_daily(
        services.sessions,
        D(4, 1),
        calendar=services.calendar,
        rates=services.rates,
        billing=services.billing,
        now=NOW,
    )
    assert report.failed == []
    april = billing.invoices(IVAN, on=D(4, 20))[3]
    assert (april.number, april.status, april.paid, april.outstanding) == (
        "0000000010",
        "paid",
        E("35.76"),
        E("0"),
    )
    (payment,) = billing.payments(IVAN)
    assert payment.credit == E("6.27")  # 42.03 - 35.76
    with services.sessions() as session:
        assert BillingRepository(session).ledger(IVAN).credit == E("6.27")
