"""Read side of the portal's customer, site and device records for the web layer.

Routes and object checks ask this module, never SQL inline: ``site(id)``,
``device(id)``, ``sites(customer_id)`` and ``customer(id)`` return frozen
records detached from the database session, so a route can hand them to a
template or a response model after the session is closed.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from portal_api.db.enums import Language
from portal_api.db.models import Customer, Device, Site, User

__all__ = ["CustomerRecord", "DeviceRecord", "Directory", "SiteRecord"]


@dataclass(frozen=True)
class DeviceRecord:
    id: str
    site_id: str
    customer_id: int
    kind: str  # "module" or "meter"
    meter_model: str | None
    serial: str | None
    parent_id: str | None
    registry_device_id: str | None

    @property
    def publishes(self) -> bool:
        """True for a device that sends records and live samples under its own id:
        one with an ingest registry row (a module reading one meter uploads under
        the meter's id and has none)."""
        return self.registry_device_id is not None


@dataclass(frozen=True)
class SiteRecord:
    id: str
    customer_id: int
    metering_point: str
    name: str
    address: str
    settlement: str
    voltage: str
    devices: tuple[DeviceRecord, ...]

    @property
    def publishing_devices(self) -> list[str]:
        """Ids the site's data lives under in the time-series store and on MQTT."""
        ids = [d.id for d in self.devices if d.publishes]
        return ids or [d.id for d in self.devices if d.kind == "meter"]

    @property
    def meters(self) -> list[str]:
        return [d.id for d in self.devices if d.kind == "meter"]


@dataclass(frozen=True)
class CustomerRecord:
    id: int
    number: str
    name: str
    kind: str
    email: str


def _device(row: Device, customer_id: int) -> DeviceRecord:
    return DeviceRecord(
        id=row.id,
        site_id=row.site_id,
        customer_id=customer_id,
        kind=str(row.kind),
        meter_model=row.meter_model,
        serial=row.serial,
        parent_id=row.parent_id,
        registry_device_id=row.registry_device_id,
    )


class Directory:
    """Customers, sites and devices as records; one short session per call."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def _site_record(self, session: Session, site: Site) -> SiteRecord:
        devices = session.scalars(
            select(Device).where(Device.site_id == site.id).order_by(Device.kind, Device.id)
        ).all()
        return SiteRecord(
            id=site.id,
            customer_id=site.customer_id,
            metering_point=site.metering_point,
            name=site.name,
            address=site.address,
            settlement=site.settlement,
            voltage=str(site.voltage),
            devices=tuple(_device(d, site.customer_id) for d in devices),
        )

    def site(self, site_id: str) -> SiteRecord | None:
        with self._sessions() as session:
            site = session.get(Site, site_id)
            return None if site is None else self._site_record(session, site)

    def sites(self, customer_id: int | None) -> list[SiteRecord]:
        """The customer's sites (``None``: every site, for staff), by name."""
        with self._sessions() as session:
            query = select(Site).order_by(Site.name, Site.id)
            if customer_id is not None:
                query = query.where(Site.customer_id == customer_id)
            return [self._site_record(session, s) for s in session.scalars(query).all()]

    def device(self, device_id: str) -> DeviceRecord | None:
        with self._sessions() as session:
            row = session.execute(
                select(Device, Site.customer_id)
                .join(Site, Site.id == Device.site_id)
                .where(Device.id == device_id)
            ).first()
            return None if row is None else _device(row[0], row[1])

    def customer(self, customer_id: int) -> CustomerRecord | None:
        with self._sessions() as session:
            row = session.get(Customer, customer_id)
            if row is None:
                return None
            return CustomerRecord(row.id, row.number, row.name, str(row.kind), row.email)

    def customer_id_by_number(self, number: str) -> int | None:
        with self._sessions() as session:
            found: int | None = session.scalar(select(Customer.id).where(Customer.number == number))
            return found

    def set_language(self, user_id: int, language: str) -> None:
        """Remember the language a logged-in user switched to (its later sessions too)."""
        with self._sessions.begin() as session:
            user = session.get(User, user_id)
            if user is not None:
                user.language = Language(language)
