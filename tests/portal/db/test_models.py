"""Portal models on SQLite and PostgreSQL: round trips in UTC, constraints enforced."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from portal_api.db import make_engine, migrate, session_factory
from portal_api.db.enums import CustomerKind, DeviceKind, IdKind, Language, Role, Voltage
from portal_api.db.models import AuditEntry, Customer, Device, Site, User

SOFIA = dt.timezone(dt.timedelta(hours=2))
AT = dt.datetime(2026, 3, 29, 3, 30, tzinfo=SOFIA)


@pytest.fixture
def sessions(portal_db_url: str) -> Iterator[sessionmaker[Session]]:
    migrate(portal_db_url)
    engine = make_engine(portal_db_url)
    yield session_factory(engine)
    engine.dispose()


def _customer(number: str = "1000000001") -> Customer:
    return Customer(
        number=number,
        kind=CustomerKind.COMPANY,
        name="Фирма ЕООД",
        id_kind=IdKind.EIK,
        id_hmac="0" * 64,
        id_enc="ciphertext",
        email="office@example.bg",
        created_at=AT,
    )


def _user(username: str, role: Role, customer_id: int | None) -> User:
    return User(
        username=username,
        password_hash="$argon2id$...",
        role=role,
        customer_id=customer_id,
        display_name="Иван",
        language=Language.BG,
        active=True,
        failed_logins=0,
        password_changed_at=AT,
        created_at=AT,
    )


def test_round_trip_keeps_aware_utc_and_bulgarian_text(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        customer = _customer()
        session.add(customer)
        session.flush()
        session.add(
            Site(
                id="varna-0001",
                customer_id=customer.id,
                metering_point="32Z1030000000001",
                name="Склад",
                address="бул. Владислав Варненчик 258",
                settlement="Варна",
                voltage=Voltage.LV,
                created_at=AT,
            )
        )
        session.flush()  # no ORM relationships: parents are flushed first
        session.add(Device(id="mod-0001", site_id="varna-0001", kind=DeviceKind.MODULE))
        session.add(
            AuditEntry(at=AT, action="test", detail={"note": "без лични данни"}, object_id="1")
        )
    with sessions() as session:
        site = session.scalars(select(Site)).one()
        assert site.created_at == AT and site.created_at.tzinfo == dt.UTC
        assert site.settlement == "Варна" and site.voltage is Voltage.LV
        assert session.scalars(select(AuditEntry)).one().detail == {"note": "без лични данни"}


def test_foreign_keys_are_enforced(sessions: sessionmaker[Session]) -> None:
    with pytest.raises(IntegrityError), sessions.begin() as session:
        session.add(Device(id="mod-x", site_id="no-such-site", kind=DeviceKind.MODULE))


def test_customer_users_need_a_customer_and_staff_none(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        customer = _customer()
        session.add(customer)
        session.flush()
        session.add(_user("client", Role.CUSTOMER, customer.id))
        session.add(_user("operator", Role.OPERATOR, None))
    with pytest.raises(IntegrityError), sessions.begin() as session:
        session.add(_user("orphan", Role.CUSTOMER, None))
    with pytest.raises(IntegrityError), sessions.begin() as session:
        session.add(_user("staff", Role.ADMIN, customer.id))


def test_usernames_are_unique_and_lower_case(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        session.add(_user("admin", Role.ADMIN, None))
    with pytest.raises(IntegrityError), sessions.begin() as session:
        session.add(_user("admin", Role.ADMIN, None))
    with pytest.raises(IntegrityError), sessions.begin() as session:
        session.add(_user("Admin2", Role.ADMIN, None))


def test_enum_columns_refuse_unknown_values(sessions: sessionmaker[Session]) -> None:
    with pytest.raises(IntegrityError), sessions.begin() as session:
        customer = _customer()
        session.add(customer)
        session.flush()
        session.execute(
            text("UPDATE customers SET kind = 'alien' WHERE id = :id"), {"id": customer.id}
        )


def test_naive_datetimes_are_refused(sessions: sessionmaker[Session]) -> None:
    with pytest.raises(Exception, match="naive"), sessions.begin() as session:
        customer = _customer()
        customer.created_at = dt.datetime(2026, 1, 1)
        session.add(customer)
