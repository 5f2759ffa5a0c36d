"""Accounts fixtures: a migrated portal database (SQLite and PostgreSQL), a manual
clock, an ``Accounts`` with a cheap argon2 setting, a customer and its users."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from portal_api.accounts import Accounts
from portal_api.accounts.passwords import Passwords
from portal_api.config import SecuritySettings
from portal_api.db import make_engine, migrate, session_factory
from portal_api.db.enums import CustomerKind, IdKind, Role
from portal_api.db.models import Customer, OutboxMessage
from portal_api.domain.identifiers import encrypt_identifier, hmac_identifier
from portal_api.domain.workdays import WorkingDays
from portal_api.notify.outbox import Outbox

SECRET = "test-secret-key-" + "x" * 32
PASSWORD = "correct horse battery"
EIK = "201398872"
BASE_URL = "https://myenergy.example.bg"
# Thursday 9 April 2026, 10:00 in Sofia (UTC+3): Easter is 10-13 April
START = dt.datetime(2026, 4, 9, 7, 0, tzinfo=dt.UTC)


class ManualClock:
    """The accounts' clock: moves only when a test says so."""

    def __init__(self, now: dt.datetime = START) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += dt.timedelta(seconds=seconds)


def fast_passwords() -> Passwords:
    # Cheap parameters: the tests hash many passwords; production keeps the defaults.
    return Passwords(PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


@dataclass
class World:
    accounts: Accounts
    sessions: sessionmaker[Session]
    clock: ManualClock
    settings: SecuritySettings
    customer_id: int
    customer_user_id: int
    operator_id: int
    admin_id: int

    def outbox(self) -> list[OutboxMessage]:
        with self.sessions() as session:
            return list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def settings() -> SecuritySettings:
    return SecuritySettings.model_validate({"secret_key": SECRET})


@pytest.fixture
def sessions(portal_db_url: str) -> Iterator[sessionmaker[Session]]:
    migrate(portal_db_url)
    engine = make_engine(portal_db_url)
    yield session_factory(engine)
    engine.dispose()


def add_customer(
    sessions: sessionmaker[Session],
    settings: SecuritySettings,
    clock: ManualClock,
    *,
    number: str = "3000000001",
    identifier: str = EIK,
    email: str = "office@firma.bg",
) -> int:
    keys = settings.identifier_keys()
    with sessions.begin() as session:
        customer = Customer(
            number=number,
            kind=CustomerKind.COMPANY,
            name="Фирма ЕООД",
            id_kind=IdKind.EIK,
            id_hmac=hmac_identifier(IdKind.EIK, identifier, keys.pepper),
            id_enc=encrypt_identifier(identifier, keys.fernet_key),
            email=email,
            created_at=clock(),
        )
        session.add(customer)
        session.flush()
        return customer.id


@pytest.fixture
def world(sessions: sessionmaker[Session], clock: ManualClock, settings: SecuritySettings) -> World:
    accounts = Accounts(
        sessions,
        clock,
        settings,
        Outbox(sessions, clock),
        WorkingDays(),
        passwords=fast_passwords(),
    )
    customer_id = add_customer(sessions, settings, clock)
    client = accounts.create_user(
        "ivan",
        Role.CUSTOMER,
        "Иван Петров",
        email="ivan@firma.bg",
        customer_id=customer_id,
        password=PASSWORD,
    )
    operator = accounts.create_user("maria", Role.OPERATOR, "Мария", password=PASSWORD)
    admin = accounts.create_user("admin", Role.ADMIN, "Админ", password=PASSWORD)
    return World(
        accounts,
        sessions,
        clock,
        settings,
        customer_id,
        client.user.id,
        operator.user.id,
        admin.user.id,
    )
