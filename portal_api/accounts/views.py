"""What the accounts service returns: plain frozen values, never ORM rows.

Callers on other threads (the web layer) hold them after the database session
is gone; none carries a password hash or a token hash.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from portal_api.accounts.errors import AccountError
from portal_api.db.enums import Language, RequestState, SessionKind
from portal_api.db.models import User
from portal_api.domain.roles import Role


class Refusal(StrEnum):
    INVALID = "invalid_credentials"  # wrong name or password, or inactive: never which
    LOCKED = "locked"  # too many consecutive failures for this name
    THROTTLED = "throttled"  # too many attempts from this address: HTTP 429


@dataclass(frozen=True)
class UserView:
    id: int
    username: str
    role: Role
    customer_id: int | None
    email: str | None
    display_name: str
    language: Language
    active: bool
    locked_until: dt.datetime | None

    @classmethod
    def of(cls, user: User) -> UserView:
        return cls(
            id=user.id,
            username=user.username,
            role=Role(user.role),
            customer_id=user.customer_id,
            email=user.email,
            display_name=user.display_name,
            language=Language(user.language),
            active=user.active,
            locked_until=user.locked_until,
        )


@dataclass(frozen=True)
class LoginResult:
    """A new session (``token``) or a refusal (``refusal``, ``retry_after`` seconds)."""

    token: str | None = None
    csrf_token: str | None = None
    expires_at: dt.datetime | None = None
    expires_in: int | None = None  # seconds, for the OAuth2 token answer
    user: UserView | None = None
    refusal: Refusal | None = None
    retry_after: int | None = None

    @property
    def ok(self) -> bool:
        return self.token is not None

    def error(self) -> AccountError:
        """The refusal as a bilingual message for the user."""
        if self.refusal is Refusal.THROTTLED:
            return AccountError("throttled", seconds=self.retry_after or 1)
        if self.refusal is Refusal.LOCKED:
            return AccountError("locked", minutes=max(1, -(-(self.retry_after or 60) // 60)))
        return AccountError("invalid_credentials")


@dataclass(frozen=True)
class AuthContext:
    """An authenticated request: the user and the session it came with."""

    user: UserView
    session_id: int
    kind: SessionKind
    csrf_token: str
    expires_at: dt.datetime
    # A session opened with a PIK (issue 6): which one, and its holder's role.
    pik_id: int | None = None
    acting_role: str | None = None


@dataclass(frozen=True)
class CreatedUser:
    """A new login; ``initial_password`` is shown once and stored nowhere in clear."""

    user: UserView
    initial_password: str


@dataclass(frozen=True)
class CredentialRequestView:
    id: int
    customer_id: int | None
    customer_number: str | None
    customer_name: str | None
    contact_email: str
    note: str
    received_at: dt.datetime
    due_at: dt.datetime
    state: RequestState
    handled_by: int | None
    handled_at: dt.datetime | None
    overdue: bool


__all__ = [
    "AuthContext",
    "CreatedUser",
    "CredentialRequestView",
    "LoginResult",
    "Refusal",
    "UserView",
]
