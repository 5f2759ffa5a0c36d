"""Authorisation entries of the interruptions routes (issue 5), merged by test_authorisation.py.

Callers in order: anonymous, owner, other customer, operator, installer, admin.

The walk really calls every route, so its bodies change nothing others depend on:
the interruption it reads and patches is one of its own on the owner's contract
(created once, long over, so no notice or free month follows), the POST body
carries a time without its offset (400 for those allowed to call) and the PATCH
sets a flag to the value it already has. ``decision_id`` comes from
authz_decisions (a proposal of another kind: the confirm form answers 409).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from portal_api.contracts.db.events_repository import EventRepository
from portal_api.contracts.db.models import InterruptionRow
from portal_api.contracts.domain.interruptions import Interruption
from tests.portal.web.authz_common import OK, ParamGetter
from tests.portal.web.conftest import Portal

LOGIN = "login"
# A planned interruption of the owner's contract, before its subscription started.
_WALK_START = dt.datetime(2025, 12, 20, 6, 0, tzinfo=dt.UTC)


def walk_interruption(portal: Portal) -> str:
    """The id of the walk's own interruption on the owner's contract (created once)."""
    with portal.services.sessions.begin() as session:
        found = session.scalar(
            select(InterruptionRow.id).where(InterruptionRow.started_at == _WALK_START)
        )
        if found is not None:
            return str(found)
        item = Interruption(
            "planned",
            _WALK_START,
            _WALK_START + dt.timedelta(hours=2),
            notified_at=_WALK_START - dt.timedelta(days=3),
        )
        new_id = EventRepository(session).add_interruption("MYE-2025-0001", item)
        assert new_id is not None
        return str(new_id)


READ = (401, OK, OK, OK, OK, OK)  # a customer reads its own (the list filters)
READ_ONE = (401, OK, 404, OK, OK, OK)
MANAGE = (401, 403, 403, OK, 403, OK)
DESK = (LOGIN, 403, 403, OK, 403, OK)

MATRIX: dict[tuple[str, str], tuple[str | int, ...]] = {
    ("GET", "/api/v1/interruptions"): READ,
    ("POST", "/api/v1/interruptions"): MANAGE,
    ("GET", "/api/v1/interruptions/{interruption_id}"): READ_ONE,
    ("PATCH", "/api/v1/interruptions/{interruption_id}"): MANAGE,
    ("GET", "/interruptions"): (LOGIN, OK, OK, OK, OK, OK),
    ("GET", "/staff/interruptions"): DESK,
    ("POST", "/staff/interruptions"): DESK,
    ("GET", "/staff/interruptions/{interruption_id}"): DESK,
    ("POST", "/staff/interruptions/{interruption_id}"): DESK,
    ("POST", "/staff/interruptions/proposals/{decision_id}/confirm"): DESK,
}
PARAMS: dict[str, ParamGetter] = {"interruption_id": walk_interruption}
QUERIES: dict[str, str] = {}
BODIES: dict[tuple[str, str], dict[str, object]] = {
    ("POST", "/api/v1/interruptions"): {
        "json": {
            "contract_number": "MYE-2025-0001",
            "kind": "planned",
            "start": "2026-03-10T08:00:00",  # no offset: 400 for staff
        }
    },
    ("PATCH", "/api/v1/interruptions/{interruption_id}"): {"json": {"customer_obstructed": False}},
}
