"""portal_api/seed.py: the demo data is complete, consistent and idempotent (SQLite, PostgreSQL)."""

from __future__ import annotations

import datetime as dt

from argon2 import PasswordHasher
from sqlalchemy import func, select

from portal_api.db import make_engine, migrate, session_factory
from portal_api.db.enums import CustomerKind, DeviceKind, Voltage
from portal_api.db.models import Customer, Device, Site, User
from portal_api.domain.identifiers import (
    decrypt_identifier,
    derive_keys,
    hmac_identifier,
)
from portal_api.domain.roles import Role
from portal_api.seed import (
    DEMO_CUSTOMERS,
    DEMO_PASSWORD,
    demo_logins,
    demo_site_of,
    seed_demo,
)
from simulators.stack_sites import plan_sites

NOW = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)
KEYS = derive_keys("a test secret key that is long enough, really")


def test_seed_is_complete_and_idempotent(portal_db_url: str) -> None:
    migrate(portal_db_url)
    engine = make_engine(portal_db_url)
    sessions = session_factory(engine)
    try:
        first = seed_demo(sessions, KEYS, now=NOW, installed_at=NOW - dt.timedelta(days=3))
        assert (first.customers, first.sites, first.devices, first.users) == (3, 4, 8, 6)
        again = seed_demo(sessions, KEYS, now=NOW + dt.timedelta(hours=1))
        assert again.added == 0
        assert again.meters == first.meters

        with sessions() as session:
            customers = session.scalars(select(Customer).order_by(Customer.number)).all()
            assert {c.kind for c in customers} == set(CustomerKind)
            for customer, demo in zip(customers, DEMO_CUSTOMERS, strict=True):
                # Stored as HMAC + ciphertext, never in clear.
                assert demo.identifier not in (customer.id_hmac, customer.id_enc)
                assert customer.id_hmac == hmac_identifier(
                    demo.id_kind, demo.identifier, KEYS.pepper
                )
                assert decrypt_identifier(customer.id_enc, KEYS.fernet_key) == demo.identifier
            sites = session.scalars(select(Site)).all()
            assert {s.settlement for s in sites} == {"Варна", "Шумен", "Добрич"}
            assert {s.voltage for s in sites} == {Voltage.LV, Voltage.MV}
            meters = session.scalars(select(Device).where(Device.kind == DeviceKind.METER)).all()
            for meter in meters:
                module = session.get(Device, meter.parent_id)
                assert module is not None and module.kind == DeviceKind.MODULE
                assert module.site_id == meter.site_id and module.registry_device_id is None
                assert meter.registry_device_id == meter.id
                assert meter.installed_at == NOW - dt.timedelta(days=3)
            users = session.scalars(select(User)).all()
            roles = sorted(u.role for u in users)
            assert roles.count(Role.CUSTOMER) == 3
            assert {Role.OPERATOR, Role.INSTALLER, Role.ADMIN} <= set(roles)
            hasher = PasswordHasher()
            assert all(hasher.verify(u.password_hash, DEMO_PASSWORD) for u in users)
            assert all((u.role == Role.CUSTOMER) == (u.customer_id is not None) for u in users)
            assert session.scalar(select(func.count()).select_from(Device)) == 8
    finally:
        engine.dispose()


def test_every_stack_meter_has_a_demo_site_and_every_login_is_listed() -> None:
    # The stack's four default meters are the demo customers' meters.
    for site in plan_sites(4):
        assert demo_site_of(site.device_id) is not None, site.device_id
    assert demo_site_of("demo-sdm630-5") is None
    usernames = [login.username for login in demo_logins()]
    assert len(usernames) == len(set(usernames)) == 6
