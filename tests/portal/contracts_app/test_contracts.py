"""The contracts service: drafts (1.1, 1.2), signing (2.1, 4.2), installation (1.3-1.5),
credentials (1.6, 2.3a), renewal (2.4) and price lists (4.1, 4.2), on real SQLite and
PostgreSQL databases (the contract persistence tests' fixtures: a company with sites
varna-0001 LV, varna-0002 MV and dobrich-0001 LV).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from portal_api.contracts.app.contracts import ContractService, Draft, DraftSite
from portal_api.contracts.app.contracts_common import Actor, ContractAppError
from portal_api.contracts.app.contracts_installation import (
    AccessRefused,
    Impossible,
    InstallationService,
    Installed,
    Postponed,
    VisitAgreed,
)
from portal_api.contracts.app.contracts_prices import PriceListDraft, PriceListService
from portal_api.contracts.db.enums import DecisionKind, DecisionState
from portal_api.contracts.db.events_repository import EventRepository
from portal_api.contracts.db.repository import ContractRepository
from portal_api.contracts.domain.contract import ContractState, VoltageLevel
from portal_api.contracts.domain.installation import (
    AccessProblem,
    ImpossibleReason,
    MismatchKind,
    SignatoryCapacity,
)
from portal_api.contracts.seed import DEMO_PRICE_LIST
from portal_api.db.models import AuditEntry
from portal_api.domain.workdays import WorkingDays
from tests.portal.contracts_db.conftest import seeded, sessions

__all__ = ["seeded", "sessions"]  # the fixtures this module uses

D = dt.date
CUSTOMER = "1000000001"  # the persistence tests' company


class Clock:
    """A settable "now" (aware UTC): the services never look at the real time."""

    def __init__(self, day: dt.date) -> None:
        self.now = dt.datetime(day.year, day.month, day.day, 10, 0, tzinfo=dt.UTC)

    def set(self, day: dt.date) -> None:
        self.now = dt.datetime(day.year, day.month, day.day, 10, 0, tzinfo=dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now


class World:
    def __init__(self, sessions: sessionmaker[Session], user_id: int, today: dt.date) -> None:
        self.sessions = sessions
        self.clock = Clock(today)
        calendar = WorkingDays()
        self.contracts = ContractService(sessions, self.clock, calendar)
        self.installation = InstallationService(sessions, self.clock, calendar)
        self.prices = PriceListService(sessions, self.clock)
        self.actor = Actor(user_id, "192.0.2.10")

    def draft(self, *sites: DraftSite, period: int = 12, **facts: object) -> str:
        result = self.contracts.create_draft(
            Draft(
                customer_number=CUSTOMER,
                sites=sites or (DraftSite("varna-0001"),),
                period_months=period,
                contact_email="office@example.bg",
                **facts,  # type: ignore[arg-type]
            ),
            self.actor,
        )
        return result.detail.number

    def signed(self, on: dt.date, *sites: DraftSite) -> str:
        self.clock.set(on)
        number = self.draft(*sites)
        self.contracts.sign(number, on, self.actor)
        return number

    def active(self, signed_on: dt.date, installed_on: dt.date, *sites: DraftSite) -> str:
        number = self.signed(signed_on, *sites)
        self.clock.set(installed_on)
        self.installation.record_outcome(number, VisitAgreed(signed_on), self.actor)
        self.installation.record_outcome(number, installed(installed_on), self.actor)
        return number


def installed(on: dt.date, **changes: object) -> Installed:
    values: dict[str, object] = {
        "installed_on": on,
        "protocols_signed_on": on,
        "technician": "Петър Петров",
        "signatory_name": "Иван Иванов",
    }
    values.update(changes)
    return Installed(**values)  # type: ignore[arg-type]


@pytest.fixture
def world(sessions: sessionmaker[Session], seeded: dict[str, int]) -> World:
    with sessions.begin() as session:
        ContractRepository(session).add_price_list(DEMO_PRICE_LIST)
    return World(sessions, seeded["user"], D(2026, 3, 2))


def refusal(call: Callable[[], object]) -> ContractAppError:
    with pytest.raises(ContractAppError) as caught:
        call()
    return caught.value


# -- 1.1, 1.2 drafts ----------------------------------------------------------------------------


def test_1_2_draft_reports_each_refusal_ground_and_is_kept(world: World) -> None:
    result = world.contracts.create_draft(
        Draft(
            customer_number=CUSTOMER,
            sites=(DraftSite("varna-0001"), DraftSite("varna-0002", multimeters=2)),
            period_months=24,
            contact_email="office@example.bg",
            missing_documents=("пълномощно",),
            supply_contract_active=False,
            other_overdue_debt=Decimal("12.50"),
        ),
        world.actor,
    )
    assert not result.eligibility.allowed and result.eligibility.clause == "1.2"
    kinds = [r.value for r in result.refusals]
    assert [str(k) for k in kinds] == ["missing_data", "overdue_debts", "no_supply_contract"]
    assert all(r.reason_bg and r.reason_en for r in result.refusals)
    # Refusing is the company's right: the draft stays for staff to decide.
    assert result.detail.state is ContractState.DRAFT
    assert [s.voltage for s in result.detail.sites] == ["LV", "MV"]  # as recorded (1.1)
    # Not yet signed: today's prices, an estimate (4.2 fixes them at signing).
    assert result.detail.fee is not None and not result.detail.fee.fixed
    # 24 months: LV 12.90 + MV 34.00 + one additional device 4.50 (4.1)
    assert result.detail.fee.total == Decimal("51.40")


def test_1_2_supply_contract_expiring_within_two_months_is_a_ground(world: World) -> None:
    result = world.contracts.create_draft(
        Draft(
            customer_number=CUSTOMER,
            sites=(DraftSite("varna-0001"),),
            period_months=12,
            contact_email="office@example.bg",
            signing_on=D(2026, 12, 31),
            supply_contract_ends_on=D(2027, 2, 28),  # ZZD art. 72(2): 31 Dec -> 28 Feb
        ),
        world.actor,
    )
    assert [str(r.value) for r in result.refusals] == ["supply_contract_expiring"]


def test_1_2_no_ground_allows(world: World) -> None:
    result = world.contracts.create_draft(
        Draft(CUSTOMER, (DraftSite("varna-0001"),), 12, "office@example.bg"), world.actor
    )
    assert result.eligibility.allowed and result.refusals == ()


def test_1_1_only_the_customers_own_sites_once_at_their_voltage(world: World) -> None:
    assert refusal(lambda: world.draft(DraftSite("shumen-0001"))).status == 400
    wrong = refusal(lambda: world.draft(DraftSite("varna-0002", voltage=VoltageLevel.LV)))
    assert wrong.status == 400 and "MV" in wrong.reason_en
    world.draft(DraftSite("dobrich-0001"))
    taken = refusal(lambda: world.draft(DraftSite("dobrich-0001")))
    assert taken.status == 409 and "MYE-2026-0001" in taken.reason_en


# -- 2.1, 4.2 signing and price lists ------------------------------------------------------------


def test_2_1_sign_twice_is_refused_by_the_life_cycle(world: World) -> None:
    number = world.signed(D(2026, 3, 2))
    error = refusal(lambda: world.contracts.sign(number, D(2026, 3, 2), world.actor))
    assert error.status == 409 and error.explanation is not None
    assert error.explanation["clause"] == "2.1"
    assert "подписан" in error.reason_bg
    other = world.draft(DraftSite("dobrich-0001"))
    future = refusal(lambda: world.contracts.sign(other, D(2026, 3, 3), world.actor))
    assert future.status == 400


def test_4_2_signed_prices_kept_after_new_price_list(world: World) -> None:
    old = world.signed(D(2026, 3, 2))
    new_prices = {
        (level, months): Decimal("20.00") if level is VoltageLevel.LV else Decimal("50.00")
        for level in VoltageLevel
        for months in (12, 24)
    }
    world.prices.publish(
        PriceListDraft("PRICES-2026-05", D(2026, 5, 1), new_prices, Decimal("5.00")), world.actor
    )
    world.clock.set(D(2026, 6, 15))
    kept = world.contracts.detail(old)
    assert kept.fee is not None and kept.fee.fixed
    assert kept.fee.total == Decimal("14.90") and kept.fee.price_list_name == "DEMO-2025"
    assert kept.fee.kept is not None and kept.fee.kept.clause == "4.2"
    newer = world.signed(D(2026, 6, 15), DraftSite("dobrich-0001"))
    fee = world.contracts.detail(newer).fee
    assert fee is not None and fee.total == Decimal("20.00")
    assert fee.price_list_name == "PRICES-2026-05"


def test_4_1_price_list_not_in_the_past_and_one_per_day(world: World) -> None:
    items = {(level, m): Decimal("1.00") for level in VoltageLevel for m in (12, 24)}
    past = refusal(
        lambda: world.prices.publish(
            PriceListDraft("OLD", D(2026, 3, 1), items, Decimal("1.00")), world.actor
        )
    )
    assert past.status == 400 and "4.2" in past.reason_en
    world.prices.publish(PriceListDraft("P1", D(2026, 4, 1), items, Decimal("1.00")), world.actor)
    same_day = refusal(
        lambda: world.prices.publish(
            PriceListDraft("P2", D(2026, 4, 1), items, Decimal("1.00")), world.actor
        )
    )
    assert same_day.status == 409
    incomplete = refusal(
        lambda: world.prices.publish(
            PriceListDraft(
                "P3", D(2026, 4, 2), {(VoltageLevel.LV, 12): Decimal("1")}, Decimal("1.00")
            ),
            world.actor,
        )
    )
    assert incomplete.status == 400 and "MV/12" in incomplete.reason_en
    versions = world.prices.versions()
    assert [v.name for v in versions] == ["P1", "DEMO-2025"]
    assert versions[1].in_force and versions[0].future


# -- 1.3, 1.4.2, 1.5 installation ----------------------------------------------------------------


def test_1_3_postponement_extends_deadline_over_a_bulgarian_holiday(world: World) -> None:
    number = world.signed(D(2026, 3, 27))  # day 30: Sun 26 April 2026
    before = world.contracts.detail(number).installation_deadline
    assert before is not None and before.value == D(2026, 4, 27)  # Sunday -> Monday
    world.clock.set(D(2026, 4, 11))
    world.installation.record_outcome(number, VisitAgreed(D(2026, 3, 30)), world.actor)
    world.installation.record_outcome(
        number, Postponed(D(2026, 4, 1), MismatchKind.VOLTAGE_LEVEL, "СН, не НН"), world.actor
    )
    open_ = world.contracts.detail(number)
    assert open_.state is ContractState.SIGNED
    assert open_.installation_deadline is not None and open_.installation_deadline.value is None
    world.installation.record_outcome(number, VisitAgreed(D(2026, 4, 11)), world.actor)
    after = world.contracts.detail(number)
    deadline = after.installation_deadline
    assert deadline is not None and deadline.clause == "1.3"
    # 26 April + 10 days lost = Wed 6 May, St George's Day: moved to Thu 7 May (ZZD 72(3)).
    assert deadline.value == D(2026, 5, 7)
    assert deadline.numbers["postponed_days"] == 10
    assert deadline.numbers["moved_to_working_day"] is True
    assert [(p.found_on, p.settled_on) for p in after.postponements] == [
        (D(2026, 4, 1), D(2026, 4, 11))
    ]


def test_1_4_2_installed_activates(world: World) -> None:
    number = world.signed(D(2026, 3, 2))
    world.clock.set(D(2026, 3, 12))
    early = refusal(
        lambda: world.installation.record_outcome(number, installed(D(2026, 3, 10)), world.actor)
    )
    assert early.status == 409  # no visit booked yet: the life cycle refuses
    world.installation.record_outcome(number, VisitAgreed(D(2026, 3, 5)), world.actor)
    bad = refusal(
        lambda: world.installation.record_outcome(
            number,
            installed(
                D(2026, 3, 10),
                signatory_name="Мария",
                signatory_capacity=SignatoryCapacity.EMPLOYEE,
            ),
            world.actor,
        )
    )
    assert bad.status == 400 and "three" in bad.reason_en  # Appendix 2: names and position
    result = world.installation.record_outcome(number, installed(D(2026, 3, 10)), world.actor)
    assert result.detail.state is ContractState.ACTIVE
    assert result.detail.contract.installed_on == D(2026, 3, 10)
    assert result.detail.contract.protocols_signed_on == D(2026, 3, 10)
    assert result.detail.credentials_due is not None


def test_1_4_2_access_refused_proposes_termination_only(world: World) -> None:
    number = world.signed(D(2026, 3, 2), DraftSite("varna-0002"))
    outcome = AccessRefused(D(2026, 3, 2), AccessProblem.NO_ACCESS, "varna-0002")
    result = world.installation.record_outcome(number, outcome, world.actor)
    assert result.proposal_id is not None and result.rule.clause == "1.4.2"
    assert result.detail.state is ContractState.SIGNED  # "may": staff decide
    with world.sessions() as session:
        (proposal,) = EventRepository(session).decisions(number)
    assert proposal.kind is DecisionKind.TERMINATION_PROPOSED
    assert proposal.state is DecisionState.PROPOSED
    again = refusal(lambda: world.installation.record_outcome(number, outcome, world.actor))
    assert again.status == 409
    lv = world.signed(D(2026, 3, 2), DraftSite("varna-0001"))
    no_link = AccessRefused(D(2026, 3, 2), AccessProblem.MV_HV_NO_CONNECTION, "varna-0001")
    error = refusal(lambda: world.installation.record_outcome(lv, no_link, world.actor))
    assert error.status == 409 and "low voltage" in error.reason_en


def test_1_5_impossible_ends_without_penalty(world: World) -> None:
    number = world.signed(D(2026, 3, 2))
    result = world.installation.record_outcome(
        number,
        Impossible(D(2026, 3, 2), "varna-0001", ImpossibleReason.NO_MOBILE_COVERAGE),
        world.actor,
    )
    assert result.detail.state is ContractState.ENDED_INSTALLATION_IMPOSSIBLE
    assert result.rule.clause == "1.5"
    assert result.rule.numbers["penalty_customer"] == "0.00"
    assert result.rule.numbers["penalty_company"] == "0.00"
    assert result.detail.contract.terminated_on == D(2026, 3, 2)
    assert not result.detail.contract.has_equipment  # nothing to dismantle (7.7)


# -- 1.6, 2.3a credentials; 2.4 renewal -------------------------------------------------------


def test_1_6_credentials_due_14_days(world: World) -> None:
    number = world.active(D(2026, 3, 2), D(2026, 3, 10))
    world.clock.set(D(2026, 3, 24))
    result = world.installation.credentials_given(number, D(2026, 3, 24), world.actor)
    assert result.due.clause == "1.6" and result.due.value == D(2026, 3, 24)  # 10 Mar + 14
    assert result.in_time
    assert result.start.value == D(2026, 4, 1)  # 2.3a: the month after
    assert result.end.value == D(2027, 3, 31)  # 2.2: 12 months
    assert result.detail.expiry_notice is not None
    assert result.detail.expiry_notice.value == D(2027, 3, 17)  # 2.5: 14 days before
    twice = refusal(
        lambda: world.installation.credentials_given(number, D(2026, 3, 24), world.actor)
    )
    assert twice.status == 409


def test_1_6_late_credentials_are_recorded_and_flagged(world: World) -> None:
    number = world.active(D(2026, 3, 2), D(2026, 3, 10))
    world.clock.set(D(2026, 4, 2))
    result = world.installation.credentials_given(number, D(2026, 4, 2), world.actor)
    assert not result.in_time and result.due.value == D(2026, 3, 24)
    assert result.detail.contract.subscription_start == D(2026, 5, 1)


def test_2_4_renewal_starts_month_after_end(world: World) -> None:
    number = world.active(D(2026, 3, 2), D(2026, 3, 10), DraftSite("varna-0001", multimeters=2))
    world.clock.set(D(2026, 3, 20))
    world.installation.credentials_given(number, D(2026, 3, 20), world.actor)  # ends 2027-03-31
    world.clock.set(D(2027, 4, 2))
    late = refusal(lambda: world.contracts.renew(number, D(2027, 4, 1), world.actor))
    assert late.status == 409 and late.explanation is not None
    assert late.explanation["clause"] == "2.3b"
    world.clock.set(D(2027, 3, 10))
    renewal, rule = world.contracts.renew(number, D(2027, 3, 10), world.actor, period_months=24)
    assert rule.clause == "2.3b" and rule.value == D(2027, 4, 1)
    assert renewal.contract.renewal_of == number
    assert renewal.state is ContractState.SIGNED
    assert renewal.contract.subscription_start == D(2027, 4, 1)
    assert renewal.contract.subscription_end == D(2029, 3, 31)
    assert [(s.site_id, s.multimeters) for s in renewal.sites] == [("varna-0001", 2)]
    assert renewal.fee is not None and renewal.fee.fixed  # the prices of its own signing day
    assert renewal.fee.total == Decimal("12.90") + Decimal("4.50")
    assert world.contracts.detail(number).renewed_by == renewal.number
    again = refusal(lambda: world.contracts.renew(number, D(2027, 3, 10), world.actor))
    assert again.status == 409


def test_every_staff_change_is_audited(world: World) -> None:
    number = world.active(D(2026, 3, 2), D(2026, 3, 10))
    with world.sessions() as session:
        rows = session.scalars(
            select(AuditEntry).where(AuditEntry.object_id == number).order_by(AuditEntry.id)
        ).all()
    assert [r.action for r in rows] == [
        "contract.draft",
        "contract.sign",
        "contract.installation.visit_agreed",
        "contract.installation.installed",
    ]
    assert all(r.actor_user_id == world.actor.user_id and r.ip == "192.0.2.10" for r in rows)
