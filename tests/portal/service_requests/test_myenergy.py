"""service_requests/myenergy.py: quote, order and refusal of MyEnergy ordered online (issue 6),
over the contract engine, on a migrated database seeded with the demo data (SQLite and
PostgreSQL). Ivan Georgiev gets a free site of his own, varna-0009 (LV); his two demo
sites are held by MYE-2025-0001 and Maria Nikolova's shumen-0001 by MYE-2025-0002.
"""

from __future__ import annotations

import datetime as dt
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from portal_api.contracts.app.contracts import ContractService
from portal_api.contracts.app.contracts_common import Actor
from portal_api.contracts.db.models import ContractRow
from portal_api.contracts.domain.contract import ContractState
from portal_api.contracts.domain.eligibility import Refusal
from portal_api.contracts.seed import seed_demo_contracts
from portal_api.db import make_engine, migrate, session_factory
from portal_api.db.enums import Voltage
from portal_api.db.models import AuditEntry, Customer, OutboxMessage, Site, User
from portal_api.domain.identifiers import derive_keys
from portal_api.domain.workdays import WorkingDays
from portal_api.seed import seed_demo
from portal_api.service_requests.catalogue import RequestState, Step
from portal_api.service_requests.models import ServiceRequestRow
from portal_api.service_requests.myenergy import MyEnergyService, Order, OrderSite, Supply
from portal_api.service_requests.workflow import RequestError

NOW = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)
KEYS = derive_keys("a test secret key that is long enough, really")
FREE_SITE = "varna-0009"
BASE_URL = "https://portal.example.bg"


class Clock:
    """A settable "now": the services never look at the real time."""

    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def set(self, day: dt.date) -> None:
        self.now = dt.datetime(day.year, day.month, day.day, 10, 0, tzinfo=dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now


@dataclass
class World:
    sessions: sessionmaker[Session]
    clock: Clock
    service: MyEnergyService
    ivan_id: int  # customer id
    ivan_user: int
    maria_id: int
    operator: int

    def order(self, site: str = FREE_SITE, **changes: object) -> Order:
        values: dict[str, object] = {
            "sites": (OrderSite(site, 1, operator_contract=True),),
            "period_months": 12,
            "contact_email": "ivan.georgiev@example.bg",
            "supply": Supply.INDEFINITE,
        }
        values.update(changes)
        return Order(**values)  # type: ignore[arg-type]

    def count(self, what: type[object]) -> int:
        with self.sessions() as session:
            return int(session.scalar(select(func.count()).select_from(what)) or 0)


def add_site(sessions: sessionmaker[Session], customer_id: int, site_id: str) -> None:
    with sessions.begin() as session:
        session.add(
            Site(
                id=site_id,
                customer_id=customer_id,
                metering_point=f"32Z9{zlib.crc32(site_id.encode()):012d}",
                name="Склад, Западна промишлена зона",
                address="ул. „Девня“ 3",
                settlement="Варна",
                voltage=Voltage.LV,
                created_at=NOW,
            )
        )


@pytest.fixture
def world(portal_db_url: str) -> Iterator[World]:
    migrate(portal_db_url)
    engine = make_engine(portal_db_url)
    sessions = session_factory(engine)
    seed_demo(sessions, KEYS, now=NOW)
    with sessions.begin() as session:
        seed_demo_contracts(session, NOW)
    with sessions() as session:
        ivan = session.scalars(select(Customer).where(Customer.number == "3100000017")).one()
        maria = session.scalars(select(Customer).where(Customer.number == "3100000033")).one()
        ivan_user = session.scalars(select(User.id).where(User.username == "ivan.georgiev")).one()
        operator = session.scalars(select(User.id).where(User.username == "operator")).one()
        ids = (ivan.id, ivan_user, maria.id, operator)
    add_site(sessions, ids[0], FREE_SITE)
    clock = Clock(NOW)
    service = MyEnergyService(sessions, clock, WorkingDays(), BASE_URL)
    yield World(sessions, clock, service, *ids)
    engine.dispose()


def test_the_quote_has_every_ground_and_the_fee_the_draft_then_shows(world: World) -> None:
    order = world.order(sites=(OrderSite(FREE_SITE, 2, operator_contract=True),))
    quote = world.service.quote(world.ivan_id, order)
    assert quote.allowed
    assert [g.ground for g in quote.grounds] == list(Refusal)
    assert all(g.allowed for g in quote.grounds)
    # 4.1: LV, 12 months, 14.90 + one additional multimeter at 4.50 (DEMO-2025).
    assert quote.fee.total == Decimal("19.40")
    assert quote.fee.price_list_name == "DEMO-2025"
    assert quote.fee.lines[0].additional_devices == 1
    assert quote.term_total == Decimal("232.80")
    # 2.3a: credentials today (2 March) -> from 1 April; 2.2: to 31 March 2027.
    assert quote.earliest_start.value == dt.date(2026, 4, 1)
    assert quote.earliest_end.value == dt.date(2027, 3, 31)
    assert quote.installation_by.clause.startswith("1.3")

    view = world.service.order(world.ivan_id, world.ivan_user, order)
    assert view.contract_number is not None
    detail = ContractService(world.sessions, world.clock, WorkingDays()).detail(
        view.contract_number
    )
    assert detail.fee is not None
    assert detail.fee.total == quote.fee.total
    assert [(f.site_id, f.total) for f in detail.fee.lines] == [
        (f.site_id, f.total) for f in quote.fee.lines
    ]
    assert detail.drafting_grounds == ()


def test_the_quote_shows_a_refusing_ground_with_its_reason(world: World) -> None:
    order = world.order(
        sites=(OrderSite(FREE_SITE, 1, operator_contract=False),),
        supply=Supply.UNTIL,
        supply_ends_on=dt.date(2026, 4, 15),
    )
    quote = world.service.quote(world.ivan_id, order)
    assert not quote.allowed
    refused = {g.ground: g for g in quote.grounds if not g.allowed}
    assert set(refused) == {Refusal.NO_OPERATOR_CONTRACT, Refusal.SUPPLY_CONTRACT_EXPIRING}
    assert FREE_SITE in refused[Refusal.NO_OPERATOR_CONTRACT].reason("en")
    assert "15.04.2026" in refused[Refusal.SUPPLY_CONTRACT_EXPIRING].reason("bg")
    # The customer may still order: refusing is the company's right (1.2).
    view = world.service.order(world.ivan_id, world.ivan_user, order)
    assert view.step is Step.RECEIVED


def test_a_quote_leaves_no_contract_request_audit_or_mail(world: World) -> None:
    before = [world.count(t) for t in (ContractRow, ServiceRequestRow, AuditEntry, OutboxMessage)]
    world.service.quote(world.ivan_id, world.order())
    world.service.quote(world.ivan_id, world.order())
    after = [world.count(t) for t in (ContractRow, ServiceRequestRow, AuditEntry, OutboxMessage)]
    assert after == before


def test_the_order_makes_a_draft_and_a_received_request_with_its_mail(world: World) -> None:
    view = world.service.order(world.ivan_id, world.ivan_user, world.order(), ip="192.0.2.7")
    assert view.state is RequestState.OPEN
    assert view.step is Step.RECEIVED
    assert view.contract_number == "MYE-2026-0001"
    assert view.fields["sites"] == [
        {"site_id": FREE_SITE, "multimeters": 1, "operator_contract": True}
    ]
    assert view.fields["period_months"] == 12
    assert view.fields["quoted"]["monthly_fee"] == "14.90"
    assert [s.actor_kind for s in view.steps] == ["customer"]
    with world.sessions() as session:
        contract = session.scalars(
            select(ContractRow).where(ContractRow.number == view.contract_number)
        ).one()
        assert contract.state is ContractState.DRAFT
        assert contract.customer_id == world.ivan_id
        drafted = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "contract.draft")
        ).one()
        assert drafted.actor_user_id == world.ivan_user  # the customer's portal user
        mails = session.scalars(
            select(OutboxMessage).where(OutboxMessage.kind == "service_request")
        ).all()
        assert [m.to_addr for m in mails] == ["ivan.georgiev@example.bg"]
        assert view.number in mails[0].subject
        assert f"{BASE_URL}/requests/{view.number}" in mails[0].body_text


@pytest.mark.parametrize(
    ("site", "says"),
    [("shumen-0001", "not one of your sites"), ("varna-0001", "already in contract MYE-2025-0001")],
)
def test_a_foreign_site_or_one_in_force_is_400(world: World, site: str, says: str) -> None:
    with pytest.raises(RequestError) as caught:
        world.service.order(world.ivan_id, world.ivan_user, world.order(site))
    assert caught.value.status == 400
    assert says in caught.value.fields["sites"][1]
    assert world.count(ServiceRequestRow) == 0


def test_every_wrong_field_is_reported_at_once(world: World) -> None:
    order = world.order(
        sites=(OrderSite(FREE_SITE, 0, operator_contract=True),),
        period_months=18,
        contact_email="not an address",
        supply=Supply.UNTIL,
    )
    with pytest.raises(RequestError) as caught:
        world.service.quote(world.ivan_id, order)
    assert caught.value.status == 400
    assert set(caught.value.fields) == {
        f"multimeters_{FREE_SITE}",
        "period_months",
        "contact_email",
        "supply_contract_ends_on",
    }
    assert "12 or 24" in caught.value.fields["period_months"][1]


def test_a_site_in_a_draft_cannot_be_ordered_twice(world: World) -> None:
    world.service.order(world.ivan_id, world.ivan_user, world.order())
    with pytest.raises(RequestError) as caught:
        world.service.quote(world.ivan_id, world.order())
    assert "already in contract MYE-2026-0001" in caught.value.fields["sites"][1]


def test_reject_deletes_the_draft_frees_the_site_and_never_reuses_the_number(
    world: World,
) -> None:
    first = world.service.order(world.ivan_id, world.ivan_user, world.order())
    assert first.contract_number == "MYE-2026-0001"
    rejected = world.service.reject(
        first.number, actor_user_id=world.operator, reason="Няма договор за доставка."
    )
    assert rejected.state is RequestState.REJECTED
    assert rejected.steps[-1].step is Step.REJECTED
    assert rejected.steps[-1].note == "Няма договор за доставка."
    assert rejected.steps[-1].actor_kind == "staff"
    with world.sessions() as session:
        assert (
            session.scalar(select(ContractRow).where(ContractRow.number == "MYE-2026-0001")) is None
        )
        refusal = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "contract.draft_refused")
        ).one()
        assert refusal.object_id == "MYE-2026-0001"
        assert refusal.detail["reason"] == "Няма договор за доставка."
        assert refusal.detail["sites"] == [FREE_SITE]
    # The site is free again; the next draft takes a new number.
    again = world.service.order(world.ivan_id, world.ivan_user, world.order())
    assert again.contract_number == "MYE-2026-0002"


def test_reject_needs_a_reason_and_an_open_myenergy_request(world: World) -> None:
    view = world.service.order(world.ivan_id, world.ivan_user, world.order())
    with pytest.raises(RequestError) as caught:
        world.service.reject(view.number, actor_user_id=world.operator, reason="  ")
    assert caught.value.status == 400
    assert "reason" in caught.value.fields
    with pytest.raises(RequestError) as unknown:
        world.service.reject("SR-2026-999999", actor_user_id=world.operator, reason="x")
    assert unknown.value.status == 404
    world.service.reject(view.number, actor_user_id=world.operator, reason="Отказ.")
    with pytest.raises(RequestError) as closed:
        world.service.reject(view.number, actor_user_id=world.operator, reason="Отказ.")
    assert closed.value.status == 409


def test_reject_after_signing_is_409_and_keeps_everything(world: World) -> None:
    view = world.service.order(world.ivan_id, world.ivan_user, world.order())
    assert view.contract_number is not None
    ContractService(world.sessions, world.clock, WorkingDays()).sign(
        view.contract_number, NOW.date(), Actor(world.operator)
    )
    with pytest.raises(RequestError) as caught:
        world.service.reject(view.number, actor_user_id=world.operator, reason="Отказ.")
    assert caught.value.status == 409
    assert "section 7" in caught.value.message("en")
    after = world.service.requests.one(view.number)
    assert after.state is RequestState.OPEN
    assert after.step is Step.SIGNED
    with world.sessions() as session:
        state = session.scalar(
            select(ContractRow.state).where(ContractRow.number == view.contract_number)
        )
    assert state is ContractState.SIGNED


def test_the_form_lists_the_sites_free_or_held_and_todays_prices(world: World) -> None:
    form = world.service.form(world.ivan_id)
    held = {s.site_id: s.taken_by for s in form.sites}
    assert held == {"dobrich-0001": "MYE-2025-0001", FREE_SITE: None, "varna-0001": "MYE-2025-0001"}
    assert form.periods == (12, 24)
    assert form.prices is not None and form.prices.name == "DEMO-2025"
    assert form.unit_price("LV", 24) == Decimal("12.90")
    assert form.customer_email == "ivan.georgiev@example.bg"
    assert world.service.ordered_draft(world.ivan_id, "MYE-2025-0001") is False
    view = world.service.order(world.ivan_id, world.ivan_user, world.order())
    assert view.contract_number is not None
    assert world.service.ordered_draft(world.ivan_id, view.contract_number)
    assert not world.service.ordered_draft(world.maria_id, view.contract_number)
