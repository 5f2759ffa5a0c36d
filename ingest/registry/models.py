"""SQLAlchemy 2 tables of the registry: ``registry_device`` and ``registry_service_account``.

The schema changes only through Alembic revisions in ingest/migrations/; a test
compares these models with the migrated database so the two cannot drift.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, DateTime, Enum, MetaData, String, TypeDecorator
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from ingest.registry.domain import DeviceState, ServiceRole

# Deterministic constraint names: PostgreSQL and Alembic need them to alter or
# drop a constraint later, and SQLite batch migrations rely on them too.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Aware UTC datetimes on every backend.

    SQLite has no time zone type and returns naive values; storing naive UTC and
    re-attaching UTC on the way out gives the same aware values PostgreSQL's
    ``timestamptz`` would.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(
        self, value: dt.datetime | None, dialect: Dialect
    ) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


def _values(enum: type[DeviceState] | type[ServiceRole]) -> list[str]:
    return [member.value for member in enum]


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class DeviceRow(Base):
    """One communication module; its id is its MQTT username and topic segment."""

    __tablename__ = "registry_device"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    site_id: Mapped[str] = mapped_column(String(64), index=True)
    meter_model: Mapped[str] = mapped_column(String(32))
    state: Mapped[DeviceState] = mapped_column(
        # a VARCHAR with a CHECK, not a native ENUM: adding a state later is a
        # plain constraint change on both SQLite and PostgreSQL
        Enum(
            DeviceState,
            name="device_state",
            native_enum=False,
            create_constraint=True,
            length=16,
            values_callable=_values,
        )
    )
    installed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    password_hash: Mapped[str] = mapped_column(String(255))  # argon2id
    broker_hash: Mapped[str] = mapped_column(String(255))  # Mosquitto $7$ PBKDF2-SHA512
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())

    __table_args__ = (CheckConstraint("length(id) >= 3", name="id_length"),)


class ServiceAccountRow(Base):
    """A cloud service's broker login (ingest workers, the portal)."""

    __tablename__ = "registry_service_account"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    role: Mapped[ServiceRole] = mapped_column(
        Enum(
            ServiceRole,
            name="service_role",
            native_enum=False,
            create_constraint=True,
            length=16,
            values_callable=_values,
        )
    )
    password_hash: Mapped[str] = mapped_column(String(255))
    broker_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
