"""Installation postponements for a mismatch (1.4.2) and how they extend the 1.3 deadline.

The contract tables have no column for a postponement (issue 5 adds no
migration here), so the staff actions that record one are its source: the
audit log keeps, per contract, the visit that found the mismatch
(``contract.installation.postponed``: the day and the kind) and the visit
booked after it (``contract.installation.visit_agreed``), which settles every
mismatch still open (1.4.2: "until the contract is settled"). The audit log is
append-only and written in the same transaction as the change, so the history
it gives is the one the contract went through.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal_api.contracts.domain.installation import MismatchKind, Postponement
from portal_api.db.models import AuditEntry

__all__ = ["POSTPONED", "VISIT_AGREED", "postponements"]

POSTPONED = "contract.installation.postponed"
VISIT_AGREED = "contract.installation.visit_agreed"


def postponements(session: Session, number: str) -> tuple[Postponement, ...]:
    """The contract's postponements in order; the last one is open until a visit is booked."""
    entries = session.scalars(
        select(AuditEntry)
        .where(
            AuditEntry.object_type == "contract",
            AuditEntry.object_id == number,
            AuditEntry.action.in_((POSTPONED, VISIT_AGREED)),
        )
        .order_by(AuditEntry.id)  # the order they were written
    )
    found: list[Postponement] = []
    open_: list[tuple[dt.date, MismatchKind, str]] = []
    for entry in entries:
        on = dt.date.fromisoformat(str(entry.detail["on"]))
        if entry.action == POSTPONED:
            kind = MismatchKind(str(entry.detail["mismatch"]))
            open_.append((on, kind, str(entry.detail.get("note", ""))))
        else:
            found.extend(
                Postponement(found_on=start, kind=kind, settled_on=max(on, start), detail=note)
                for start, kind, note in open_
            )
            open_.clear()
    found.extend(
        Postponement(found_on=start, kind=kind, detail=note) for start, kind, note in open_
    )
    return tuple(found)
