"""The accounts service (docs/decisions/0004): login, sessions, passwords, resets.

Clause 5.4 (lost credentials) is in requests.py and user administration in
admin.py; ``Accounts`` is the one object the web layer and the CLI hold, and
hands those calls on. Every method runs in its own transaction, takes the time
from the injected clock, and writes the audit log in the same transaction.

No answer reveals whether an account exists: a refused login says only
"wrong username or password" (or "locked" / "throttled", which an unknown name
reaches the same way, see throttle.py), costs one argon2 verification either
way, and a reset request behaves the same whether or not it matched.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from portal_api.accounts.admin import UserAdmin
from portal_api.accounts.audit import write_audit
from portal_api.accounts.errors import AccountError
from portal_api.accounts.mail import reset_mail
from portal_api.accounts.passwords import Passwords, check_new_password
from portal_api.accounts.requests import CredentialRequests
from portal_api.accounts.throttle import LoginThrottle
from portal_api.accounts.tokens import new_token, normalise_username, token_hash, username_hash
from portal_api.accounts.views import (
    AuthContext,
    CreatedUser,
    CredentialRequestView,
    LoginResult,
    Refusal,
    UserView,
)
from portal_api.config import SecuritySettings
from portal_api.db.enums import Language, RequestState, Role, SessionKind
from portal_api.db.models import AuthSession, Customer, PasswordReset, Pik, User
from portal_api.domain.workdays import WorkingDays
from portal_api.notify.outbox import Outbox

Clock = Callable[[], dt.datetime]
# A page session slides while used, but never outlives this (or its TTL if longer).
ABSOLUTE_SESSION = dt.timedelta(hours=24)
# last_used_at is written at most this often: not one UPDATE per request.
TOUCH_EVERY = dt.timedelta(seconds=60)
USER_AGENT_MAX = 300


class Accounts:
    """Accounts, sessions and credentials of the portal."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        clock: Clock,
        settings: SecuritySettings,
        outbox: Outbox,
        calendar: WorkingDays,
        *,
        passwords: Passwords | None = None,
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self.settings = settings
        self._outbox = outbox
        self.passwords = passwords or Passwords()
        self.throttle = LoginThrottle(settings)
        self.requests = CredentialRequests(
            sessions, clock, settings, outbox, calendar, passwords=self.passwords
        )
        self.admin = UserAdmin(sessions, clock, settings, self.passwords)

    # -- login and sessions ----------------------------------------------------------

    def _ttl(self, kind: SessionKind) -> dt.timedelta:
        seconds = (
            self.settings.session_ttl_s
            if kind is SessionKind.COOKIE
            else self.settings.api_token_ttl_s
        )
        return dt.timedelta(seconds=seconds)

    def login(
        self,
        username: str,
        password: str,
        ip: str,
        kind: SessionKind | str = SessionKind.COOKIE,
        user_agent: str | None = None,
    ) -> LoginResult:
        """Check the credentials and open a session, or say why not (generic reasons)."""
        kind = SessionKind(kind)
        now = self._clock()
        name = normalise_username(username)
        name_hash = username_hash(name)
        with self._sessions.begin() as session:
            self.throttle.prune(session, now)
            retry = self.throttle.ip_retry_after(session, ip, now)
            if retry is not None:
                write_audit(session, now, "login_throttled", ip=ip, detail={"retry_after": retry})
                return LoginResult(refusal=Refusal.THROTTLED, retry_after=retry)
            user = session.scalars(
                select(User).where(User.username == name).with_for_update()
            ).one_or_none()
            if user is None:
                return self._refuse_unknown(session, name_hash, password, ip, now)
            return self._login_user(
                session, user, password, ip=ip, kind=kind, user_agent=user_agent, now=now
            )

    def _refuse_unknown(
        self, session: Session, name_hash: str, password: str, ip: str, now: dt.datetime
    ) -> LoginResult:
        self.passwords.dummy_verify(password)  # same time as a real account
        locked_until = self.throttle.name_locked_until(session, name_hash, now)
        self.throttle.record(session, name_hash, ip, False, now)
        if locked_until is not None:
            write_audit(session, now, "login_refused_locked", ip=ip)
            return _locked(locked_until, now)
        write_audit(session, now, "login_failed", ip=ip, detail={"reason": "unknown_user"})
        return LoginResult(refusal=Refusal.INVALID)

    def _login_user(
        self,
        session: Session,
        user: User,
        password: str,
        *,
        ip: str,
        kind: SessionKind,
        user_agent: str | None,
        now: dt.datetime,
    ) -> LoginResult:
        name_hash = username_hash(user.username)
        valid = self.passwords.verify(user.password_hash, password)
        if user.locked_until is not None and user.locked_until > now:
            self.throttle.record(session, name_hash, ip, False, now)
            write_audit(session, now, "login_refused_locked", actor_user_id=user.id, ip=ip)
            return _locked(user.locked_until, now)
        if not valid or not user.active:
            user.failed_logins += 1
            reason = "inactive" if valid else "wrong_password"
            if user.failed_logins >= self.settings.login_max_failures:
                user.locked_until = now + dt.timedelta(seconds=self.settings.lockout_s)
                user.failed_logins = 0
                write_audit(
                    session, now, "account_locked", object_type="user", object_id=user.id, ip=ip
                )
            self.throttle.record(session, name_hash, ip, False, now)
            write_audit(
                session,
                now,
                "login_failed",
                object_type="user",
                object_id=user.id,
                ip=ip,
                detail={"reason": reason},
            )
            return LoginResult(refusal=Refusal.INVALID)
        user.failed_logins = 0
        user.locked_until = None
        if self.passwords.needs_rehash(user.password_hash):
            user.password_hash = self.passwords.hash(password)
        token, csrf = new_token(), new_token()
        ttl = self._ttl(kind)
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
        )
        session.add(row)
        self.throttle.record(session, name_hash, ip, True, now)
        write_audit(
            session, now, "login", actor_user_id=user.id, ip=ip, detail={"kind": kind.value}
        )
        return LoginResult(
            token=token,
            csrf_token=csrf,
            expires_at=row.expires_at,
            expires_in=int(ttl.total_seconds()),
            user=UserView.of(user),
        )

    def authenticate(self, token: str, kind: SessionKind | str) -> AuthContext | None:
        """The user behind ``token`` if its session of ``kind`` is valid; slides page sessions."""
        kind = SessionKind(kind)
        if not token:
            return None
        now = self._clock()
        with self._sessions.begin() as session:
            row = session.scalars(
                select(AuthSession).where(
                    AuthSession.token_hash == token_hash(token), AuthSession.kind == kind
                )
            ).one_or_none()
            if row is None:
                return None
            if row.expires_at <= now:
                session.delete(row)
                return None
            user = session.get(User, row.user_id)
            if user is None or not user.active:
                return None
            acting_role: str | None = None
            if row.pik_id is not None:
                pik = session.get(Pik, row.pik_id)
                if pik is None or pik.revoked_at is not None:
                    return None  # revoking a PIK ends what it opened
                acting_role = pik.holder_role
            if now - row.last_used_at >= TOUCH_EVERY:
                row.last_used_at = now
                if kind is SessionKind.COOKIE:
                    cap = row.created_at + max(ABSOLUTE_SESSION, self._ttl(kind))
                    row.expires_at = max(row.expires_at, min(now + self._ttl(kind), cap))
            return AuthContext(
                user=UserView.of(user),
                session_id=row.id,
                kind=kind,
                csrf_token=row.csrf_token,
                expires_at=row.expires_at,
                pik_id=row.pik_id,
                acting_role=acting_role,
            )

    def logout(self, token: str, ip: str | None = None) -> None:
        """End the session or revoke the API token (unknown tokens: nothing happens)."""
        now = self._clock()
        with self._sessions.begin() as session:
            row = session.scalars(
                select(AuthSession).where(AuthSession.token_hash == token_hash(token))
            ).one_or_none()
            if row is None:
                return
            write_audit(
                session,
                now,
                "logout",
                actor_user_id=row.user_id,
                ip=ip,
                detail={"kind": row.kind.value},
            )
            session.delete(row)

    # -- passwords -----------------------------------------------------------------------

    def change_password(
        self,
        user_id: int,
        current: str,
        new: str,
        *,
        keep_token: str | None = None,
        ip: str | None = None,
    ) -> None:
        """Change the own password: the current one is required; every other session of
        the user ends (``keep_token``, the session that asked, stays)."""
        now = self._clock()
        with self._sessions.begin() as session:
            user = session.get(User, user_id, with_for_update=True)
            if user is None or not user.active:
                raise AccountError("not_found")
            wrong = not self.passwords.verify(user.password_hash, current)
            if wrong:
                # Committed (the call fails after the transaction): the failure is audited.
                write_audit(session, now, "password_change_failed", actor_user_id=user.id, ip=ip)
            else:
                self._apply_change(
                    session, user, current=current, new=new, keep_token=keep_token, ip=ip, now=now
                )
        if wrong:
            raise AccountError("wrong_password")

    def _apply_change(
        self,
        session: Session,
        user: User,
        *,
        current: str,
        new: str,
        keep_token: str | None,
        ip: str | None,
        now: dt.datetime,
    ) -> None:
        check_new_password(
            new,
            username=user.username,
            min_length=self.settings.password_min_length,
            current=current,
        )
        _set_password(session, user, self.passwords.hash(new), now)
        revoke = delete(AuthSession).where(AuthSession.user_id == user.id)
        if keep_token:
            revoke = revoke.where(AuthSession.token_hash != token_hash(keep_token))
        session.execute(revoke)
        write_audit(session, now, "password_changed", actor_user_id=user.id, ip=ip)

    def request_reset(self, login_or_email: str, base_url: str, ip: str | None = None) -> None:
        """Mail a single-use reset link to the account(s) ``login_or_email`` names, if any.

        The caller cannot tell whether anything matched: same return, same work.
        """
        now = self._clock()
        value = login_or_email.strip()
        with self._sessions.begin() as session:
            users = _users_named(session, value)
            sent = 0
            for user in users:
                address = user.email or _customer_email(session, user)
                if not address:
                    continue
                token = new_token()
                session.add(
                    PasswordReset(
                        user_id=user.id,
                        token_hash=token_hash(token),
                        created_at=now,
                        expires_at=now + dt.timedelta(seconds=self.settings.reset_ttl_s),
                    )
                )
                link = f"{base_url.rstrip('/')}/reset?token={token}"
                subject, body = reset_mail(link, self.settings.reset_ttl_s // 60)
                self._outbox.enqueue(
                    session,
                    address,
                    subject,
                    body,
                    kind="password_reset",
                    language=Language(user.language),
                )
                write_audit(
                    session,
                    now,
                    "password_reset_requested",
                    object_type="user",
                    object_id=user.id,
                    ip=ip,
                )
                sent += 1
            if not sent:
                write_audit(session, now, "password_reset_unmatched", ip=ip)

    def reset_password(self, token: str, new: str, ip: str | None = None) -> None:
        """Set a new password with a reset link's token: once, before it expires."""
        now = self._clock()
        with self._sessions.begin() as session:
            reset = session.scalars(
                select(PasswordReset).where(PasswordReset.token_hash == token_hash(token))
            ).one_or_none()
            if reset is None or reset.used_at is not None or reset.expires_at <= now:
                raise AccountError("invalid_reset_token")
            user = session.get(User, reset.user_id, with_for_update=True)
            if user is None or not user.active:
                raise AccountError("invalid_reset_token")
            check_new_password(
                new, username=user.username, min_length=self.settings.password_min_length
            )
            # Conditional: of two concurrent uses of one link, only one matches.
            used = session.execute(
                update(PasswordReset)
                .where(PasswordReset.id == reset.id, PasswordReset.used_at.is_(None))
                .values(used_at=now)
                .execution_options(synchronize_session=False)
            )
            if getattr(used, "rowcount", 0) != 1:
                raise AccountError("invalid_reset_token")
            # Any other link still out for this user dies too.
            session.execute(
                update(PasswordReset)
                .where(PasswordReset.user_id == user.id, PasswordReset.used_at.is_(None))
                .values(used_at=now)
                .execution_options(synchronize_session=False)
            )
            _set_password(session, user, self.passwords.hash(new), now)
            session.execute(delete(AuthSession).where(AuthSession.user_id == user.id))
            write_audit(
                session, now, "password_reset", object_type="user", object_id=user.id, ip=ip
            )

    # -- clause 5.4 and administration (requests.py, admin.py) ---------------------------

    def open_credential_request(
        self,
        contact_email: str,
        note: str = "",
        *,
        customer_number: str | None = None,
        identifier: str | None = None,
        id_kind: str | None = None,
        ip: str | None = None,
    ) -> CredentialRequestView:
        return self.requests.open(
            contact_email,
            note,
            customer_number=customer_number,
            identifier=identifier,
            id_kind=id_kind,
            ip=ip,
        )

    def list_credential_requests(
        self, state: RequestState | None = RequestState.OPEN, *, overdue_only: bool = False
    ) -> list[CredentialRequestView]:
        return self.requests.list_requests(state, overdue_only=overdue_only)

    def fulfil_credential_request(
        self,
        request_id: int,
        operator_user_id: int,
        base_url: str,
        *,
        customer_id: int | None = None,
        ip: str | None = None,
    ) -> CredentialRequestView:
        return self.requests.fulfil(
            request_id, operator_user_id, base_url, customer_id=customer_id, ip=ip
        )

    def reject_credential_request(
        self, request_id: int, operator_user_id: int, *, ip: str | None = None
    ) -> CredentialRequestView:
        return self.requests.reject(request_id, operator_user_id, ip=ip)

    def create_user(
        self,
        username: str,
        role: Role | str,
        display_name: str,
        *,
        email: str | None = None,
        customer_id: int | None = None,
        language: Language | str = Language.BG,
        password: str | None = None,
        actor_user_id: int | None = None,
        ip: str | None = None,
    ) -> CreatedUser:
        return self.admin.create_user(
            username,
            role,
            display_name,
            email=email,
            customer_id=customer_id,
            language=language,
            password=password,
            actor_user_id=actor_user_id,
            ip=ip,
        )

    def get_user(self, user_id: int) -> UserView | None:
        return self.admin.get_user(user_id)

    def find_user(self, username: str) -> UserView | None:
        return self.admin.find_user(username)

    def unlock_user(self, user_id: int, *, actor_user_id: int | None = None) -> None:
        self.admin.unlock(user_id, actor_user_id=actor_user_id)

    def deactivate_user(self, user_id: int, *, actor_user_id: int | None = None) -> None:
        self.admin.deactivate(user_id, actor_user_id=actor_user_id)

    def set_password(
        self, user_id: int, new: str | None = None, *, actor_user_id: int | None = None
    ) -> str:
        return self.admin.set_password(user_id, new, actor_user_id=actor_user_id)


def _locked(until: dt.datetime, now: dt.datetime) -> LoginResult:
    wait = max(1, int((until - now).total_seconds() + 0.999))
    return LoginResult(refusal=Refusal.LOCKED, retry_after=wait)


def _set_password(session: Session, user: User, password_hash: str, now: dt.datetime) -> None:
    user.password_hash = password_hash
    user.password_changed_at = now
    user.failed_logins = 0
    user.locked_until = None


def _users_named(session: Session, value: str) -> Sequence[User]:
    """Active users whose username is ``value``, or whose e-mail is (case-insensitive)."""
    if not value:
        return []
    query = select(User).where(User.active.is_(True))
    if "@" in value:
        query = query.where(func.lower(User.email) == value.lower())
        found = session.scalars(query.order_by(User.id)).all()
        if found:
            return found
    return session.scalars(
        select(User).where(User.active.is_(True), User.username == normalise_username(value))
    ).all()


def _customer_email(session: Session, user: User) -> str | None:
    if user.customer_id is None:
        return None
    customer = session.get(Customer, user.customer_id)
    return customer.email if customer is not None else None


__all__ = ["Accounts"]
