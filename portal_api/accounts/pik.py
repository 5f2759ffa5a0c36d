"""PIKs of the Virtual Customer Service Centre (issue 6, seed 000): issue, reissue,
revoke and list them; ``login`` hands over to pik_login.

A PIK is issued free of charge by a service-centre operator, to the customer or a
person it authorised, in person or on a request signed with a qualified electronic
signature (the document, its SHA-256 and the recorded signer are kept). The code
(pik_codes) is returned once, for the letter; only its argon2 hash is stored, it
is never logged and never in an audit entry.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from portal_api.accounts.audit import write_audit
from portal_api.accounts.errors import AccountError
from portal_api.accounts.passwords import Passwords
from portal_api.accounts.pik_codes import generate_pik
from portal_api.accounts.pik_login import PikLogin
from portal_api.accounts.views import LoginResult
from portal_api.config import SecuritySettings
from portal_api.db.enums import SessionKind
from portal_api.db.models import AuthSession, Customer, Pik

Clock = Callable[[], dt.datetime]

HOLDER_NAME_MAX = 200
DOCUMENT_MAX = 5 * 1024 * 1024  # a signed PDF request; more is not a request


class HolderRole(StrEnum):
    CUSTOMER = "customer"  # the customer itself (or its legal representative)
    AUTHORISED = "authorised"  # a person the customer authorised


class Channel(StrEnum):
    IN_PERSON = "in_person"  # at a customer service centre
    QES_REQUEST = "qes_request"  # a request signed with a qualified e-signature


@dataclass(frozen=True)
class QesRequest:
    """The signed request document of a PIK asked for electronically."""

    content: bytes
    filename: str
    signer: str

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()


@dataclass(frozen=True)
class PikView:
    """A PIK as staff see it: never the code, never the hash."""

    id: int
    customer_id: int
    holder_role: HolderRole
    holder_name: str
    channel: Channel
    request_filename: str | None
    request_sha256: str | None
    request_signer: str | None
    issued_by: int | None
    issued_at: dt.datetime
    revoked_at: dt.datetime | None
    replaced_by: int | None
    locked_until: dt.datetime | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    @classmethod
    def of(cls, row: Pik) -> PikView:
        return cls(
            id=row.id,
            customer_id=row.customer_id,
            holder_role=HolderRole(row.holder_role),
            holder_name=row.holder_name,
            channel=Channel(row.channel),
            request_filename=row.request_filename,
            request_sha256=row.request_sha256,
            request_signer=row.request_signer,
            issued_by=row.issued_by,
            issued_at=row.issued_at,
            revoked_at=row.revoked_at,
            replaced_by=row.replaced_by,
            locked_until=row.locked_until,
        )


@dataclass(frozen=True)
class CustomerRef:
    """The customer a PIK is for, as the letter and the staff page show it."""

    id: int
    number: str
    name: str


@dataclass(frozen=True)
class IssuedPik:
    """A new PIK: ``code`` is shown once (letter, PDF) and stored nowhere in clear."""

    pik: PikView
    customer: CustomerRef
    code: str

    def __repr__(self) -> str:
        return f"IssuedPik(pik_id={self.pik.id}, customer={self.customer.number}, code=<hidden>)"


class PikService:
    """Issue, reissue, revoke and list PIKs (each in its own transaction, audited), and
    log in with one (``login``: pik_login.PikLogin)."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        clock: Clock,
        settings: SecuritySettings,
        passwords: Passwords,
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self.settings = settings
        self.passwords = passwords
        self._login = PikLogin(sessions, clock, settings, passwords)

    # -- staff: issue, reissue, revoke, list ---------------------------------------------

    def find_customer(self, number: str) -> CustomerRef | None:
        number = number.strip()
        if len(number) != 10 or not number.isdigit():
            return None
        with self._sessions() as session:
            row = session.scalars(select(Customer).where(Customer.number == number)).one_or_none()
            return None if row is None else CustomerRef(row.id, row.number, row.name)

    def list_for(self, customer_id: int) -> list[PikView]:
        """Every PIK of the customer, newest first (revoked ones too: the history)."""
        with self._sessions() as session:
            rows = session.scalars(
                select(Pik).where(Pik.customer_id == customer_id).order_by(Pik.id.desc())
            ).all()
            return [PikView.of(row) for row in rows]

    def issue(
        self,
        customer_id: int,
        *,
        holder_role: HolderRole | str,
        holder_name: str = "",
        channel: Channel | str = Channel.IN_PERSON,
        qes: QesRequest | None = None,
        actor_user_id: int | None,
        ip: str | None = None,
    ) -> IssuedPik:
        """A new PIK for the customer or a person it authorised; the code is returned only."""
        role, channel = HolderRole(holder_role), Channel(channel)
        now = self._clock()
        with self._sessions.begin() as session:
            customer = session.get(Customer, customer_id)
            if customer is None:
                raise AccountError("not_found")
            name = _holder_name(role, holder_name, customer)
            _check_qes(channel, qes)
            code = generate_pik()
            row = self._new_row(
                session,
                customer,
                role=role,
                name=name,
                channel=channel,
                qes=qes,
                code=code,
                actor_user_id=actor_user_id,
                now=now,
            )
            write_audit(
                session,
                now,
                "pik_issued",
                actor_user_id=actor_user_id,
                object_type="pik",
                object_id=row.id,
                ip=ip,
                detail={
                    "customer_id": customer.id,
                    "holder_role": role.value,
                    "channel": channel.value,
                },
            )
            return IssuedPik(PikView.of(row), _ref(customer), code)

    def reissue(
        self, pik_id: int, *, actor_user_id: int | None, ip: str | None = None
    ) -> IssuedPik:
        """Revoke the PIK and issue its holder a new one (lost letter, forgotten code)."""
        now = self._clock()
        with self._sessions.begin() as session:
            old = session.get(Pik, pik_id, with_for_update=True)
            if old is None:
                raise AccountError("not_found")
            if old.revoked_at is not None:
                raise AccountError("pik_revoked")
            customer = session.get(Customer, old.customer_id)
            if customer is None:  # pragma: no cover - the foreign key keeps it
                raise AccountError("not_found")
            qes = (
                QesRequest(
                    old.request_document, old.request_filename or "", old.request_signer or ""
                )
                if old.request_document is not None
                else None
            )
            code = generate_pik()
            row = self._new_row(
                session,
                customer,
                role=HolderRole(old.holder_role),
                name=old.holder_name,
                channel=Channel(old.channel),
                qes=qes,
                code=code,
                actor_user_id=actor_user_id,
                now=now,
            )
            self._revoke_row(session, old, actor_user_id, now)
            old.replaced_by = row.id
            write_audit(
                session,
                now,
                "pik_reissued",
                actor_user_id=actor_user_id,
                object_type="pik",
                object_id=row.id,
                ip=ip,
                detail={"customer_id": customer.id, "replaces": old.id},
            )
            return IssuedPik(PikView.of(row), _ref(customer), code)

    def revoke(self, pik_id: int, *, actor_user_id: int | None, ip: str | None = None) -> PikView:
        """Revoke the PIK; the sessions it opened end with it."""
        now = self._clock()
        with self._sessions.begin() as session:
            row = session.get(Pik, pik_id, with_for_update=True)
            if row is None:
                raise AccountError("not_found")
            if row.revoked_at is not None:
                raise AccountError("pik_revoked")
            self._revoke_row(session, row, actor_user_id, now)
            write_audit(
                session,
                now,
                "pik_revoked",
                actor_user_id=actor_user_id,
                object_type="pik",
                object_id=row.id,
                ip=ip,
                detail={"customer_id": row.customer_id},
            )
            return PikView.of(row)

    def _new_row(
        self,
        session: Session,
        customer: Customer,
        *,
        role: HolderRole,
        name: str,
        channel: Channel,
        qes: QesRequest | None,
        code: str,
        actor_user_id: int | None,
        now: dt.datetime,
    ) -> Pik:
        row = Pik(
            customer_id=customer.id,
            holder_role=role.value,
            holder_name=name,
            channel=channel.value,
            request_document=qes.content if qes else None,
            request_filename=qes.filename[:200] if qes else None,
            request_sha256=qes.sha256 if qes else None,
            request_signer=qes.signer[:200] if qes else None,
            pik_hash=self.passwords.hash(code),
            issued_by=actor_user_id,
            issued_at=now,
            failed_logins=0,
        )
        session.add(row)
        session.flush()
        return row

    def login(
        self,
        identifier: str,
        pik: str,
        ip: str,
        *,
        customer_number: str | None = None,
        kind: SessionKind | str = SessionKind.COOKIE,
        user_agent: str | None = None,
    ) -> LoginResult:
        """Open a session with "ЕИК/ЕГН" + PIK (see :meth:`PikLogin.login`)."""
        return self._login.login(
            identifier, pik, ip, customer_number=customer_number, kind=kind, user_agent=user_agent
        )

    @staticmethod
    def _revoke_row(
        session: Session, row: Pik, actor_user_id: int | None, now: dt.datetime
    ) -> None:
        row.revoked_at = now
        row.revoked_by = actor_user_id
        session.execute(delete(AuthSession).where(AuthSession.pik_id == row.id))


def _ref(customer: Customer) -> CustomerRef:
    return CustomerRef(customer.id, customer.number, customer.name)


def _holder_name(role: HolderRole, name: str, customer: Customer) -> str:
    name = " ".join(name.split())
    if role is HolderRole.CUSTOMER:
        return (name or customer.name)[:HOLDER_NAME_MAX]
    if not name or len(name) > HOLDER_NAME_MAX:
        raise AccountError("invalid_holder")
    return name


def _check_qes(channel: Channel, qes: QesRequest | None) -> None:
    if channel is Channel.QES_REQUEST and (
        qes is None or not qes.content or len(qes.content) > DOCUMENT_MAX or not qes.signer.strip()
    ):
        raise AccountError("qes_document_required")


__all__ = [
    "DOCUMENT_MAX",
    "Channel",
    "CustomerRef",
    "HolderRole",
    "IssuedPik",
    "PikService",
    "PikView",
    "QesRequest",
]
