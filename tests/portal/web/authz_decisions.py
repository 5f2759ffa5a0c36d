"""Authorisation entries of the decisions routes (issue 5), merged by test_authorisation.py.

Callers in order: anonymous, owner, other customer, operator, installer, admin.

The walk really calls every route, so the bodies and the proposal it confirms
are chosen to change nothing another route's answer depends on: the decision is
a zero penalty proposal of its own on the owner's contract (confirming it only
logs the answer), and the termination bodies fail validation (422) for those
allowed to call.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import select

from portal_api.contracts.db.enums import DecisionKind
from portal_api.contracts.db.events_repository import EventRepository
from portal_api.contracts.db.models import DecisionRow
from portal_api.contracts.domain.decision import Decision
from tests.portal.web.authz_common import OK, ParamGetter
from tests.portal.web.conftest import Portal

LOGIN = "login"
_WALK_SUBJECT = "authz-walk"


def walk_decision(portal: Portal) -> str:
    """The id of the walk's own proposal on the owner's contract (created once)."""
    sessions = portal.services.sessions
    with sessions.begin() as session:
        found = session.scalar(select(DecisionRow.id).where(DecisionRow.subject == _WALK_SUBJECT))
        if found is not None:
            return str(found)
        proposal = Decision(
            value=Decimal("0.00"),
            clause="8.1",
            reason_bg="Проверка на правата за достъп.",
            reason_en="Authorisation walk.",
        )
        decision_id = EventRepository(session).propose(
            "MYE-2025-0001",
            DecisionKind.PENALTY_PROPOSED,
            _WALK_SUBJECT,
            dt.date(2026, 3, 2),
            proposal,
        )
        assert decision_id is not None
        return str(decision_id)


STAFF_DECISIONS = (401, 403, 403, OK, 403, OK)
STAFF_DECISIONS_PAGE = (LOGIN, 403, 403, OK, 403, OK)
MANAGE = (401, 403, 403, OK, 403, OK)

MATRIX: dict[tuple[str, str], tuple[str | int, ...]] = {
    # -- the queue (DECISIONS): customers see nothing of it
    ("GET", "/api/v1/decisions"): STAFF_DECISIONS,
    ("GET", "/api/v1/decisions/{decision_id}"): STAFF_DECISIONS,
    ("POST", "/api/v1/decisions/{decision_id}/confirm"): STAFF_DECISIONS,
    ("POST", "/api/v1/decisions/{decision_id}/reject"): STAFF_DECISIONS,
    ("GET", "/staff/decisions"): STAFF_DECISIONS_PAGE,
    ("POST", "/staff/decisions/{decision_id}/confirm"): STAFF_DECISIONS_PAGE,
    ("POST", "/staff/decisions/{decision_id}/reject"): STAFF_DECISIONS_PAGE,
    # -- terminations: staff (CONTRACTS_MANAGE); the customer quotes its own 7.2 / 7.5c
    ("GET", "/api/v1/contracts/{contract_number}/termination/quote"): (401, OK, 404, OK, 403, OK),
    ("POST", "/api/v1/contracts/{contract_number}/termination"): MANAGE,
    ("POST", "/api/v1/contracts/{contract_number}/termination-notice"): (
        401,
        OK,
        404,
        403,
        403,
        403,
    ),
    ("GET", "/staff/contracts/{contract_number}/termination"): STAFF_DECISIONS_PAGE,
    ("POST", "/staff/contracts/{contract_number}/termination"): STAFF_DECISIONS_PAGE,
    ("GET", "/contracts/{contract_number}/terminate"): (LOGIN, OK, 404, 403, 403, 403),
    ("POST", "/contracts/{contract_number}/terminate"): (LOGIN, OK, 404, 403, 403, 403),
}
PARAMS: dict[str, ParamGetter] = {"decision_id": walk_decision}
QUERIES: dict[str, str] = {
    "/api/v1/contracts/{contract_number}/termination/quote": "?ground=customer_early",
}
BODIES: dict[tuple[str, str], dict[str, object]] = {
    ("POST", "/api/v1/contracts/{contract_number}/termination"): {
        "json": {"ground": "not-a-ground"}
    },
    ("POST", "/api/v1/contracts/{contract_number}/termination-notice"): {
        "json": {"ground": "company_early"}
    },
}
