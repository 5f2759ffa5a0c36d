"""Demo customers, sites, devices and users: what ``myenergy-stack`` and the tests log in to.

Three customers of the General Terms, one of each kind (a natural person, a
sole trader, a legal entity), with sites in Varna, Shumen and Dobrich on low and
medium voltage, and the devices ``myenergy-stack`` simulates: its meters
``demo-sdm630-1``, ``demo-em340-2``, ``demo-pm5100-3`` and ``demo-sdm120-4``, each
read by a communication module. Users: one per customer, and one operator, one
installer and one admin, all with :data:`DEMO_PASSWORD`.

:func:`seed_demo` is idempotent: rows are found by their natural keys (customer
number, site id, device id, username) and only the missing ones are added, so it
runs at every start of the stack; a password a demo user changed stays changed.
The personal numbers are valid (check digits) but invented; they are stored as
the tables want them (HMAC and Fernet ciphertext), never in clear.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from portal_api.accounts.passwords import Passwords
from portal_api.contracts.seed import seed_demo_contracts
from portal_api.db.enums import CustomerKind, DeviceKind, Language, Voltage
from portal_api.db.models import Customer, Device, Site, User
from portal_api.domain.identifiers import (
    IdentifierKeys,
    IdKind,
    encrypt_identifier,
    hmac_identifier,
    validate_identifier,
)
from portal_api.domain.roles import Role

__all__ = [
    "DEMO_CUSTOMERS",
    "DEMO_PASSWORD",
    "DEMO_STAFF",
    "DemoCustomer",
    "DemoDevice",
    "DemoLogin",
    "DemoSite",
    "DemoUser",
    "SeedResult",
    "demo_logins",
    "demo_site_of",
    "seed_demo",
]

DEMO_PASSWORD = "myenergy-demo-2026"


@dataclass(frozen=True)
class DemoDevice:
    meter_id: str  # the ingest / MQTT device id (myenergy-stack's simulated meter)
    meter_model: str
    meter_serial: str
    module_id: str  # the communication module that reads it
    module_serial: str


@dataclass(frozen=True)
class DemoSite:
    id: str
    metering_point: str
    name: str
    address: str
    settlement: str
    voltage: Voltage
    devices: tuple[DemoDevice, ...]


@dataclass(frozen=True)
class DemoUser:
    username: str
    display_name: str
    email: str
    language: Language = Language.BG


@dataclass(frozen=True)
class DemoCustomer:
    number: str
    kind: CustomerKind
    name: str
    id_kind: IdKind
    identifier: str  # invented, valid check digit; stored only as HMAC + ciphertext
    email: str
    phone: str
    sites: tuple[DemoSite, ...]
    user: DemoUser
    address: str = ""  # postal address, the buyer's on invoices (ЗДДС art. 114(1)(5))


DEMO_CUSTOMERS: tuple[DemoCustomer, ...] = (
    DemoCustomer(
        number="3100000017",
        kind=CustomerKind.PERSON,
        name="Иван Петров Георгиев",
        id_kind=IdKind.EGN,
        identifier="7804122056",
        email="ivan.georgiev@example.bg",
        phone="+359888000117",
        address="ул. „Акад. Андрей Сахаров“ 14, 9010 Варна",
        sites=(
            DemoSite(
                id="varna-0001",
                metering_point="32Z4000100000017",
                name="Къща, кв. Бриз",
                address="ул. „Акад. Андрей Сахаров“ 14, 9010 Варна",
                settlement="Варна",
                voltage=Voltage.LV,
                devices=(
                    DemoDevice("demo-sdm630-1", "sdm630", "SDM630-2410017", "cm-0001", "CM4G-0001"),
                ),
            ),
            DemoSite(
                id="dobrich-0001",
                metering_point="32Z4000100000025",
                name="Апартамент, ж.к. Дружба",
                address="ж.к. „Дружба“ бл. 12, вх. А, 9300 Добрич",
                settlement="Добрич",
                voltage=Voltage.LV,
                devices=(
                    DemoDevice("demo-sdm120-4", "sdm120", "SDM120-2410025", "cm-0004", "CM4G-0004"),
                ),
            ),
        ),
        user=DemoUser("ivan.georgiev", "Иван Георгиев", "ivan.georgiev@example.bg"),
    ),
    DemoCustomer(
        number="3100000033",
        kind=CustomerKind.SOLE_TRADER,
        name="ЕТ „Мария Николова – Хлебна къща“",
        id_kind=IdKind.EIK,
        identifier="121759222",
        email="hlebna.kashta@example.bg",
        phone="+359899000133",
        address="бул. „Славянски“ 21, 9700 Шумен",
        sites=(
            DemoSite(
                id="shumen-0001",
                metering_point="32Z4000100000033",
                name="Пекарна",
                address="бул. „Славянски“ 21, 9700 Шумен",
                settlement="Шумен",
                voltage=Voltage.LV,
                devices=(
                    DemoDevice("demo-em340-2", "em340", "EM340-2410033", "cm-0002", "CM4G-0002"),
                ),
            ),
        ),
        user=DemoUser("maria.nikolova", "Мария Николова", "hlebna.kashta@example.bg"),
    ),
    DemoCustomer(
        number="3100000041",
        kind=CustomerKind.COMPANY,
        name="Добруджа Агро ООД",
        id_kind=IdKind.EIK,
        identifier="201234563",
        email="energy@dobrudzha-agro.example.bg",
        phone="+359878000141",
        address="ул. „Независимост“ 5, 9300 Добрич",
        sites=(
            DemoSite(
                id="dobrich-0002",
                metering_point="32Z4000100000041",
                name="Зърнобаза и сушилня",
                address="Промишлена зона Запад, 9300 Добрич",
                settlement="Добрич",
                voltage=Voltage.MV,
                devices=(
                    DemoDevice("demo-pm5100-3", "pm5100", "PM5100-2410041", "cm-0003", "CM4G-0003"),
                ),
            ),
        ),
        user=DemoUser("dobrudzha.agro", "Добруджа Агро ООД", "energy@dobrudzha-agro.example.bg"),
    ),
)

DEMO_STAFF: tuple[tuple[Role, DemoUser], ...] = (
    (Role.OPERATOR, DemoUser("operator", "Елена Колева (ЦОК)", "operator@energo-pro.example.bg")),
    (Role.INSTALLER, DemoUser("installer", "Стоян Димов (монтажник)", "installer@example.bg")),
    (
        Role.ADMIN,
        DemoUser("admin", "Администратор MyEnergy", "admin@energo-pro.example.bg", Language.EN),
    ),
)


@dataclass(frozen=True)
class DemoLogin:
    username: str
    role: Role
    who: str  # the customer's name, or the staff member's


def demo_logins() -> list[DemoLogin]:
    """Every demo login, customers first (what the stack prints at start)."""
    logins = [DemoLogin(c.user.username, Role.CUSTOMER, c.name) for c in DEMO_CUSTOMERS]
    logins += [DemoLogin(u.username, role, u.display_name) for role, u in DEMO_STAFF]
    return logins


def demo_site_of(device_id: str) -> str | None:
    """The demo site a simulated meter belongs to (None: not a demo device)."""
    for customer in DEMO_CUSTOMERS:
        for site in customer.sites:
            if any(d.meter_id == device_id for d in site.devices):
                return site.id
    return None


@dataclass
class SeedResult:
    """What one run added (all zero on a database already seeded)."""

    customers: int = 0
    sites: int = 0
    devices: int = 0
    users: int = 0
    meters: list[str] = field(default_factory=list)  # every demo meter id, added or not
    contracts: int = 0

    @property
    def added(self) -> int:
        return self.customers + self.sites + self.devices + self.users + self.contracts


def _user(
    session: Session,
    demo: DemoUser,
    *,
    role: Role,
    customer_id: int | None,
    password_hash: str,
    now: dt.datetime,
) -> bool:
    username = demo.username.lower()
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        return False  # kept as it is: its password may have been changed
    session.add(
        User(
            username=username,
            password_hash=password_hash,
            role=role,
            customer_id=customer_id,
            email=demo.email,
            display_name=demo.display_name,
            language=demo.language,
            active=True,
            failed_logins=0,
            locked_until=None,
            password_changed_at=now,
            created_at=now,
        )
    )
    return True


def _devices(
    session: Session, site_id: str, devices: Sequence[DemoDevice], installed_at: dt.datetime
) -> int:
    added = 0
    for d in devices:
        if session.get(Device, d.module_id) is None:
            session.add(
                Device(
                    id=d.module_id,
                    site_id=site_id,
                    kind=DeviceKind.MODULE,
                    meter_model=None,
                    serial=d.module_serial,
                    parent_id=None,
                    installed_at=installed_at,
                    registry_device_id=None,  # uploads under its meter's id
                )
            )
            session.flush()  # the meter's parent_id refers to it
            added += 1
        if session.get(Device, d.meter_id) is None:
            session.add(
                Device(
                    id=d.meter_id,
                    site_id=site_id,
                    kind=DeviceKind.METER,
                    meter_model=d.meter_model,
                    serial=d.meter_serial,
                    parent_id=d.module_id,
                    installed_at=installed_at,
                    registry_device_id=d.meter_id,
                )
            )
            added += 1
    return added


def seed_demo(
    sessions: sessionmaker[Session],
    keys: IdentifierKeys,
    *,
    now: dt.datetime,
    installed_at: dt.datetime | None = None,
    password: str = DEMO_PASSWORD,
) -> SeedResult:
    """Add whatever of the demo data is missing, in one transaction.

    ``installed_at`` (default ``now``) is when the demo devices were installed:
    the stack passes the start of the history it backfills.
    """
    installed = installed_at or now
    result = SeedResult()
    # One hash for every demo user: argon2 is slow on purpose, and they share the password.
    password_hash = Passwords().hash(password)
    with sessions.begin() as session:
        for demo in DEMO_CUSTOMERS:
            customer = session.scalar(select(Customer).where(Customer.number == demo.number))
            if customer is None:
                ident = validate_identifier(demo.identifier, demo.id_kind)
                customer = Customer(
                    number=demo.number,
                    kind=demo.kind,
                    name=demo.name,
                    id_kind=ident.kind,
                    id_hmac=hmac_identifier(ident.kind, ident.value, keys.pepper),
                    id_enc=encrypt_identifier(ident.value, keys.fernet_key),
                    email=demo.email,
                    phone=demo.phone,
                    address=demo.address or None,
                    created_at=now,
                )
                session.add(customer)
                session.flush()  # its id, for the sites and the user
                result.customers += 1
            for site in demo.sites:
                if session.get(Site, site.id) is None:
                    session.add(
                        Site(
                            id=site.id,
                            customer_id=customer.id,
                            metering_point=site.metering_point,
                            name=site.name,
                            address=site.address,
                            settlement=site.settlement,
                            voltage=site.voltage,
                            created_at=now,
                        )
                    )
                    session.flush()
                    result.sites += 1
                result.devices += _devices(session, site.id, site.devices, installed)
                result.meters += [d.meter_id for d in site.devices]
            if _user(
                session,
                demo.user,
                role=Role.CUSTOMER,
                customer_id=customer.id,
                password_hash=password_hash,
                now=now,
            ):
                result.users += 1
        for role, staff in DEMO_STAFF:
            if _user(
                session, staff, role=role, customer_id=None, password_hash=password_hash, now=now
            ):
                result.users += 1
        session.flush()
        result.contracts = seed_demo_contracts(session, now)
    return result
