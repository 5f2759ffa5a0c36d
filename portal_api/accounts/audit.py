"""The audit log: who did what, when, from where; written in the caller's transaction.

``detail`` is JSON for the admins' eyes; it must never carry a password, a
token or a personal number, so keys that could hold one are refused outright.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from sqlalchemy.orm import Session

from portal_api.accounts.acting import acting_detail
from portal_api.db.models import AuditEntry

FORBIDDEN_KEYS = frozenset(
    {
        "password",
        "new_password",
        "token",
        "secret",
        "identifier",
        "egn",
        "lnch",
        "eik",
        "bulstat",
        "pin",
        "pik",
    }
)


def write_audit(
    session: Session,
    at: dt.datetime,
    action: str,
    *,
    actor_user_id: int | None = None,
    object_type: str | None = None,
    object_id: str | int | None = None,
    ip: str | None = None,
    detail: Mapping[str, object] | None = None,
) -> AuditEntry:
    """Add one audit row to ``session``."""
    data = dict(detail or {})
    bad = FORBIDDEN_KEYS.intersection(k.lower() for k in data)
    if bad:
        raise ValueError(f"audit detail must not carry {sorted(bad)}")
    # A PIK session's actions say which PIK and in what role its holder acts (issue 6).
    for key, value in acting_detail(actor_user_id).items():
        data.setdefault(key, value)
    entry = AuditEntry(
        at=at,
        actor_user_id=actor_user_id,
        action=action,
        object_type=object_type,
        object_id=None if object_id is None else str(object_id),
        ip=ip,
        detail=data,
    )
    session.add(entry)
    return entry


__all__ = ["FORBIDDEN_KEYS", "write_audit"]
