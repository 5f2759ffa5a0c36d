"""service_requests/follow.py: a MyEnergy request ordered online follows its contract's life
(signed 2.1, visit agreed 1.4.2, installed with the handover protocol, credentials 1.6,
active from the subscription start 2.3a in the daily run; 1.5 ends it), each step once,
in order, mailed. Same database and demo data as test_myenergy.py.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import select

from portal_api.contracts.app import contracts_postponements
from portal_api.contracts.app.contracts import ContractService, Draft, DraftSite
from portal_api.contracts.app.contracts_common import Actor
from portal_api.contracts.app.contracts_installation import (
    _ACTION,
    Impossible,
    InstallationService,
    Installed,
    Postponed,
    VisitAgreed,
)
from portal_api.contracts.app.terminations import terminate
from portal_api.contracts.app.terminations_facts import Facts, Ground
from portal_api.contracts.daily import BillingSettings, run_daily
from portal_api.contracts.domain.installation import (
    ImpossibleReason,
    MismatchKind,
    SignatoryCapacity,
)
from portal_api.contracts.domain.interest import RateTable
from portal_api.db.models import OutboxMessage
from portal_api.domain.workdays import WorkingDays
from portal_api.service_requests import follow
from portal_api.service_requests.catalogue import RequestState, Step
from portal_api.service_requests.models import ServiceRequestStepRow
from tests.portal.service_requests.test_myenergy import FREE_SITE, World, add_site, world

__all__ = ["world"]  # the fixture this module uses

D = dt.date
CALENDAR = WorkingDays()
RATES = RateTable(
    (D(year, month, 1), Decimal("10.00")) for year in (2026, 2027) for month in (1, 7)
)
BILLING = BillingSettings(
    iban="BG80BNBG96611020345678",
    bic="BNBGBGSF",
    bank="БНБ",
    vat_rate=Decimal("0.20"),
    dual_display_until=D(2026, 12, 31),
)


def _services(world: World) -> tuple[ContractService, InstallationService, Actor]:
    return (
        ContractService(world.sessions, world.clock, CALENDAR),
        InstallationService(world.sessions, world.clock, CALENDAR),
        Actor(world.operator),
    )


def _mails(world: World) -> list[str]:
    with world.sessions() as session:
        return list(
            session.scalars(
                select(OutboxMessage.subject)
                .where(OutboxMessage.kind == "service_request")
                .order_by(OutboxMessage.id)
            )
        )


def _daily(world: World, on: dt.date) -> None:
    now = dt.datetime(on.year, on.month, on.day, 4, 0, tzinfo=dt.UTC)
    run_daily(world.sessions, on, calendar=CALENDAR, rates=RATES, billing=BILLING, now=now)


def test_the_actions_are_the_engines() -> None:
    assert follow.VISIT_AGREED == contracts_postponements.VISIT_AGREED
    assert _ACTION[Installed] == follow.INSTALLED
    assert _ACTION[Impossible] == follow.IMPOSSIBLE


def test_the_request_follows_the_contract_to_active_each_step_once(world: World) -> None:
    contracts, installation, staff = _services(world)
    view = world.service.order(world.ivan_id, world.ivan_user, world.order())
    number = view.contract_number
    assert number is not None

    world.clock.set(D(2026, 3, 3))
    contracts.sign(number, D(2026, 3, 3), staff)
    world.clock.set(D(2026, 3, 5))
    installation.record_outcome(number, VisitAgreed(D(2026, 3, 5)), staff)
    # 1.4.2: a mismatch postpones the visit; booking it again adds no second step.
    world.clock.set(D(2026, 3, 9))
    installation.record_outcome(number, Postponed(D(2026, 3, 9), MismatchKind.OTHER), staff)
    world.clock.set(D(2026, 3, 10))
    installation.record_outcome(number, VisitAgreed(D(2026, 3, 10)), staff)
    world.clock.set(D(2026, 3, 12))
    installation.record_outcome(
        number,
        Installed(
            installed_on=D(2026, 3, 12),
            protocols_signed_on=D(2026, 3, 12),
            technician="Стоян Димов",
            signatory_name="Иван Петров Георгиев",
            signatory_capacity=SignatoryCapacity.CUSTOMER,
        ),
        staff,
    )
    world.clock.set(D(2026, 3, 16))
    installation.credentials_given(number, D(2026, 3, 16), staff)
    # The daily run in March: the subscription has not started, nothing moves.
    _daily(world, D(2026, 3, 31))
    assert world.service.requests.one(view.number).step is Step.CREDENTIALS_SENT
    # 2.3a: it starts on 1 April; that day's run records "active", a re-run adds nothing.
    world.clock.set(D(2026, 4, 1))
    _daily(world, D(2026, 4, 1))
    _daily(world, D(2026, 4, 1))
    _daily(world, D(2026, 4, 2))

    done = world.service.requests.one(view.number)
    assert [s.step for s in done.steps] == [
        Step.RECEIVED,
        Step.SIGNED,
        Step.INSTALLATION_SCHEDULED,
        Step.INSTALLED,
        Step.CREDENTIALS_SENT,
        Step.ACTIVE,
    ]
    assert done.state is RequestState.COMPLETED
    assert [s.actor_kind for s in done.steps] == ["customer"] + ["staff"] * 4 + ["system"]
    assert [s.at.date() for s in done.steps] == [
        D(2026, 3, 2),
        D(2026, 3, 3),
        D(2026, 3, 5),
        D(2026, 3, 12),
        D(2026, 3, 16),
        D(2026, 4, 1),
    ]
    notes = {s.step: s.note for s in done.steps}
    assert "03.03.2026" in notes[Step.SIGNED]
    assert "12.03.2026" in notes[Step.INSTALLED]
    assert "the customer or its representative" in notes[Step.INSTALLED]
    assert "Иван" not in notes[Step.INSTALLED]  # no names of signatories in the note
    assert "01.04.2026" in notes[Step.CREDENTIALS_SENT]
    assert "2026-04-01" in notes[Step.ACTIVE]
    mails = _mails(world)
    assert len(mails) == 6
    assert [m.split(": ")[1].split(" / ")[0] for m in mails] == [
        "Заявката е получена",
        "Договорът е подписан",
        "Насрочено посещение за инсталация",
        "Оборудването е инсталирано, приемо-предавателният протокол е подписан",
        "Изпратени данни за достъп",
        "Услугата MyEnergy е активна",
    ]


def test_installation_impossible_rejects_the_request_with_the_reason(world: World) -> None:
    contracts, installation, staff = _services(world)
    view = world.service.order(world.ivan_id, world.ivan_user, world.order())
    number = view.contract_number
    assert number is not None
    contracts.sign(number, D(2026, 3, 2), staff)
    installation.record_outcome(number, VisitAgreed(D(2026, 3, 2)), staff)
    installation.record_outcome(
        number,
        Impossible(D(2026, 3, 2), FREE_SITE, ImpossibleReason.NO_MOBILE_COVERAGE),
        staff,
    )
    done = world.service.requests.one(view.number)
    assert done.state is RequestState.REJECTED
    assert [s.step for s in done.steps][-1] is Step.REJECTED
    assert "no usable mobile network coverage" in done.steps[-1].note
    assert "(1.5)" in done.steps[-1].note
    assert len(_mails(world)) == 4  # received, signed, scheduled, rejected


def test_a_contract_without_a_request_moves_nothing(world: World) -> None:
    contracts, installation, staff = _services(world)
    add_site(world.sessions, world.maria_id, "shumen-0009")
    drafted = contracts.create_draft(
        Draft(
            customer_number="3100000033",
            sites=(DraftSite("shumen-0009"),),
            period_months=24,
            contact_email="hlebna.kashta@example.bg",
        ),
        staff,
    )
    number = drafted.detail.number
    contracts.sign(number, D(2026, 3, 2), staff)
    installation.record_outcome(number, VisitAgreed(D(2026, 3, 2)), staff)
    with world.sessions() as session:
        assert session.scalar(select(ServiceRequestStepRow.id)) is None
    assert _mails(world) == []


def test_a_termination_before_the_service_rejects_the_request(world: World) -> None:
    contracts, _installation, staff = _services(world)
    view = world.service.order(world.ivan_id, world.ivan_user, world.order())
    number = view.contract_number
    assert number is not None
    contracts.sign(number, D(2026, 3, 2), staff)
    with world.sessions.begin() as session:
        terminate(
            session,
            number,
            Facts(Ground.MUTUAL_CONSENT, D(2026, 3, 2)),
            actor=staff,
            now=world.clock(),
            calendar=CALENDAR,
        )
    done = world.service.requests.one(view.number)
    assert done.state is RequestState.REJECTED
    assert done.steps[-1].step is Step.REJECTED
    assert "terminated before the service started (7.1" in done.steps[-1].note
