"""ЗДДС art. 114(1)(2), ППЗДДС: one series of ten-digit invoice numbers, no gap, no repeat.

On SQLite and PostgreSQL (``portal_db_url``): numbers taken in the transaction that
inserts the invoice, so a rolled-back contract gives its numbers back (hypothesis:
random rollbacks); two daily runs at once (threads) still give 1..N; revision
0003_billing numbers the invoices a database already had.
"""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import replace
from decimal import Decimal

import hypothesis.strategies as st
import pytest
from alembic import command
from hypothesis import HealthCheck, given, settings
from sqlalchemy import select, text
from sqlalchemy.orm import Session, sessionmaker

from portal_api.contracts.daily import BillingSettings, run_daily
from portal_api.contracts.db.billing_repository import BillingRepository, format_tax_number
from portal_api.contracts.db.models import InvoiceRow
from portal_api.contracts.db.records import ContractRecord
from portal_api.contracts.db.repository import ContractRepository
from portal_api.contracts.domain.billing import Invoice
from portal_api.contracts.domain.interest import RateTable
from portal_api.db import make_engine
from portal_api.db.migrate import alembic_config, upgrade
from portal_api.domain.workdays import WorkingDays
from tests.portal.contracts.samples import PRICES
from tests.portal.contracts_db.conftest import seeded, sessions
from tests.portal.contracts_db.samples import signed_contract

__all__ = ["seeded", "sessions"]  # the contract persistence fixtures, used here

D = dt.date
RATES = RateTable(
    (D(year, month, 1), Decimal("10.15")) for year in range(2026, 2030) for month in (1, 7)
)
BILLING = BillingSettings(
    iban="BG80BNBG96611020345678",
    bic="BNBGBGSF",
    bank="БНБ",
    vat_rate=Decimal("0.20"),
    dual_display_until=None,
)
NOW = dt.datetime(2026, 11, 22, 6, 0, tzinfo=dt.UTC)
CONTRACTS = [f"MYE-2026-{i:04d}" for i in range(1, 5)]


def _contracts(sessions: sessionmaker[Session], customer: int, numbers: list[str]) -> None:
    with sessions.begin() as session:
        repo = ContractRepository(session)
        prices = repo.add_price_list(PRICES)
        for number in numbers:
            record = ContractRecord(signed_contract(number), customer, price_list_id=prices)
            repo.save_contract(record)


def _numbers(sessions: sessionmaker[Session]) -> list[str]:
    with sessions() as session:
        return sorted(n for n in session.scalars(select(InvoiceRow.tax_number)) if n is not None)


def _month_invoice(contract: str, month: int) -> Invoice:
    first = D(2026, month, 1)
    return Invoice(
        invoice_id=f"{contract}-2026-{month:02d}",
        contract_id=contract,
        month=first,
        amount=Decimal("73.70"),
        nominal_due=first.replace(day=10),
        due=first.replace(day=10),
    )


def test_zdds_114_ten_digits() -> None:
    assert format_tax_number(1) == "0000000001"
    assert format_tax_number(9_999_999_999) == "9999999999"
    with pytest.raises(ValueError):
        format_tax_number(10_000_000_000)
    with pytest.raises(ValueError):
        format_tax_number(0)


def test_zdds_114_a_month_already_invoiced_takes_no_number(
    sessions: sessionmaker[Session], seeded: dict[str, int]
) -> None:
    _contracts(sessions, seeded["customer"], CONTRACTS[:1])
    invoice = _month_invoice(CONTRACTS[0], 5)
    with sessions.begin() as session:
        bills = BillingRepository(session)
        assert bills.add_invoice(invoice, invoice.month, vat=Decimal("14.74")) is not None
        assert bills.add_invoice(invoice, invoice.month, vat=Decimal("14.74")) is None
        assert bills.tax_number(invoice.invoice_id) == "0000000001"
        assert bills.last_tax_number() == 1


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(5, 10), st.booleans()), max_size=12))
def test_zdds_114_gapless_under_random_rollbacks(
    sessions: sessionmaker[Session],
    seeded: dict[str, int],
    steps: list[tuple[int, int, bool]],
) -> None:
    """Whatever is rolled back, the committed invoices carry exactly 1..N, in order."""
    if not _exists(sessions, CONTRACTS[0]):
        _contracts(sessions, seeded["customer"], CONTRACTS)
    before = _numbers(sessions)
    committed: list[str] = []
    for contract, month, commit in steps:
        session = sessions()
        try:
            session.begin()
            invoice = _month_invoice(CONTRACTS[contract], month)
            if BillingRepository(session).add_invoice(invoice, invoice.month) is not None:
                number = BillingRepository(session).tax_number(invoice.invoice_id)
                if commit:
                    session.commit()
                    committed.append(number)
                    continue
            session.rollback()
        finally:
            session.close()
    after = _numbers(sessions)
    assert after == [format_tax_number(n) for n in range(1, len(after) + 1)]
    assert after == sorted(before + committed)
    assert committed == sorted(committed)  # issued in the order of the series


def _exists(sessions: sessionmaker[Session], number: str) -> bool:
    with sessions() as session:
        return ContractRepository(session).contract(number) is not None


def test_zdds_114_two_concurrent_daily_runs_give_one_gapless_series(
    sessions: sessionmaker[Session], seeded: dict[str, int]
) -> None:
    """Two daily runs at once (threads): every invoice once, numbers 1..N, no failure."""
    _contracts(sessions, seeded["customer"], CONTRACTS)
    reports = []
    barrier = threading.Barrier(2)

    def run() -> None:
        barrier.wait()
        reports.append(
            run_daily(
                sessions,
                D(2026, 9, 1),
                calendar=WorkingDays(),
                rates=RATES,
                billing=BILLING,
                now=NOW,
            )
        )

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert len(reports) == 2
    assert [r.failed for r in reports] == [[], []]
    # May .. September: 5 months of 4 contracts, each issued by exactly one of the runs.
    assert sum(r.invoices for r in reports) == 20
    assert _numbers(sessions) == [format_tax_number(n) for n in range(1, 21)]
    with sessions() as session:
        assert BillingRepository(session).last_tax_number() == 20


def test_zdds_114_a_failed_contract_leaves_no_gap(
    sessions: sessionmaker[Session], seeded: dict[str, int]
) -> None:
    """A contract whose transaction fails after taking numbers gives them back."""
    _contracts(sessions, seeded["customer"], CONTRACTS[:2])
    with sessions.begin() as session:
        # The second contract loses its price list reference: its invoices fail (4.2).
        session.execute(
            text("UPDATE contracts SET price_list_id = NULL WHERE number = :n"),
            {"n": CONTRACTS[1]},
        )
    report = run_daily(
        sessions, D(2026, 6, 1), calendar=WorkingDays(), rates=RATES, billing=BILLING, now=NOW
    )
    assert [n for n, _ in report.failed] == [CONTRACTS[1]]
    assert _numbers(sessions) == ["0000000001", "0000000002"]


def test_revision_0003_numbers_the_invoices_a_database_had(portal_db_url: str) -> None:
    """Upgrading a 0002 database: invoices numbered 1..N by issue date, VAT 20 %, the
    series continues at N + 1."""
    engine = make_engine(portal_db_url)
    try:
        with engine.begin() as connection:
            command.upgrade(alembic_config(connection), "0002_contracts")
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO customers (id, number, kind, name, id_kind, id_hmac, id_enc,"
                    " email, created_at) VALUES (1, '1000000001', 'company', 'Фирма', 'eik',"
                    " :h, 'x', 'a@example.bg', :at)"
                ),
                {"h": "0" * 64, "at": NOW},
            )
            connection.execute(
                text(
                    "INSERT INTO contracts (id, number, customer_id, state, period_months,"
                    " contact_email, off_premises, free_months) VALUES (1, 'MYE-1', 1,"
                    " 'active', 12, 'a@example.bg', false, 0)"
                )
            )
            # Inserted in this order (row ids 1, 2, 3), issued May, June, July.
            for month, amount in ((6, "29.80"), (5, "0.05"), (7, "73.70")):
                connection.execute(
                    text(
                        "INSERT INTO invoices (contract_id, month, number, amount, due_on,"
                        " issued_on, state) VALUES (1, :m, :n, :a, :m, :m, 'issued')"
                    ),
                    {"m": D(2026, month, 1), "n": f"MYE-1-{month}", "a": amount},
                )
        upgrade(engine)
        with engine.connect() as connection:
            rows = connection.execute(
                text("SELECT number, tax_number, vat FROM invoices ORDER BY id")
            ).all()
            assert [(r[0], r[1], Decimal(str(r[2])).quantize(Decimal("0.01"))) for r in rows] == [
                ("MYE-1-6", "0000000002", Decimal("5.96")),
                ("MYE-1-5", "0000000001", Decimal("0.01")),  # 0.05 x 20 % = 0.01, half-up
                ("MYE-1-7", "0000000003", Decimal("14.74")),
            ]
        sessions = sessionmaker(engine)
        with sessions.begin() as session:
            bills = BillingRepository(session)
            assert bills.last_tax_number() == 3
            invoice = replace(_month_invoice("MYE-1", 8), contract_id="MYE-1")
            assert bills.add_invoice(invoice, invoice.month) is not None
            assert bills.tax_number(invoice.invoice_id) == "0000000004"
    finally:
        engine.dispose()
