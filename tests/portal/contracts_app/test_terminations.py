"""Ending a contract and its money (7.1-7.7, 8.1, 8.2; ЗЗП art. 50) through the service layer.

Demo contract MYE-2025-0001 (ivan.georgiev, a natural person, signed off the
premises on 2025-12-05): sites varna-0001 and dobrich-0001, LV, 12 months at
14.90 EUR each = 29.80 EUR a month, subscription 2026-01-01 to 2026-12-31,
invoices issued for January to March 2026.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from portal_api.contracts.app.contracts_common import Actor, ContractAppError
from portal_api.contracts.app.decisions import ConfirmContext, confirm, decisions
from portal_api.contracts.app.terminations import give_notice, quote, terminate
from portal_api.contracts.app.terminations_facts import Facts, Ground
from portal_api.contracts.daily import run_daily
from portal_api.contracts.daily_terminations import end_due_contracts
from portal_api.contracts.db.billing_repository import BillingRepository
from portal_api.contracts.db.enums import DecisionKind, DecisionState
from portal_api.contracts.db.records import ContractRecord
from portal_api.contracts.db.repository import ContractRepository
from portal_api.contracts.domain.contract import ContractState, TerminationGround
from portal_api.db.models import AuditEntry, User
from portal_api.web.services import Services
from tests.portal.web.server import portal_config, seeded_services

NOW = dt.datetime(2026, 3, 2, 12, 0, tzinfo=dt.UTC)
TODAY = dt.date(2026, 3, 2)
IVAN = "MYE-2025-0001"
E = Decimal


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Services]:
    built = seeded_services(portal_config(tmp_path), lambda: NOW)
    yield built
    built.close()


def _user(services: Services, username: str) -> int:
    with services.sessions() as session:
        found: int = session.scalars(select(User.id).where(User.username == username)).one()
    return found


def _terminate(services: Services, facts: Facts, now: dt.datetime = NOW) -> None:
    with services.sessions.begin() as session:
        terminate(
            session,
            IVAN,
            facts,
            actor=Actor(_user(services, "operator")),
            now=now,
            calendar=services.calendar,
        )


def _record(services: Services, number: str = IVAN) -> ContractRecord:
    with services.sessions() as session:
        record = ContractRepository(session).contract(number)
    assert record is not None
    return record


def _money(services: Services) -> dict[str, object]:
    with services.sessions() as session:
        logged = [
            d
            for d in decisions(session, DecisionState.CONFIRMED, IVAN)
            if d.kind is DecisionKind.PENALTY_PROPOSED
        ]
    assert len(logged) == 1
    numbers = logged[0].explanation["numbers"]
    assert isinstance(numbers, dict)
    return numbers


def _at(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(10, 0), dt.UTC)


def test_quote_changes_nothing(services: Services) -> None:
    with services.sessions() as session:
        found = quote(
            session,
            IVAN,
            Facts(Ground.COMPANY_EARLY, TODAY),
            today=TODAY,
            calendar=services.calendar,
        )
    assert found.allowed and found.outcome.company_owes == E("89.40")
    assert _record(services).contract.state is ContractState.ACTIVE
    with services.sessions() as session:
        assert decisions(session, DecisionState.CONFIRMED, IVAN) == []


def test_7_2_customer_notice_14_days_last_month_in_full(services: Services) -> None:
    given = dt.date(2026, 3, 20)
    with services.sessions.begin() as session:
        decision_id, found = give_notice(
            session,
            IVAN,
            Facts(Ground.CUSTOMER_EARLY, given),
            user_id=_user(services, "ivan.georgiev"),
            now=_at(given),
            calendar=services.calendar,
        )
    # 14 days after receipt (not counted): 3 April. April's fee is owed in full through
    # April's invoice (the service goes on until the 3rd), not a second time; plus 8.1b.
    assert found.ends_on == dt.date(2026, 4, 3)
    assert dict(found.outcome.charges) == {"last_month_fee": E("0.00"), "8.1b": E("59.60")}
    assert "2026-04" in found.note_texts("en")[0]
    assert _record(services).contract.state is ContractState.ACTIVE  # only a proposal
    operator = Actor(_user(services, "operator"))
    with services.sessions.begin() as session:
        confirm(session, decision_id, ConfirmContext(operator, _at(given), services.calendar))
    # confirmed, but the service goes on until the notice runs out
    assert _record(services).contract.state is ContractState.ACTIVE
    assert _money(services)["customer_owes"] == "59.60"
    assert services.billing is not None
    # the day before, the day (applied), the day again (a re-run changes nothing)
    runs = ((dt.date(2026, 4, 2), 0), (dt.date(2026, 4, 3), 1), (dt.date(2026, 4, 3), 0))
    for day, ended in runs:
        report = run_daily(
            services.sessions,
            day,
            calendar=services.calendar,
            rates=services.rates,
            billing=services.billing,
            now=_at(day),
        )
        assert not report.failed, report.lines()
        assert report.terminations == ended, report.lines()
    ended_contract = _record(services).contract
    assert ended_contract.terminated_on == dt.date(2026, 4, 3)
    assert ended_contract.termination_ground is TerminationGround.CUSTOMER_EARLY
    with services.sessions() as session:
        april = [i for i in BillingRepository(session).invoices(IVAN) if i.invoice.month.month == 4]
    assert [i.invoice.amount for i in april] == [E("29.80")]  # the last month in full


def test_7_2_month_already_invoiced_is_not_charged_twice(services: Services) -> None:
    with services.sessions() as session:
        found = quote(
            session,
            IVAN,
            Facts(Ground.CUSTOMER_EARLY, TODAY),
            today=TODAY,
            calendar=services.calendar,
        )
    assert found.outcome.charges[0] == ("last_month_fee", E("0.00"))
    assert "2026-03" in found.note_texts("en")[0]  # owed through its invoice (4.3)
    _terminate(services, Facts(Ground.CUSTOMER_EARLY, TODAY))  # ends 16 March, invoiced
    assert _money(services)["customer_owes"] == "59.60"  # 8.1b only
    assert _record(services).contract.state is ContractState.ACTIVE  # until 16 March


def test_7_3_company_owes_8_2(services: Services) -> None:
    _terminate(services, Facts(Ground.COMPANY_EARLY, TODAY))
    money = _money(services)
    assert money["credit_8.2"] == "59.60"  # the company pays two monthly fees
    # the contract ends on 16 March: March is not a full month with access, so its
    # invoice is credited back; February (the last full month) stays on its invoice
    assert money["credit_partial_month_invoice"] == "29.80"
    assert money["company_owes"] == "89.40"
    assert money["customer_owes"] == "0.00"
    with services.sessions() as session:
        entry = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "contract.terminate")
        ).one()
    assert entry.detail["company_owes"] == "89.40" and entry.detail["scheduled"] is True


def test_7_1z_ownership_change_some_sites_pro_rata(services: Services) -> None:
    changed = dt.date(2026, 3, 10)
    with services.sessions() as session:
        found = quote(
            session,
            IVAN,
            Facts(Ground.OWNERSHIP_CHANGE, changed, sites=("dobrich-0001",)),
            today=changed,
            calendar=services.calendar,
        )
    assert found.outcome.continues_for == ("varna-0001",)
    assert found.outcome.new_monthly_fee == E("14.90")
    assert found.outcome.fee_reduced_from == dt.date(2026, 4, 1)
    assert dict(found.outcome.charges) == {"8.1c": E("29.80")}  # twice the site's part
    _terminate(
        services,
        Facts(Ground.OWNERSHIP_CHANGE, changed, sites=("dobrich-0001",)),
        now=_at(changed),
    )
    record = _record(services)
    assert record.contract.state is ContractState.ACTIVE
    assert dict(record.left_on) == {"dobrich-0001": changed}
    assert [s.site_id for s in record.sites_on(dt.date(2026, 4, 1))] == ["varna-0001"]
    # a change of the right of use only: no 8.1c
    with services.sessions() as session:
        use_only = quote(
            session,
            IVAN,
            Facts(Ground.OWNERSHIP_CHANGE, changed, sites=("varna-0001",), ownership=False),
            today=changed,
            calendar=services.calendar,
        )
    assert use_only.outcome.charges == () and use_only.ends_on == changed


def _signed_off_premises(services: Services, signed: dt.date) -> None:
    record = _record(services)
    contract = record.contract.with_(
        state=ContractState.SIGNED,
        signed_on=signed,
        installed_on=None,
        protocols_signed_on=None,
        credentials_given_on=None,
    )
    with services.sessions.begin() as session:
        ContractRepository(session).save_contract(
            ContractRecord(
                contract,
                record.customer_id,
                price_list_id=record.price_list_id,
                id=record.id,
            )
        )


def test_7_5c_withdrawal_within_14_days_leap_year(services: Services) -> None:
    # Signed 20 Feb 2028 (a leap year): the 14th day is Sun 5 March; Fri 3 March is a
    # holiday anyway, so the period ends on Monday 6 March (ЗЗД art. 72(3)).
    _signed_off_premises(services, dt.date(2028, 2, 20))
    with services.sessions() as session:
        late = quote(
            session,
            IVAN,
            Facts(Ground.WITHDRAWAL, dt.date(2028, 3, 7)),
            today=dt.date(2028, 3, 7),
            calendar=services.calendar,
        )
    assert not late.allowed and late.refusal.clause == "7.5c"
    assert late.rule.numbers["deadline"] == dt.date(2028, 3, 6)
    in_time = _at(dt.date(2028, 3, 6))
    with services.sessions.begin() as session:
        decision_id, found = give_notice(
            session,
            IVAN,
            Facts(Ground.WITHDRAWAL, dt.date(2028, 3, 6)),
            user_id=_user(services, "ivan.georgiev"),
            now=in_time,
            calendar=services.calendar,
        )
    assert found.outcome.customer_owes == E("0.00")  # nothing installed: no costs
    with services.sessions.begin() as session:
        confirm(
            session,
            decision_id,
            ConfirmContext(Actor(_user(services, "operator")), in_time, services.calendar),
        )
    ended = _record(services).contract
    assert ended.state is ContractState.TERMINATED
    assert ended.termination_ground is TerminationGround.OFF_PREMISES_WITHDRAWAL
    assert ended.terminated_on == dt.date(2028, 3, 6)


def test_8_1d_no_dismantling_access(services: Services) -> None:
    _terminate(services, Facts(Ground.MUTUAL_CONSENT, TODAY))
    assert _record(services).contract.state is ContractState.TERMINATED
    request = Facts(Ground.DISMANTLING, TODAY, amount=E("300.00"))
    # within the 14 days (to Mon 16 March) there is nothing to charge yet
    with services.sessions.begin() as session, pytest.raises(ContractAppError) as early:
        terminate(
            session,
            IVAN,
            request,
            actor=Actor(_user(services, "operator")),
            now=_at(dt.date(2026, 3, 16)),
            calendar=services.calendar,
        )
    assert early.value.status == 409 and "2026-03-16" in early.value.reason_en
    _terminate(services, request, now=_at(dt.date(2026, 3, 17)))
    money = _money(services)
    assert money["charge_8.1d"] == "600.00"  # 200 % of the equipment value
    # access given at last: the equipment comes down (7.7)
    _terminate(
        services,
        Facts(
            Ground.DISMANTLING,
            dt.date(2026, 3, 2),
            amount=E("300.00"),
            access_given_on=dt.date(2026, 3, 10),
        ),
        now=_at(dt.date(2026, 3, 18)),
    )
    record = _record(services)
    assert record.contract.state is ContractState.DISMANTLED
    assert record.contract.dismantled_on == dt.date(2026, 3, 10)


def test_8_1a_damage_200_percent(services: Services) -> None:
    _terminate(
        services,
        Facts(
            Ground.EQUIPMENT_DAMAGE,
            TODAY,
            amount=E("250.00"),
            replacement_costs=E("40.00"),
        ),
    )
    assert _money(services)["charge_8.1a"] == "540.00"  # 2 × 250 + 40
    ended = _record(services).contract
    assert ended.state is ContractState.TERMINATED
    assert ended.termination_ground is TerminationGround.CUSTOMER_DAMAGE


def test_7_1a_expiry_daily_idempotent(services: Services) -> None:
    later = _at(dt.date(2027, 1, 1))
    with services.sessions.begin() as session:  # the last day itself: still in force
        assert end_due_contracts(session, IVAN, dt.date(2026, 12, 31), later) == 0
    assert services.billing is not None
    for applied in (1, 0):  # the daily run, then its re-run: nothing happens twice
        report = run_daily(
            services.sessions,
            dt.date(2027, 1, 1),
            calendar=services.calendar,
            rates=services.rates,
            billing=services.billing,
            now=later,
        )
        assert not report.failed, report.lines()
        assert report.terminations == applied  # only MYE-2025-0001 has a 12-month term
    ended = _record(services).contract
    assert ended.state is ContractState.TERMINATED
    assert ended.termination_ground is TerminationGround.TERM_EXPIRED
    assert ended.terminated_on == dt.date(2026, 12, 31)
    with services.sessions() as session:
        logged = decisions(session, DecisionState.CONFIRMED, IVAN)
    assert [(d.kind, d.subject, d.decided_by) for d in logged] == [
        (DecisionKind.TERMINATION_PROPOSED, "expiry:2026-12-31", None)
    ]
    assert logged[0].clause == "7.1a"


def test_7_1a_a_renewed_contract_ends_and_its_renewal_goes_on(services: Services) -> None:
    """The old term ends (7.1a); the renewal keeps its state (the start from signed to
    active is tests/portal/contracts_daily/test_daily_renewal.py)."""
    original = _record(services)
    renewal = original.contract.with_(
        number="MYE-2026-0099",
        renewal_of=IVAN,
        sites=original.contract.sites,
    )
    with services.sessions.begin() as session:
        ContractRepository(session).save_contract(
            ContractRecord(renewal, original.customer_id, price_list_id=original.price_list_id)
        )
    with services.sessions.begin() as session:
        assert end_due_contracts(session, IVAN, dt.date(2027, 1, 1), NOW) == 1
    with services.sessions() as session:
        contracts = ContractRepository(session)
        old, new = contracts.contract(IVAN), contracts.contract("MYE-2026-0099")
    assert old is not None and old.contract.state is ContractState.TERMINATED
    assert new is not None and new.contract.state is renewal.state


def test_customer_may_only_give_notice_or_withdraw(services: Services) -> None:
    with services.sessions.begin() as session, pytest.raises(ContractAppError) as refused:
        give_notice(
            session,
            IVAN,
            Facts(Ground.COMPANY_EARLY, TODAY),
            user_id=_user(services, "ivan.georgiev"),
            now=NOW,
            calendar=services.calendar,
        )
    assert refused.value.status == 400
