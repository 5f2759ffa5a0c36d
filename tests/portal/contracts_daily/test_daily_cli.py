"""``myenergy-portal daily`` and the ``[billing]`` section (IBAN checked with stdnum)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from portal_api.cli import main
from portal_api.config import SAMPLE_CONFIG, ConfigError, load_config
from portal_api.contracts.db.records import ContractRecord
from portal_api.contracts.db.repository import ContractRepository
from tests.portal.contracts.samples import PRICES
from tests.portal.contracts_db.samples import signed_contract

ENV = {"MYENERGY_PORTAL_SECURITY_SECRET_KEY": "k" * 40}


def test_the_sample_billing_section_loads() -> None:
    billing = load_config(SAMPLE_CONFIG, ENV).billing
    assert billing is not None
    assert billing.iban == "BG80BNBG96611020345678"
    assert billing.vat_rate == Decimal("0.2")
    assert billing.dual_display_until == dt.date(2026, 12, 31)
    # BNB base rate 1.91 % + 10 points for 2025 H2, ECB MRO 2.15 % + 8 points from 2026
    assert [(r.from_, r.annual_rate) for r in billing.statutory_rates] == [
        (dt.date(2025, 7, 1), Decimal("11.91")),
        (dt.date(2026, 1, 1), Decimal("10.15")),
        (dt.date(2026, 7, 1), Decimal("10.15")),
    ]


def test_a_wrong_iban_is_refused() -> None:
    env = {**ENV, "MYENERGY_PORTAL_BILLING_IBAN": "BG80BNBG96611020345679"}
    with pytest.raises(ConfigError) as info:
        load_config(SAMPLE_CONFIG, env)
    assert [p.key for p in info.value.problems] == ["MYENERGY_PORTAL_BILLING_IBAN"]


@pytest.fixture
def database(sessions: sessionmaker[Session], seeded: dict[str, int], portal_db_url: str) -> str:
    """The migrated database with the sample contract keeping the 2026 prices."""
    with sessions.begin() as session:
        repo = ContractRepository(session)
        prices = repo.add_price_list(PRICES)
        repo.save_contract(ContractRecord(signed_contract(), seeded["customer"], prices))
    return portal_db_url


def test_cli_daily_issues_the_first_invoice(
    database: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    env = {
        **ENV,
        "MYENERGY_PORTAL_DATABASE_URL": database,
        "MYENERGY_PORTAL_STORE_SQLITE_PATH": str(tmp_path / "ts.sqlite3"),
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    args = ["--config", str(SAMPLE_CONFIG), "daily", "--date", "2026-05-01"]
    assert main(args) == 0
    assert "1 invoice(s)" in capsys.readouterr().out
    assert main(args) == 0
    assert "0 invoice(s)" in capsys.readouterr().out


def test_cli_daily_bills_even_when_the_store_cannot_be_opened(
    database: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    unreachable = tmp_path / "no-such-directory" / "ts.sqlite3"
    env = {
        **ENV,
        "MYENERGY_PORTAL_DATABASE_URL": database,
        "MYENERGY_PORTAL_STORE_SQLITE_PATH": str(unreachable),
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    args = ["--config", str(SAMPLE_CONFIG), "daily", "--date", "2026-05-01"]
    assert main(args) == 1  # the silence scan could not run: said, not hidden
    out = capsys.readouterr().out
    assert "1 invoice(s)" in out and "FAILED silence scan: the time-series store" in out
