"""Who a request acts as, for the audit log: the PIK holder's role (issue 6).

A session opened with a PIK may belong to a person the customer authorised; every
audit entry that session's user causes must say so. The audit calls are spread
over every service and take only ``actor_user_id``, so instead of threading the
role through all of them, each HTTP request gets one mutable :class:`Acting`
holder in a context variable (set by :class:`ActingMiddleware`). The dependency
that authenticates the caller fills it; ``write_audit`` reads it. Context
variables are copied into the worker threads of sync routes, but the copy points
at the same holder, so what the dependency notes is what the route's audit sees.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass

from starlette.types import ASGIApp, Receive, Scope, Send


@dataclass
class Acting:
    """The PIK session behind the current request, if any."""

    user_id: int | None = None
    pik_id: int | None = None
    role: str | None = None


_CURRENT: ContextVar[Acting | None] = ContextVar("myenergy_acting", default=None)


def note_pik_session(user_id: int, pik_id: int | None, role: str | None) -> None:
    """The caller of this request authenticated with a PIK session (no-op outside one)."""
    acting = _CURRENT.get()
    if acting is not None and pik_id is not None:
        acting.user_id, acting.pik_id, acting.role = user_id, pik_id, role


def acting_detail(actor_user_id: int | None) -> dict[str, object]:
    """Audit detail to add for ``actor_user_id``: the PIK and its holder's role, or nothing."""
    acting = _CURRENT.get()
    if acting is None or acting.pik_id is None or actor_user_id != acting.user_id:
        return {}
    return {"pik_id": acting.pik_id, "acting_role": acting.role}


class ActingMiddleware:
    """A fresh :class:`Acting` holder for every HTTP request (pure ASGI: no task switch)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        token = _CURRENT.set(Acting())
        try:
            await self.app(scope, receive, send)
        finally:
            _CURRENT.reset(token)


__all__ = ["Acting", "ActingMiddleware", "acting_detail", "note_pik_session"]
