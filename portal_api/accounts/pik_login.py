"""Log in with "ЕИК/ЕГН" + PIK (issue 6, seed 000).

The identifier is checked before any lookup (pik_codes). An unknown identifier and
a wrong PIK get the same answer after the same work (one argon2 verification
against a dummy hash when nothing is found; the lockout of an unknown identifier
is replayed from ``login_attempts`` like an unknown username). A wrong code counts
against every active PIK of the identifier; five failures lock them for 15 minutes.

Session model: a PIK login opens an ordinary session of the customer's portal user
(its oldest active customer login; one is created, without a usable password, on
the first PIK login of a customer who has none). The session row records the PIK
(``auth_sessions.pik_id``), so the holder's role ("customer" or "authorised") is on
every audit entry the session causes (see acting.py).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session, sessionmaker

from portal_api.accounts.audit import write_audit
from portal_api.accounts.errors import AccountError
from portal_api.accounts.passwords import Passwords
from portal_api.accounts.pik_codes import LoginIdentifier, normalise_pik, parse_login_identifier
from portal_api.accounts.throttle import LoginThrottle
from portal_api.accounts.tokens import new_token, token_hash
from portal_api.accounts.views import LoginResult, Refusal, UserView
from portal_api.config import SecuritySettings
from portal_api.db.enums import Language, Role, SessionKind
from portal_api.db.models import AuthSession, Customer, Pik, User

__all__ = ["PikLogin", "refusal_error"]

Clock = Callable[[], dt.datetime]
USER_AGENT_MAX = 300


class PikLogin:
    """Check "ЕИК/ЕГН" + PIK and open a session; every attempt is throttled and audited."""

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


def _locked(until: dt.datetime, now: dt.datetime) -> LoginResult:
    wait = max(1, int((until - now).total_seconds() + 0.999))
    return LoginResult(refusal=Refusal.LOCKED, retry_after=wait)
