"""User administration: create logins (the issued credentials of clause 1.6), unlock,
deactivate, set a password. The web layer checks ``manage_users`` first; the CLI
(``myenergy-portal user add/passwd``) acts as the operating system's admin.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from portal_api.accounts.audit import write_audit
from portal_api.accounts.errors import AccountError
from portal_api.accounts.passwords import Passwords, check_new_password, generate_password
from portal_api.accounts.tokens import normalise_username
from portal_api.accounts.views import CreatedUser, UserView
from portal_api.config import SecuritySettings
from portal_api.db.enums import Language, Role
from portal_api.db.models import AuthSession, Customer, User

Clock = Callable[[], dt.datetime]
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._@-]{2,63}$")


class UserAdmin:
    """Create and manage logins; every change is audited with its actor."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        clock: Clock,
        settings: SecuritySettings,
        passwords: Passwords,
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self._settings = settings
        self._passwords = passwords

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
        """A new active login; without ``password`` one is generated and returned once."""
        name = normalise_username(username)
        if not USERNAME.match(name):
            raise AccountError("invalid_username")
        role = Role(role)
        if (role is Role.CUSTOMER) != (customer_id is not None):
            raise AccountError("customer_required")
        if email is not None and ("@" not in email or any(c in email for c in " \r\n")):
            raise AccountError("invalid_email")
        initial = password if password is not None else generate_password()
        check_new_password(initial, username=name, min_length=self._settings.password_min_length)
        now = self._clock()
        with self._sessions.begin() as session:
            if session.scalars(select(User.id).where(User.username == name)).first() is not None:
                raise AccountError("username_taken")
            if customer_id is not None and session.get(Customer, customer_id) is None:
                raise AccountError("not_found")
            user = User(
                username=name,
                password_hash=self._passwords.hash(initial),
                role=role,
                customer_id=customer_id,
                email=email,
                display_name=display_name,
                language=Language(language),
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
                actor_user_id=actor_user_id,
                object_type="user",
                object_id=user.id,
                ip=ip,
                detail={"role": role.value},
            )
            return CreatedUser(UserView.of(user), initial)

    def get_user(self, user_id: int) -> UserView | None:
        with self._sessions() as session:
            user = session.get(User, user_id)
            return UserView.of(user) if user is not None else None

    def find_user(self, username: str) -> UserView | None:
        with self._sessions() as session:
            user = session.scalars(
                select(User).where(User.username == normalise_username(username))
            ).one_or_none()
            return UserView.of(user) if user is not None else None

    def _change(
        self, user_id: int, action: str, actor_user_id: int | None, apply: Callable[[User], None]
    ) -> None:
        now = self._clock()
        with self._sessions.begin() as session:
            user = session.get(User, user_id, with_for_update=True)
            if user is None:
                raise AccountError("not_found")
            apply(user)
            write_audit(
                session,
                now,
                action,
                actor_user_id=actor_user_id,
                object_type="user",
                object_id=user.id,
            )

    def unlock(self, user_id: int, *, actor_user_id: int | None = None) -> None:
        def apply(user: User) -> None:
            user.failed_logins = 0
            user.locked_until = None

        self._change(user_id, "user_unlocked", actor_user_id, apply)

    def deactivate(self, user_id: int, *, actor_user_id: int | None = None) -> None:
        """The login stops working at once: its sessions and tokens end."""
        with self._sessions.begin() as session:
            session.execute(delete(AuthSession).where(AuthSession.user_id == user_id))

        def apply(user: User) -> None:
            user.active = False

        self._change(user_id, "user_deactivated", actor_user_id, apply)

    def set_password(
        self, user_id: int, new: str | None = None, *, actor_user_id: int | None = None
    ) -> str:
        """Set (or generate) a user's password; returns it once. Sessions end, lock lifts."""
        holder: list[str] = []

        def apply(user: User) -> None:
            password = new if new is not None else generate_password()
            check_new_password(
                password, username=user.username, min_length=self._settings.password_min_length
            )
            user.password_hash = self._passwords.hash(password)
            user.password_changed_at = self._clock()
            user.failed_logins = 0
            user.locked_until = None
            holder.append(password)

        self._change(user_id, "password_set_by_admin", actor_user_id, apply)
        with self._sessions.begin() as session:
            session.execute(delete(AuthSession).where(AuthSession.user_id == user_id))
        return holder[0]


__all__ = ["USERNAME", "UserAdmin"]
