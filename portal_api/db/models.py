"""SQLAlchemy 2 models of the portal: exactly the tables of docs/decisions/0004.

The schema changes only through Alembic revisions in portal_api/migrations/; a
test compares these models with the migrated database (SQLite and PostgreSQL)
so the two cannot drift. Every timestamp is an aware UTC datetime
(``UTCDateTime``, shared with ingest's registry). Personal numbers are stored
only as an HMAC (lookups) and a Fernet ciphertext (staff display).
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Enum,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from ingest.registry.models import NAMING_CONVENTION, UTCDateTime
from portal_api.db.enums import (
    CustomerKind,
    DeviceKind,
    IdKind,
    Language,
    RequestState,
    Role,
    SessionKind,
    Voltage,
)

EMAIL = 254  # RFC 5321 path limit
IP = 45  # longest textual IPv6 (with an embedded IPv4)
SHA256_HEX = 64


def _enum(enum: type[StrEnum], name: str, length: int = 16) -> Enum:
    return Enum(
        enum,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=length,
        values_callable=lambda e: [member.value for member in e],
    )


def _utc(nullable: bool = False, *, index: bool = False) -> Any:
    return mapped_column(UTCDateTime(), nullable=nullable, index=index)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Customer(Base):
    """A customer of the General Terms: natural person, sole trader or legal entity."""

    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(10), unique=True)  # customer number (seed 000)
    kind: Mapped[CustomerKind] = mapped_column(_enum(CustomerKind, "customer_kind"))
    name: Mapped[str] = mapped_column(String(200))
    id_kind: Mapped[IdKind] = mapped_column(_enum(IdKind, "id_kind"))
    id_hmac: Mapped[str] = mapped_column(String(SHA256_HEX), index=True)
    id_enc: Mapped[str] = mapped_column(Text)
    email: Mapped[str] = mapped_column(String(EMAIL))
    phone: Mapped[str | None] = mapped_column(String(32))
    # Postal address: the buyer's address on the invoice (ЗДДС art. 114(1)(5)).
    address: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[dt.datetime] = _utc()

    __table_args__ = (CheckConstraint("length(number) = 10", name="number_length"),)


class Site(Base):
    """A metering point; its id is ingest's ``site_id``."""

    __tablename__ = "sites"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    metering_point: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str] = mapped_column(String(300))
    settlement: Mapped[str] = mapped_column(String(100))
    voltage: Mapped[Voltage] = mapped_column(_enum(Voltage, "voltage"))
    created_at: Mapped[dt.datetime] = _utc()


class Device(Base):
    """A communication module or a multimeter of a site; its id is the ingest/MQTT id."""

    __tablename__ = "devices"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    site_id: Mapped[str] = mapped_column(ForeignKey("sites.id"), index=True)
    kind: Mapped[DeviceKind] = mapped_column(_enum(DeviceKind, "device_kind"))
    meter_model: Mapped[str | None] = mapped_column(String(32))  # hardware map, meters only
    serial: Mapped[str | None] = mapped_column(String(64))
    parent_id: Mapped[str | None] = mapped_column(ForeignKey("devices.id"))  # reading module
    installed_at: Mapped[dt.datetime | None] = _utc(nullable=True)
    # The ingest registry row; null for a module that uploads under its meter's id.
    registry_device_id: Mapped[str | None] = mapped_column(String(32))


class User(Base):
    """A login: a customer's, or staff (operator, installer, admin)."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)  # lower-case
    password_hash: Mapped[str] = mapped_column(String(255))  # argon2id
    role: Mapped[Role] = mapped_column(_enum(Role, "user_role"))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    email: Mapped[str | None] = mapped_column(String(EMAIL))
    display_name: Mapped[str] = mapped_column(String(200))
    language: Mapped[Language] = mapped_column(_enum(Language, "language"))
    active: Mapped[bool] = mapped_column(Boolean)
    failed_logins: Mapped[int] = mapped_column(Integer)  # consecutive
    locked_until: Mapped[dt.datetime | None] = _utc(nullable=True)
    password_changed_at: Mapped[dt.datetime] = _utc()
    created_at: Mapped[dt.datetime] = _utc()

    __table_args__ = (
        # A customer's login belongs to exactly one customer; staff to none.
        CheckConstraint(
            "(role = 'customer' AND customer_id IS NOT NULL)"
            " OR (role <> 'customer' AND customer_id IS NULL)",
            name="customer_link",
        ),
        CheckConstraint("username = lower(username)", name="username_lower"),
    )


class AuthSession(Base):
    """A page session or an API token: only the SHA-256 of the token is kept."""

    __tablename__ = "auth_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(SHA256_HEX), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[SessionKind] = mapped_column(_enum(SessionKind, "session_kind"))
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = _utc()
    expires_at: Mapped[dt.datetime] = _utc(index=True)
    last_used_at: Mapped[dt.datetime] = _utc()
    ip: Mapped[str | None] = mapped_column(String(IP))
    user_agent: Mapped[str | None] = mapped_column(String(300))
    # The PIK a session was opened with (issue 6): its holder's role is on every audit entry.
    pik_id: Mapped[int | None] = mapped_column(ForeignKey("piks.id"))


class Pik(Base):
    """A personal identification code (ПИК, seed 000): only its argon2 hash is kept.

    The holder is the customer or a person it authorised; the channel is a service
    centre visit or a request signed with a qualified electronic signature (its
    document is kept). A reissue revokes the row and points ``replaced_by`` at the new one.
    """

    __tablename__ = "piks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    holder_role: Mapped[str] = mapped_column(String(16))  # customer | authorised
    holder_name: Mapped[str] = mapped_column(String(200))
    channel: Mapped[str] = mapped_column(String(16))  # in_person | qes_request
    request_document: Mapped[bytes | None] = mapped_column(LargeBinary)
    request_filename: Mapped[str | None] = mapped_column(String(200))
    request_sha256: Mapped[str | None] = mapped_column(String(SHA256_HEX))
    request_signer: Mapped[str | None] = mapped_column(String(200))
    pik_hash: Mapped[str] = mapped_column(String(255))  # argon2id, like passwords
    issued_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    issued_at: Mapped[dt.datetime] = _utc()
    revoked_at: Mapped[dt.datetime | None] = _utc(nullable=True)
    revoked_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    replaced_by: Mapped[int | None] = mapped_column(ForeignKey("piks.id"))
    failed_logins: Mapped[int] = mapped_column(Integer)  # consecutive
    locked_until: Mapped[dt.datetime | None] = _utc(nullable=True)

    __table_args__ = (
        CheckConstraint("holder_role IN ('customer', 'authorised')", name="holder_role"),
        CheckConstraint("channel IN ('in_person', 'qes_request')", name="channel"),
        # A QES request is kept with its signed document, its digest and its signer.
        CheckConstraint(
            "channel <> 'qes_request' OR (request_document IS NOT NULL"
            " AND request_sha256 IS NOT NULL AND request_signer IS NOT NULL)",
            name="qes_document",
        ),
    )


class LoginAttempt(Base):
    """One login attempt, for sliding-window throttling shared by every instance."""

    __tablename__ = "login_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[dt.datetime] = _utc(index=True)
    username_hash: Mapped[str] = mapped_column(String(SHA256_HEX))  # never the name itself
    ip: Mapped[str] = mapped_column(String(IP))
    success: Mapped[bool] = mapped_column(Boolean)

    __table_args__ = (
        Index("ix_login_attempts_ip_at", "ip", "at"),
        Index("ix_login_attempts_username_hash_at", "username_hash", "at"),
    )


class PasswordReset(Base):
    """A self-service reset link: single use, short-lived, only its hash kept."""

    __tablename__ = "password_resets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(SHA256_HEX), unique=True)
    created_at: Mapped[dt.datetime] = _utc()
    expires_at: Mapped[dt.datetime] = _utc()
    used_at: Mapped[dt.datetime | None] = _utc(nullable=True)


class CredentialRequest(Base):
    """Clause 5.4: lost credentials, new ones within 3 working days."""

    __tablename__ = "credential_requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    contact_email: Mapped[str] = mapped_column(String(EMAIL))
    note: Mapped[str] = mapped_column(Text)
    received_at: Mapped[dt.datetime] = _utc()
    due_at: Mapped[dt.datetime] = _utc()
    state: Mapped[RequestState] = mapped_column(_enum(RequestState, "request_state"), index=True)
    handled_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    handled_at: Mapped[dt.datetime | None] = _utc(nullable=True)


class AuditEntry(Base):
    """Who did what, when: never a personal number or a secret in ``detail``."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[dt.datetime] = _utc(index=True)
    actor_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    action: Mapped[str] = mapped_column(String(64))
    object_type: Mapped[str | None] = mapped_column(String(32))
    object_id: Mapped[str | None] = mapped_column(String(64))
    ip: Mapped[str | None] = mapped_column(String(IP))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON)


class OutboxMessage(Base):
    """An e-mail to send, written in the transaction that decided to send it."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[dt.datetime] = _utc()
    to_addr: Mapped[str] = mapped_column(String(EMAIL))
    subject: Mapped[str] = mapped_column(String(300))
    body_text: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(32))  # e.g. password_reset, credentials
    language: Mapped[Language] = mapped_column(_enum(Language, "language"))
    attempts: Mapped[int] = mapped_column(Integer)
    # Also the claim of a sender at work (see notify/smtp.py); null once sent.
    next_attempt_at: Mapped[dt.datetime | None] = _utc(nullable=True, index=True)
    sent_at: Mapped[dt.datetime | None] = _utc(nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text)


__all__ = [
    "AuditEntry",
    "AuthSession",
    "Base",
    "CredentialRequest",
    "Customer",
    "Device",
    "LoginAttempt",
    "OutboxMessage",
    "PasswordReset",
    "Pik",
    "Site",
    "User",
]

# The contract engine's tables (issue 5), the service requests of the Virtual
# Customer Service Centre (issue 6) and the installers' tables (issue 7) share this
# metadata and its one Alembic history; imported here so that `alembic check` and
# the migrations tests see them.
import portal_api.contracts.db.models  # noqa: E402
import portal_api.installations.models  # noqa: E402
import portal_api.service_requests.models  # noqa: E402, F401
