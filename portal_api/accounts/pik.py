"""PIKs of the Virtual Customer Service Centre (issue 6, seed 000): issue, reissue,
revoke, list, and log in with "ЕИК/ЕГН" + PIK.

A PIK is 8 symbols from an alphabet without look-alikes (no 0/O, 1/I), drawn with
``secrets``: 32^8, about 40 bits. That is enough behind argon2, the per-address
throttle and the per-PIK lockout (5 failures, 15 minutes, as for passwords). The
code is returned once, for the letter; only its argon2 hash is stored, it is never
logged and never in an audit entry.

Login checks the identifier's check digits (python-stdnum via
``portal_api.domain.identifiers``) before any lookup: a malformed number is told
"check the number" without touching the database. A foreigner without an EGN
enters the birth date as YYMMDD0000 and must also give the customer number. An
unknown identifier and a wrong PIK get the same answer after the same work (one
argon2 verification against a dummy hash when nothing is found; the lockout of an
unknown identifier is replayed from ``login_attempts`` like an unknown username).

Session model: a PIK login opens an ordinary session of the customer's portal user
(its oldest active customer login; one is created, without a usable password, on
the first PIK login of a customer who has none). The session row records the PIK
(``auth_sessions.pik_id``), so the holder's role ("customer" or "authorised") is on
every audit entry the session causes (see acting.py).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import and_, delete, or_, select
from sqlalchemy.orm import Session, sessionmaker

from portal_api.accounts.audit import write_audit
from portal_api.accounts.errors import AccountError
from portal_api.accounts.passwords import Passwords
from portal_api.accounts.throttle import LoginThrottle
from portal_api.accounts.tokens import new_token, token_hash
from portal_api.accounts.views import LoginResult, Refusal, UserView
from portal_api.config import SecuritySettings
from portal_api.db.enums import IdKind, Language, Role, SessionKind
from portal_api.db.models import AuthSession, Customer, Pik, User
from portal_api.domain.identifiers import IdentifierKeys, hmac_identifier, kinds_matching

Clock = Callable[[], dt.datetime]

# No 0/O, 1/I: the code is typed from a printed letter.
PIK_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
PIK_LENGTH = 8
HOLDER_NAME_MAX = 200
DOCUMENT_MAX = 5 * 1024 * 1024  # a signed PDF request; more is not a request
USER_AGENT_MAX = 300
# The kinds a login identifier may be: EGN (LNCh too: a foreigner with a personal
# number), EIK and BULSTAT. FOREIGN_BIRTH is handled apart (it needs the number).
_LOGIN_KINDS = (IdKind.EGN, IdKind.LNCH, IdKind.EIK, IdKind.BULSTAT)


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


def generate_pik() -> str:
    return "".join(secrets.choice(PIK_ALPHABET) for _ in range(PIK_LENGTH))


def normalise_pik(value: str) -> str:
    """Upper case without spaces or dashes: the letter may be copied with them."""
    return "".join(value.split()).replace("-", "").upper()


@dataclass(frozen=True)
class LoginIdentifier:
    """A login identifier that checked out: the kinds to look up (HMACs, never the number)
    and, for a foreigner's birth date, the customer number that must go with it."""

    hmacs: tuple[tuple[IdKind, str], ...]
    customer_number: str | None


def looks_foreign(identifier: str) -> bool:
    """YYMMDD0000 with a real date: the foreigner's form (the form then asks for the number)."""
    return IdKind.FOREIGN_BIRTH in kinds_matching(identifier)


def parse_login_identifier(
    identifier: str, customer_number: str | None, keys: IdentifierKeys
) -> LoginIdentifier:
    """Check the identifier (and the customer number a foreigner needs) before any lookup.

    Raises ``AccountError("check_identifier")`` for a number whose check digits fail,
    ``AccountError("customer_number_required")`` for YYMMDD0000 without a valid number.
    """
    kinds = kinds_matching(identifier)
    if IdKind.FOREIGN_BIRTH in kinds:
        number = "".join((customer_number or "").split())
        if len(number) != 10 or not number.isdigit():
            raise AccountError("customer_number_required")
        return LoginIdentifier(
            (
                (
                    IdKind.FOREIGN_BIRTH,
                    hmac_identifier(IdKind.FOREIGN_BIRTH, identifier, keys.pepper),
                ),
            ),
            number,
        )
    usable = [kind for kind in _LOGIN_KINDS if kind in kinds]
    if not usable:
        raise AccountError("check_identifier")
    return LoginIdentifier(
        tuple((kind, hmac_identifier(kind, identifier, keys.pepper)) for kind in usable), None
    )


class PikService:
    """Issue and check PIKs; every method runs in its own transaction with an audit entry."""

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
        self.throttle = LoginThrottle(settings)
        self._keys = settings.identifier_keys()

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

    @staticmethod
    def _revoke_row(
        session: Session, row: Pik, actor_user_id: int | None, now: dt.datetime
    ) -> None:
        row.revoked_at = now
        row.revoked_by = actor_user_id
        session.execute(delete(AuthSession).where(AuthSession.pik_id == row.id))

    # -- login ----------------------------------------------------------------------------

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
        """Open a session with "ЕИК/ЕГН" + PIK, or refuse with the generic reasons.

        Raises :class:`AccountError` (``check_identifier``, ``customer_number_required``)
        for input that fails its check digits: before any database access.
        """
        parsed = parse_login_identifier(identifier, customer_number, self._keys)
        kind = SessionKind(kind)
        code = normalise_pik(pik)[:64]
        now = self._clock()
        # Attempts are counted per identifier under a hash of its HMAC: never the number.
        attempt_key = token_hash("pik:" + "|".join(h for _, h in parsed.hmacs))
        with self._sessions.begin() as session:
            self.throttle.prune(session, now)
            retry = self.throttle.ip_retry_after(session, ip, now)
            if retry is not None:
                write_audit(session, now, "login_throttled", ip=ip, detail={"retry_after": retry})
                return LoginResult(refusal=Refusal.THROTTLED, retry_after=retry)
            piks = self._candidates(session, parsed)
            if not piks:
                self.passwords.dummy_verify(code)  # as long as a real check
                return self._refuse_unknown(session, attempt_key, ip, now)
            match = next((p for p in piks if self.passwords.verify(p.pik_hash, code)), None)
            locked = [p.locked_until for p in piks if p.locked_until and p.locked_until > now]
            if match is not None and match.locked_until and match.locked_until > now:
                return self._refuse_locked(session, match.locked_until, attempt_key, ip, now)
            if match is None:
                return self._refuse_wrong(
                    session, piks, locked=locked, attempt_key=attempt_key, ip=ip, now=now
                )
            user = self._portal_user(session, match.customer_id, now)
            if user is None:
                return self._refuse_wrong(
                    session, piks, locked=locked, attempt_key=attempt_key, ip=ip, now=now
                )
            match.failed_logins = 0
            match.locked_until = None
            return self._open_session(
                session,
                user,
                pik=match,
                kind=kind,
                ip=ip,
                user_agent=user_agent,
                attempt_key=attempt_key,
                now=now,
            )

    def _candidates(self, session: Session, parsed: LoginIdentifier) -> list[Pik]:
        """The active PIKs of the customers the identifier names (locked rows for update)."""
        query = select(Customer.id).where(
            or_(
                *(
                    and_(Customer.id_kind == kind, Customer.id_hmac == value)
                    for kind, value in parsed.hmacs
                )
            )
        )
        if parsed.customer_number is not None:
            query = query.where(Customer.number == parsed.customer_number)
        customer_ids = list(session.scalars(query))
        if not customer_ids:
            return []
        return list(
            session.scalars(
                select(Pik)
                .where(Pik.customer_id.in_(customer_ids), Pik.revoked_at.is_(None))
                .order_by(Pik.id)
                .with_for_update()
            )
        )

    def _refuse_unknown(
        self, session: Session, attempt_key: str, ip: str, now: dt.datetime
    ) -> LoginResult:
        locked_until = self.throttle.name_locked_until(session, attempt_key, now)
        self.throttle.record(session, attempt_key, ip, False, now)
        if locked_until is not None:
            write_audit(session, now, "pik_login_refused_locked", ip=ip)
            return _locked(locked_until, now)
        write_audit(session, now, "pik_login_failed", ip=ip, detail={"reason": "unknown"})
        return LoginResult(refusal=Refusal.INVALID)

    def _refuse_locked(
        self, session: Session, until: dt.datetime, attempt_key: str, ip: str, now: dt.datetime
    ) -> LoginResult:
        self.throttle.record(session, attempt_key, ip, False, now)
        write_audit(session, now, "pik_login_refused_locked", ip=ip)
        return _locked(until, now)

    def _refuse_wrong(
        self,
        session: Session,
        piks: list[Pik],
        *,
        locked: list[dt.datetime],
        attempt_key: str,
        ip: str,
        now: dt.datetime,
    ) -> LoginResult:
        """A wrong code counts against every active PIK of the identifier: which holder
        tried is unknown, and locking one would leave the others to guess on."""
        if locked:
            return self._refuse_locked(session, max(locked), attempt_key, ip, now)
        self.throttle.record(session, attempt_key, ip, False, now)
        for row in piks:
            row.failed_logins += 1
            if row.failed_logins >= self.settings.login_max_failures:
                row.locked_until = now + dt.timedelta(seconds=self.settings.lockout_s)
                row.failed_logins = 0
                write_audit(session, now, "pik_locked", object_type="pik", object_id=row.id, ip=ip)
        write_audit(session, now, "pik_login_failed", ip=ip, detail={"reason": "wrong_pik"})
        # The attempt that locks still says "wrong", as for a password; the next says "locked".
        return LoginResult(refusal=Refusal.INVALID)

    def _portal_user(self, session: Session, customer_id: int, now: dt.datetime) -> User | None:
        """The customer's oldest active login; a new one (no usable password) if it has none.

        A customer whose logins were all deactivated gets None: a PIK must not bring
        back what an administrator switched off.
        """
        users = session.scalars(
            select(User)
            .where(User.customer_id == customer_id, User.role == Role.CUSTOMER)
            .order_by(User.id)
        ).all()
        active = [u for u in users if u.active]
        if active:
            return active[0]
        if users:
            return None
        customer = session.get(Customer, customer_id)
        if customer is None:  # pragma: no cover - the foreign key keeps it
            return None
        user = User(
            username=f"pik-{customer.number}",
            # The hash of a secret nobody keeps: this login works with the PIK only.
            password_hash=self.passwords.hash(new_token()),
            role=Role.CUSTOMER,
            customer_id=customer.id,
            email=None,
            display_name=customer.name,
            language=Language.BG,
            active=True,
            failed_logins=0,
            password_changed_at=now,
            created_at=now,
        )
        session.add(user)
        session.flush()
        write_audit(
            session,
            now,
            "user_created",
            object_type="user",
            object_id=user.id,
            detail={"role": Role.CUSTOMER.value, "via": "pik_login"},
        )
        return user

    def _open_session(
        self,
        session: Session,
        user: User,
        *,
        pik: Pik,
        kind: SessionKind,
        ip: str,
        user_agent: str | None,
        attempt_key: str,
        now: dt.datetime,
    ) -> LoginResult:
        token, csrf = new_token(), new_token()
        seconds = (
            self.settings.session_ttl_s
            if kind is SessionKind.COOKIE
            else self.settings.api_token_ttl_s
        )
        ttl = dt.timedelta(seconds=seconds)
        row = AuthSession(
            token_hash=token_hash(token),
            user_id=user.id,
            kind=kind,
            csrf_token=csrf,
            created_at=now,
            expires_at=now + ttl,
            last_used_at=now,
            ip=ip,
            user_agent=(user_agent or "")[:USER_AGENT_MAX] or None,
            pik_id=pik.id,
        )
        session.add(row)
        self.throttle.record(session, attempt_key, ip, True, now)
        write_audit(
            session,
            now,
            "login",
            actor_user_id=user.id,
            ip=ip,
            detail={
                "kind": kind.value,
                "method": "pik",
                "pik_id": pik.id,
                "acting_role": pik.holder_role,
            },
        )
        return LoginResult(
            token=token,
            csrf_token=csrf,
            expires_at=row.expires_at,
            expires_in=int(ttl.total_seconds()),
            user=UserView.of(user),
        )


def refusal_error(result: LoginResult) -> AccountError:
    """A refused PIK login as the user reads it: "wrong EIK/EGN or PIK", locked, throttled."""
    if result.refusal is Refusal.INVALID or result.refusal is None:
        return AccountError("invalid_pik")
    return result.error()


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


def _locked(until: dt.datetime, now: dt.datetime) -> LoginResult:
    wait = max(1, int((until - now).total_seconds() + 0.999))
    return LoginResult(refusal=Refusal.LOCKED, retry_after=wait)


__all__ = [
    "PIK_ALPHABET",
    "PIK_LENGTH",
    "Channel",
    "CustomerRef",
    "HolderRole",
    "IssuedPik",
    "PikService",
    "PikView",
    "QesRequest",
    "generate_pik",
    "looks_foreign",
    "normalise_pik",
    "parse_login_identifier",
    "refusal_error",
]
