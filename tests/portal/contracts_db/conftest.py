"""Fixtures of the contract persistence tests: a migrated database (SQLite and PostgreSQL,
through ``portal_db_url``) with one customer, three sites, a module, a staff user and an
outbox message to point at."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session, sessionmaker

from portal_api.db import make_engine, migrate, session_factory
from portal_api.db.enums import CustomerKind, DeviceKind, IdKind, Language, Role, Voltage
from portal_api.db.models import Customer, Device, OutboxMessage, Site, User

CREATED = dt.datetime(2026, 3, 29, 1, 30, tzinfo=dt.UTC)  # the DST night in Sofia


@pytest.fixture
def sessions(portal_db_url: str) -> Iterator[sessionmaker[Session]]:
    migrate(portal_db_url)
    engine = make_engine(portal_db_url)
    yield session_factory(engine)
    engine.dispose()


@pytest.fixture
def seeded(sessions: sessionmaker[Session]) -> dict[str, int]:
    """Ids of the customer (a company), the staff user and an outbox message."""
    with sessions.begin() as session:
        customer = Customer(
            number="1000000001",
            kind=CustomerKind.COMPANY,
            name="Фирма ЕООД",
            id_kind=IdKind.EIK,
            id_hmac="0" * 64,
            id_enc="ciphertext",
            email="office@example.bg",
            created_at=CREATED,
        )
        session.add(customer)
        session.flush()
        for site_id, voltage in (
            ("varna-0001", Voltage.LV),
            ("varna-0002", Voltage.MV),
            ("dobrich-0001", Voltage.LV),
        ):
            session.add(
                Site(
                    id=site_id,
                    customer_id=customer.id,
                    metering_point=f"32Z{site_id}",
                    name=site_id,
                    address="ул. Варненска 1",
                    settlement="Варна",
                    voltage=voltage,
                    created_at=CREATED,
                )
            )
        session.flush()
        session.add(Device(id="mod-0001", site_id="varna-0001", kind=DeviceKind.MODULE))
        staff = User(
            username="operator",
            password_hash="$argon2id$...",
            role=Role.OPERATOR,
            customer_id=None,
            display_name="Оператор",
            language=Language.BG,
            active=True,
            failed_logins=0,
            password_changed_at=CREATED,
            created_at=CREATED,
        )
        outbox = OutboxMessage(
            created_at=CREATED,
            to_addr="office@example.bg",
            subject="Изтичане на договора",
            body_text="...",
            kind="contract_expiry",
            language=Language.BG,
            attempts=0,
            next_attempt_at=CREATED,
        )
        session.add_all([staff, outbox])
        session.flush()
        return {"customer": customer.id, "user": staff.id, "outbox": outbox.id}
