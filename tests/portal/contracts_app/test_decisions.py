"""The decisions queue's service (4.4, 7.4, 8.1b): confirming applies, after a re-check.

The demo data of the web fixture on a real SQLite database: three contracts whose
January invoice is more than 45 days and February's more than 5 days late on
2026-03-02, so each has suspension and termination proposals.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from portal_api.contracts.app.contracts_common import Actor, ContractAppError
from portal_api.contracts.app.decisions import ConfirmContext, confirm, decisions, reject
from portal_api.contracts.db.billing_repository import BillingRepository
from portal_api.contracts.db.enums import DecisionKind, DecisionState
from portal_api.contracts.db.events_repository import EventRepository
from portal_api.contracts.db.repository import ContractRepository
from portal_api.contracts.domain.billing import Payment
from portal_api.contracts.domain.contract import ContractState, TerminationGround
from portal_api.contracts.domain.decision import Decision
from portal_api.contracts.domain.interruption_checks import proposed_from_silence
from portal_api.db.models import AuditEntry, User
from portal_api.web.services import Services
from tests.portal.web.conftest import METER
from tests.portal.web.server import portal_config, seeded_services

NOW = dt.datetime(2026, 3, 2, 12, 0, tzinfo=dt.UTC)
TODAY = dt.date(2026, 3, 2)
IVAN = "MYE-2025-0001"  # two LV sites, 12 months: 2 × 14.90 = 29.80 EUR a month


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Services]:
    built = seeded_services(portal_config(tmp_path), lambda: NOW)
    yield built
    built.close()


def _operator(services: Services) -> Actor:
    with services.sessions() as session:
        user_id = session.scalars(select(User.id).where(User.username == "operator")).one()
    return Actor(user_id, ip="127.0.0.1")


def _ctx(services: Services, now: dt.datetime = NOW) -> ConfirmContext:
    return ConfirmContext(_operator(services), now, services.calendar)


def _proposal(services: Services, kind: DecisionKind, number: str = IVAN) -> int:
    with services.sessions() as session:
        found = [d for d in decisions(session, contract_number=number) if d.kind is kind]
    assert found, f"no {kind} proposal for {number}"
    assert found[0].id is not None
    return found[0].id


def _state(services: Services, number: str = IVAN) -> tuple[ContractState, dt.date | None]:
    with services.sessions() as session:
        record = ContractRepository(session).contract(number)
    assert record is not None
    return record.contract.state, record.contract.suspended_on


def test_queue_lists_open_proposals_oldest_first(services: Services) -> None:
    with services.sessions() as session:
        queue = decisions(session)
    assert {d.kind for d in queue} >= {
        DecisionKind.SUSPENSION_PROPOSED,
        DecisionKind.TERMINATION_PROPOSED,
    }
    assert all(d.state is DecisionState.PROPOSED for d in queue)
    assert [d.proposed_on for d in queue] == sorted(d.proposed_on for d in queue)
    assert {d.contract_number for d in queue} == {IVAN, "MYE-2025-0002", "MYE-2025-0003"}


def test_4_4_suspension_confirmed_after_5_days(services: Services) -> None:
    decision_id = _proposal(services, DecisionKind.SUSPENSION_PROPOSED)
    with services.sessions.begin() as session:
        done = confirm(session, decision_id, _ctx(services))
    assert done.state is DecisionState.CONFIRMED
    assert done.decided_by == _operator(services).user_id
    assert _state(services) == (ContractState.SUSPENDED, TODAY)
    with services.sessions() as session:
        entry = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "decision.confirm")
        ).one()
    assert entry.object_id == IVAN and entry.detail["kind"] == "suspension_proposed"
    # decided once: a second confirm (or a reject) is a conflict
    with services.sessions.begin() as session, pytest.raises(ContractAppError) as again:
        confirm(session, decision_id, _ctx(services))
    assert again.value.status == 409


def test_4_4_confirm_refused_when_paid_since(services: Services) -> None:
    decision_id = _proposal(services, DecisionKind.SUSPENSION_PROPOSED)
    with services.sessions() as session:
        invoice = next(d for d in decisions(session) if d.id == decision_id).subject
    with services.sessions.begin() as session:
        bills = BillingRepository(session)
        ledger = bills.ledger(IVAN)
        item = next(i for i in ledger.items if i.invoice_id == invoice)
        payment = Payment("BANK-REF-1", TODAY, item.balance, invoice_id=invoice)
        paid = ledger.pay(payment)
        bills.add_payment(IVAN, payment, paid.value.applied)
    with services.sessions.begin() as session, pytest.raises(ContractAppError) as refused:
        confirm(session, decision_id, _ctx(services))
    assert refused.value.status == 409
    assert "paid" in refused.value.reason_en and invoice in refused.value.reason_bg
    assert _state(services) == (ContractState.ACTIVE, None)
    with services.sessions() as session:  # the proposal stays open for staff to reject
        assert next(d for d in decisions(session) if d.id == decision_id)


def test_4_4_termination_confirmed_with_penalty_8_1b(services: Services) -> None:
    decision_id = _proposal(services, DecisionKind.TERMINATION_PROPOSED)
    with services.sessions.begin() as session:
        confirm(session, decision_id, _ctx(services))
    with services.sessions() as session:
        record = ContractRepository(session).contract(IVAN)
        assert record is not None
        assert record.contract.state is ContractState.TERMINATED
        assert record.contract.termination_ground is TerminationGround.NON_PAYMENT
        assert record.contract.terminated_on == TODAY
        charges = [
            d
            for d in decisions(session, DecisionState.CONFIRMED, IVAN)
            if d.kind is DecisionKind.PENALTY_PROPOSED
        ]
    assert len(charges) == 1
    numbers = charges[0].explanation["numbers"]
    assert isinstance(numbers, dict)
    assert numbers["charge_8.1b"] == "59.60"  # two monthly fees, 2 × 29.80
    assert numbers["customer_owes"] == "59.60"
    # the suspension proposal of the same contract can no longer be applied
    suspension = _proposal(services, DecisionKind.SUSPENSION_PROPOSED)
    with services.sessions.begin() as session, pytest.raises(ContractAppError) as refused:
        confirm(session, suspension, _ctx(services))
    assert refused.value.status == 409 and refused.value.explanation is not None


def test_4_4_restoration_confirmed_resumes_the_service(services: Services) -> None:
    with services.sessions.begin() as session:
        confirm(session, _proposal(services, DecisionKind.SUSPENSION_PROPOSED), _ctx(services))
        restored_by = Decision(
            value=dt.date(2026, 3, 5),
            clause="4.4",
            reason_bg="Платено.",
            reason_en="Paid.",
            numbers={"paid_on": TODAY},
        )
        restoration = EventRepository(session).propose(
            IVAN, DecisionKind.RESTORATION_DUE, "paid:2026-03-02", TODAY, restored_by
        )
    assert restoration is not None
    with services.sessions.begin() as session:
        confirm(session, restoration, _ctx(services))
    assert _state(services) == (ContractState.ACTIVE, None)


def test_reject_applies_nothing_and_is_audited(services: Services) -> None:
    decision_id = _proposal(services, DecisionKind.SUSPENSION_PROPOSED)
    with services.sessions.begin() as session:
        done = reject(session, decision_id, _operator(services), NOW)
    assert done.state is DecisionState.REJECTED
    assert _state(services) == (ContractState.ACTIVE, None)
    with services.sessions() as session:
        assert session.scalars(
            select(AuditEntry).where(AuditEntry.action == "decision.reject")
        ).one()
    with services.sessions.begin() as session, pytest.raises(ContractAppError) as again:
        reject(session, decision_id, _operator(services), NOW)
    assert again.value.status == 409


def test_unknown_decision_is_404(services: Services) -> None:
    with services.sessions.begin() as session, pytest.raises(ContractAppError) as missing:
        confirm(session, 999_999, _ctx(services))
    assert missing.value.status == 404


def test_penalty_proposal_confirmed_is_the_charge(services: Services) -> None:
    penalty = Decision(
        value=Decimal("600.00"),
        clause="8.1d",
        reason_bg="Няма достъп за демонтаж.",
        reason_en="No access for dismantling.",
        numbers={"penalty": Decimal("600.00")},
    )
    with services.sessions.begin() as session:
        proposed = EventRepository(session).propose(
            IVAN, DecisionKind.PENALTY_PROPOSED, "8.1d:2026-03-02", TODAY, penalty
        )
    assert proposed is not None
    with services.sessions.begin() as session:
        done = confirm(session, proposed, _ctx(services))
    assert done.state is DecisionState.CONFIRMED
    assert done.explanation["value"] == "600.00"


def test_5_2_interruption_proposal_confirmed_opens_it(services: Services) -> None:
    silent = proposed_from_silence(METER, NOW - dt.timedelta(hours=8), NOW, sites=("varna-0001",))
    with services.sessions.begin() as session:
        proposed = EventRepository(session).propose(
            IVAN, DecisionKind.INTERRUPTION_PROPOSED, f"silence:{METER}", TODAY, silent
        )
    assert proposed is not None
    with services.sessions.begin() as session:
        done = confirm(session, proposed, _ctx(services))
    assert done.state is DecisionState.CONFIRMED
    with services.sessions() as session:
        opened = EventRepository(session).interruptions(IVAN, device_id=METER)
    assert [r.interruption.kind for r in opened] == ["unplanned"]
    assert opened[0].interruption.start == NOW - dt.timedelta(hours=8)
