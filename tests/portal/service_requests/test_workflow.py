"""The request workflow through RequestService on a migrated, seeded database: submit,
advance, reject, who may read what, numbering, e-mails and audit (SQLite, PostgreSQL)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from portal_api.accounts.mail import SEPARATOR
from portal_api.db import make_engine, migrate, session_factory
from portal_api.db.models import AuditEntry, Customer, OutboxMessage, User
from portal_api.domain.identifiers import derive_keys
from portal_api.seed import seed_demo
from portal_api.service_requests.attachments import Part
from portal_api.service_requests.catalogue import (
    CATALOGUE,
    RequestState,
    ServiceKind,
    Step,
    definition,
)
from portal_api.service_requests.forms import submission
from portal_api.service_requests.mail import step_mail
from portal_api.service_requests.workflow import RequestError, RequestService, RequestView

NOW = dt.datetime(2026, 3, 2, 12, 0, tzinfo=dt.UTC)
KEYS = derive_keys("a test secret key that is long enough, really")
PDF = b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\n%%EOF\n"
BASE_URL = "https://portal.example.bg"
RAW = {
    "contact_email": "ivan@example.bg",
    "contact_phone": "0888123456",
    "settlement": "Варна",
    "address": "ул. Шипка 1",
    "purpose": "household",
    "power_kw": "12",
    "phases": "3",
    "voltage": "low",
}


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> dt.datetime:
        return self.now

    def tick(self, hours: float = 1) -> None:
        self.now += dt.timedelta(hours=hours)


@dataclass
class World:
    sessions: sessionmaker[Session]
    clock: Clock
    service: RequestService
    ivan: tuple[int, int]  # (customer id, user id)
    maria: tuple[int, int]
    operator: int

    def submit(self, kind: ServiceKind = ServiceKind.CONNECT_CONSUMER) -> RequestView:
        fields, uploads = submission(
            kind,
            RAW,
            [Part("ownership", "акт.pdf", PDF), Part("site_plan", "скица.pdf", PDF)],
            today=self.clock().date(),
        )
        customer_id, user_id = self.ivan
        return self.service.submit(
            customer_id=customer_id,
            actor_user_id=user_id,
            kind=kind,
            fields=fields,
            contact_email=str(fields["contact_email"]),
            uploads=uploads,
        )

    def outbox(self, number: str) -> list[OutboxMessage]:
        with self.sessions() as session:
            return list(
                session.scalars(
                    select(OutboxMessage)
                    .where(OutboxMessage.subject.contains(number))
                    .order_by(OutboxMessage.id)
                )
            )

    def audit(self, number: str) -> list[AuditEntry]:
        with self.sessions() as session:
            return list(
                session.scalars(
                    select(AuditEntry).where(AuditEntry.object_id == number).order_by(AuditEntry.id)
                )
            )


def _ids(session: Session, username: str) -> tuple[int, int]:
    user = session.scalars(select(User).where(User.username == username)).one()
    assert user.customer_id is not None
    return user.customer_id, user.id


@pytest.fixture
def world(portal_db_url: str) -> Iterator[World]:
    migrate(portal_db_url)
    engine = make_engine(portal_db_url)
    sessions = session_factory(engine)
    seed_demo(sessions, KEYS, now=NOW - dt.timedelta(days=30))
    clock = Clock()
    with sessions() as session:
        ivan = _ids(session, "ivan.georgiev")
        maria = _ids(session, "maria.nikolova")
        operator = session.scalars(select(User.id).where(User.username == "operator")).one()
    yield World(sessions, clock, RequestService(sessions, clock, BASE_URL), ivan, maria, operator)
    engine.dispose()


def test_submit_records_received_mails_and_audits(world: World) -> None:
    view = world.submit()
    assert view.number == "SR-2026-000001"
    assert (view.state, view.step) == (RequestState.OPEN, Step.RECEIVED)
    assert [s.step for s in view.steps] == [Step.RECEIVED]
    received = view.steps[0]
    assert received.at == NOW and received.actor_kind == "customer"
    with world.sessions() as session:
        customer = session.get(Customer, world.ivan[0])
        assert customer is not None and received.actor_name == customer.name
    assert view.fields["power_kw"] == "12.00"
    assert [(a.label, a.filename, a.media_type) for a in view.attachments] == [
        ("ownership", "акт.pdf", "application/pdf"),
        ("site_plan", "скица.pdf", "application/pdf"),
    ]
    (mail,) = world.outbox(view.number)
    assert mail.to_addr == "ivan@example.bg"
    bg, en = mail.body_text.split(SEPARATOR)
    assert "Заявката е получена" in bg and "Request received" in en
    assert mail.body_text.index("Здравейте") < mail.body_text.index("Hello")
    assert f"{BASE_URL}/requests/{view.number}" in bg
    (entry,) = world.audit(view.number)
    assert entry.action == "service_request.step"
    assert entry.actor_user_id == world.ivan[1]
    assert entry.detail == {
        "kind": "connect_consumer",
        "step": "received",
        "actor_kind": "customer",
    }


def test_numbers_follow_in_order(world: World) -> None:
    first = world.submit()
    second = world.submit(ServiceKind.CONNECT_CONSUMER)
    assert (first.number, second.number) == ("SR-2026-000001", "SR-2026-000002")
    listed = world.service.for_customer(world.ivan[0])
    assert [v.number for v in listed] == ["SR-2026-000002", "SR-2026-000001"]


def test_advance_walks_the_sequence_to_completed(world: World) -> None:
    number = world.submit().number
    steps = definition(ServiceKind.CONNECT_CONSUMER).steps
    view = world.service.one(number)
    for expected in steps[1:]:
        world.clock.tick()
        assert view.next_step is expected
        view = world.service.advance(
            number, actor_user_id=world.operator, expected=expected, note=f"бележка {expected}"
        )
        assert view.step is expected
    assert view.state is RequestState.COMPLETED and view.next_step is None
    assert [s.step for s in view.steps] == list(steps)
    assert {s.actor_kind for s in view.steps[1:]} == {"staff"}
    assert view.steps[-1].at == NOW + dt.timedelta(hours=len(steps) - 1)
    mails = world.outbox(number)
    assert len(mails) == len(steps)
    assert "Обектът е присъединен" in mails[-1].subject and "Site connected" in mails[-1].subject
    assert "бележка connected" in mails[-1].body_text
    with pytest.raises(RequestError) as caught:
        world.service.advance(number, actor_user_id=world.operator)
    assert caught.value.status == 409


def test_advance_with_a_stale_expected_step_is_409(world: World) -> None:
    number = world.submit().number
    world.service.advance(number, actor_user_id=world.operator, expected=Step.DOCUMENTS_CHECKED)
    with pytest.raises(RequestError) as caught:
        # A second click of the same button: the request moved on already.
        world.service.advance(number, actor_user_id=world.operator, expected=Step.DOCUMENTS_CHECKED)
    assert caught.value.status == 409
    assert world.service.one(number).step is Step.DOCUMENTS_CHECKED
    assert len(world.outbox(number)) == 2


def test_reject_needs_a_reason_and_closes(world: World) -> None:
    number = world.submit().number
    with pytest.raises(RequestError) as caught:
        world.service.reject(number, actor_user_id=world.operator, reason="   ")
    assert caught.value.status == 400 and "reason" in caught.value.fields
    view = world.service.reject(
        number, actor_user_id=world.operator, reason="Липсва скица на имота."
    )
    assert view.state is RequestState.REJECTED and view.step is Step.REJECTED
    assert view.steps[-1].note == "Липсва скица на имота."
    assert view.next_step is None
    rejected = world.outbox(number)[-1]
    assert "Липсва скица на имота." in rejected.body_text
    with pytest.raises(RequestError) as closed:
        world.service.advance(number, actor_user_id=world.operator)
    assert closed.value.status == 409
    with pytest.raises(RequestError) as closed:
        world.service.reject(number, actor_user_id=world.operator, reason="again")
    assert closed.value.status == 409
    assert len(world.service.one(number).steps) == 2


def test_another_customers_number_is_404_like_an_unknown(world: World) -> None:
    view = world.submit()
    maria = world.maria[0]
    errors = []
    for number in (view.number, "SR-2026-999999"):
        with pytest.raises(RequestError) as caught:
            world.service.one(number, customer_id=maria)
        errors.append((caught.value.status, caught.value.message_en))
    assert errors[0] == errors[1] == (404, "No such request.")
    attachment_id = view.attachments[0].id
    with pytest.raises(RequestError) as caught:
        world.service.attachment(view.number, attachment_id, customer_id=maria)
    assert caught.value.status == 404
    item, content = world.service.attachment(view.number, attachment_id, customer_id=world.ivan[0])
    assert content == PDF and item.size == len(PDF)
    assert world.service.for_customer(maria) == []


def test_myenergy_is_not_advanced_by_hand(world: World) -> None:
    customer_id, user_id = world.ivan
    view = world.service.submit(
        customer_id=customer_id,
        actor_user_id=user_id,
        kind=ServiceKind.MYENERGY,
        fields={},
        contact_email="ivan@example.bg",
    )
    with pytest.raises(RequestError) as caught:
        world.service.advance(view.number, actor_user_id=world.operator)
    assert caught.value.status == 409


def test_catalogue_sequences_start_received_and_mail_is_bilingual() -> None:
    for service in CATALOGUE.values():
        assert service.steps[0] is Step.RECEIVED
        assert Step.REJECTED not in service.steps
        assert len(set(service.steps)) == len(service.steps)
    subject, body = step_mail(
        number="SR-2026-000007",
        service=definition(ServiceKind.SUPPLY_CONTRACT),
        step=Step.SUPPLY_STARTED,
        at=dt.datetime(2026, 7, 1, 6, 30, tzinfo=dt.UTC),
        note="",
        link="https://p/requests/SR-2026-000007",
    )
    assert subject.startswith("Заявка SR-2026-000007: Снабдяването е започнало")
    bg, en = body.split(SEPARATOR)
    assert "01.07.2026 09:30" in bg and "ЕНЕРГО-ПРО Продажби АД" in bg  # Sofia summer time
    assert "Supply started" in en and "Бележка" not in bg
