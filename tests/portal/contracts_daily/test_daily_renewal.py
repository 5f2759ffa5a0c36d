"""2.4 in the daily run: the old contract's term ends (7.1a) and its signed renewal takes
the service over the next day, on the equipment already on site, and is billed at once."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from sqlalchemy.orm import Session, sessionmaker

from portal_api.contracts.db.billing_repository import BillingRepository
from portal_api.contracts.db.records import ContractRecord
from portal_api.contracts.db.repository import ContractRepository
from portal_api.contracts.domain.contract import ContractState, TerminationGround
from tests.portal.contracts.samples import PRICES
from tests.portal.contracts_daily.test_daily import _run, _snapshot
from tests.portal.contracts_db.samples import NUMBER, signed_contract

D = dt.date
RENEWAL = "MYE-2028-0001"


def _contracts(sessions: sessionmaker[Session], customer: int) -> None:
    old = signed_contract()  # subscription 2026-05-01 .. 2028-04-30
    renewal = replace(
        old,
        number=RENEWAL,
        state=ContractState.SIGNED,
        renewal_of=NUMBER,
        period_months=12,
        signed_on=D(2028, 4, 10),
        installed_on=None,
        protocols_signed_on=None,
        credentials_given_on=None,
        subscription_start=D(2028, 5, 1),  # 2.4: the month after the old one ends
        subscription_end=D(2029, 4, 30),
    )
    with sessions.begin() as session:
        repo = ContractRepository(session)
        prices = repo.add_price_list(PRICES)
        repo.save_contract(ContractRecord(old, customer, price_list_id=prices))
        repo.save_contract(ContractRecord(renewal, customer, price_list_id=prices))


def test_clause_2_4_renewal_takes_over_on_the_first_of_the_month(
    sessions: sessionmaker[Session], seeded: dict[str, int]
) -> None:
    _contracts(sessions, seeded["customer"])
    before = _run(sessions, D(2028, 4, 30))  # the old contract's last day
    assert not before.failed and before.terminations == 0
    with sessions() as session:
        state = ContractRepository(session).contract(RENEWAL)
        assert state is not None and state.contract.state is ContractState.SIGNED

    report = _run(sessions, D(2028, 5, 1))  # Labour Day: the switch needs no working day
    assert not report.failed, report.lines()
    assert report.terminations == 1
    with sessions() as session:
        contracts = ContractRepository(session)
        old = contracts.contract(NUMBER)
        new = contracts.contract(RENEWAL)
        assert old is not None and new is not None
        assert old.contract.state is ContractState.TERMINATED
        assert old.contract.termination_ground is TerminationGround.TERM_EXPIRED
        assert old.contract.terminated_on == D(2028, 4, 30)
        assert new.contract.state is ContractState.ACTIVE
        # The equipment stays: the renewal carries the old installation and protocols.
        assert new.contract.installed_on == D(2026, 4, 14)
        assert new.contract.protocols_signed_on == D(2026, 4, 14)
        months = [r.invoice.month for r in BillingRepository(session).invoices(RENEWAL)]
    assert months == [D(2028, 5, 1)]  # billed in the same run (2.3b, 4.3)

    snapshot = _snapshot(sessions)
    again = _run(sessions, D(2028, 5, 1))
    assert again.terminations == 0 and again.invoices == 0 and not again.failed
    assert _snapshot(sessions) == snapshot
