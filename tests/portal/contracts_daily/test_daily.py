"""The daily run (issue 5) on SQLite and PostgreSQL: invoices (4.3), interest and
proposals (4.4), the expiry notice (2.5), and idempotence under re-runs."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import hypothesis.strategies as st
from hypothesis import HealthCheck, given, settings
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from portal_api.contracts.daily import BillingSettings, DailyReport, run_daily
from portal_api.contracts.db.billing_repository import BillingRepository
from portal_api.contracts.db.enums import DecisionKind, NoticeKind
from portal_api.contracts.db.events_repository import EventRepository
from portal_api.contracts.db.models import DecisionRow, InterestAccrualRow, InvoiceRow, NoticeRow
from portal_api.contracts.db.records import ContractRecord
from portal_api.contracts.db.repository import ContractRepository
from portal_api.contracts.domain.interest import RateTable
from portal_api.db.models import OutboxMessage
from portal_api.domain.workdays import WorkingDays
from tests.portal.contracts.samples import PRICES
from tests.portal.contracts_db.samples import NUMBER, signed_contract

D = dt.date
CALENDAR = WorkingDays()
RATES = RateTable(
    (D(year, month, 1), Decimal("10.00")) for year in range(2026, 2030) for month in (1, 7)
)
BILLING = BillingSettings(
    iban="BG80BNBG96611020345678",
    bic="BNBGBGSF",
    bank="БНБ",
    vat_rate=Decimal("0.20"),
    dual_display_until=D(2026, 12, 31),
)
NOW = dt.datetime(2026, 11, 22, 6, 0, tzinfo=dt.UTC)
FEE = Decimal("73.70")  # LV/24: 17.90 + 2 x 9.95, MV/24: 35.90 (4.1)


def _contract(sessions: sessionmaker[Session], customer: int) -> None:
    with sessions.begin() as session:
        repo = ContractRepository(session)
        prices = repo.add_price_list(PRICES)
        repo.save_contract(ContractRecord(signed_contract(), customer, price_list_id=prices))


def _run(sessions: sessionmaker[Session], on: dt.date) -> DailyReport:
    return run_daily(sessions, on, calendar=CALENDAR, rates=RATES, billing=BILLING, now=NOW)


def _snapshot(sessions: sessionmaker[Session]) -> dict[str, list[tuple[Any, ...]]]:
    out: dict[str, list[tuple[Any, ...]]] = {}
    with sessions() as session:
        for model in (InvoiceRow, InterestAccrualRow, DecisionRow, NoticeRow, OutboxMessage):
            columns = [c for c in model.__table__.columns]
            rows = session.execute(select(*columns).order_by(model.id)).all()
            out[model.__tablename__] = [tuple(r) for r in rows]
    return out


def test_clause_4_3_first_months_invoiced_on_the_1st_due_on_the_10th(
    sessions: sessionmaker[Session], seeded: dict[str, int]
) -> None:
    _contract(sessions, seeded["customer"])
    # credentials 2026-04-28: the subscription starts on 1 May (2.3a), nothing in April
    assert _run(sessions, D(2026, 4, 30)).invoices == 0
    report = _run(sessions, D(2026, 5, 1))
    assert (report.invoices, report.failed) == (1, [])
    report = _run(sessions, D(2026, 6, 1))
    assert report.invoices == 1
    with sessions() as session:
        bills = BillingRepository(session)
        issued = bills.invoices(NUMBER)
        assert [
            (r.invoice.month, r.issued_on, r.invoice.due, r.invoice.amount) for r in issued
        ] == [
            # 10 May 2026 is a Sunday: due on Monday the 11th
            (D(2026, 5, 1), D(2026, 5, 1), D(2026, 5, 11), FEE),
            (D(2026, 6, 1), D(2026, 6, 1), D(2026, 6, 10), FEE),
        ]
        pdf = bills.invoice_pdf(issued[0].invoice.invoice_id)
        assert pdf is not None and pdf.startswith(b"%PDF")
        notices = EventRepository(session).notices(NUMBER)
        assert [(n.kind, n.subject) for n in notices] == [
            (NoticeKind.INVOICE, issued[0].invoice.invoice_id),
            (NoticeKind.INVOICE, issued[1].invoice.invoice_id),
        ]
        assert all(n.outbox_id is not None for n in notices)
        mails = session.scalars(
            select(OutboxMessage).where(OutboxMessage.kind == "contract_invoice")
        ).all()
        assert len(mails) == 2 and "88.44 EUR" in mails[0].body_text  # 73.70 + 20 % VAT


def test_clause_4_4_interest_and_proposals_on_day_6_and_day_46(
    sessions: sessionmaker[Session], seeded: dict[str, int]
) -> None:
    _contract(sessions, seeded["customer"])
    _run(sessions, D(2026, 5, 1))
    may = f"{NUMBER}-2026-05"
    day5 = _run(sessions, D(2026, 5, 16))  # 5 days after 11 May: interest, no proposal
    assert (day5.accruals, day5.proposals) == (1, 0)
    day6 = _run(sessions, D(2026, 5, 17))
    assert (day6.accruals, day6.proposals) == (1, 1)
    with sessions() as session:
        accrued = BillingRepository(session).accruals(may)
        # Interest runs on what the invoice asks: 73.70 + 14.74 VAT = 88.44 (contract-rules
        # "VAT"). 16th: 88.44 x 10 % x 5 / 360 = 0.1228 -> 0.12; 17th: 1 day 0.0246 -> 0.02.
        assert accrued[-1][0] == D(2026, 5, 17)
        assert [a for _, a in accrued] == [Decimal("0.12"), Decimal("0.02")]
    day46 = _run(sessions, D(2026, 6, 26))  # June (due 10 June) is 16 days late too
    assert day46.proposals == 2  # termination of May, suspension of June
    with sessions() as session:
        decisions = EventRepository(session).decisions(NUMBER)
        kinds = [(d.kind, d.subject, d.proposed_on) for d in decisions]
        assert kinds == [
            (DecisionKind.SUSPENSION_PROPOSED, may, D(2026, 5, 17)),
            (DecisionKind.TERMINATION_PROPOSED, may, D(2026, 6, 26)),
            (DecisionKind.SUSPENSION_PROPOSED, f"{NUMBER}-2026-06", D(2026, 6, 26)),
        ]
        record = ContractRepository(session).contract(NUMBER)
        assert record is not None and record.contract.state.value == "active"  # staff decide


def test_clause_2_5_expiry_notice_on_the_latest_day(
    sessions: sessionmaker[Session], seeded: dict[str, int]
) -> None:
    _contract(sessions, seeded["customer"])
    # 24 months from 1 May 2026 end on 30 April 2028; latest notice 16 April 2028
    assert _run(sessions, D(2028, 4, 15)).notices == 0
    assert _run(sessions, D(2028, 4, 16)).notices == 1
    assert _run(sessions, D(2028, 4, 17)).notices == 0
    with sessions() as session:
        expiry = [
            n for n in EventRepository(session).notices(NUMBER) if n.kind is NoticeKind.EXPIRY
        ]
        assert [(n.subject, n.due_on) for n in expiry] == [("2028-04-30", D(2028, 4, 16))]


def test_a_bad_contract_is_reported_and_the_others_run(
    sessions: sessionmaker[Session], seeded: dict[str, int]
) -> None:
    _contract(sessions, seeded["customer"])
    with sessions.begin() as session:  # no price list kept: cannot be invoiced
        ContractRepository(session).save_contract(
            ContractRecord(signed_contract("MYE-2026-0002"), seeded["customer"])
        )
    report = _run(sessions, D(2026, 5, 1))
    assert report.invoices == 1
    assert [n for n, _ in report.failed] == ["MYE-2026-0002"]


@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    st.lists(st.dates(D(2026, 4, 25), D(2028, 5, 5)), min_size=1, max_size=3),
    st.dates(D(2026, 4, 25), D(2028, 5, 5)),
)
def test_property_rerun_or_past_date_changes_nothing(
    sessions: sessionmaker[Session], seeded: dict[str, int], days: list[dt.date], extra: dt.date
) -> None:
    with sessions() as session:
        if ContractRepository(session).contract(NUMBER) is None:
            session.close()
            _contract(sessions, seeded["customer"])
    for day in days:
        _run(sessions, day)
    latest = max(days)
    before = _snapshot(sessions)
    again = _run(sessions, latest)
    past = _run(sessions, min(extra, latest))
    assert _snapshot(sessions) == before
    for report in (again, past):
        assert (report.invoices, report.accruals, report.proposals, report.notices) == (0, 0, 0, 0)
        assert report.failed == []
