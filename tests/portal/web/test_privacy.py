"""No personal numbers, passwords or tokens in the logs or the audit log.

The portal runs in this process (uvicorn in a thread), so everything it logs —
structlog, the standard ``logging`` tree, uvicorn, anything printed — reaches this
process's file descriptors 1 and 2 or the ``logging`` handlers: ``capfd`` and
``caplog`` (at DEBUG) see it all. The test goes through the flows that handle
secrets (a failed and a good login, a bearer token, a password change, a reset
request and the reset itself, a lost-credentials request) and then looks for each
secret in everything captured and in every ``audit_log`` row.
"""

from __future__ import annotations

import logging
import re
from contextlib import closing

import pytest
from sqlalchemy import select

from portal_api.db.models import AuditEntry, OutboxMessage
from portal_api.seed import DEMO_CUSTOMERS, DEMO_PASSWORD
from tests.portal.web.conftest import OWNER, Portal, csrf_of

WRONG_PASSWORD = "Wrong-Secret-4711"
NEW_PASSWORD = "Brand-New-Secret-2026"
RESET_PASSWORD = "Reset-Secret-Password-99"


def _reset_token(portal: Portal) -> str:
    with portal.services.sessions() as session:
        bodies = session.scalars(
            select(OutboxMessage.body_text).order_by(OutboxMessage.id.desc())
        ).all()
    for body in bodies:
        found = re.search(r"/reset\?token=([A-Za-z0-9_-]+)", body)
        if found:
            return found.group(1)
    raise AssertionError("no reset link in the outbox")


def test_secrets_never_reach_logs_or_audit(
    fresh_portal: Portal, capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    portal = fresh_portal
    owner = next(c for c in DEMO_CUSTOMERS if c.user.username == OWNER)
    secrets = [owner.identifier, DEMO_PASSWORD, WRONG_PASSWORD, NEW_PASSWORD, RESET_PASSWORD]

    with portal.client() as client:
        page = client.get("/login")
        refused = client.post(
            "/login",
            data={
                "csrf_token": csrf_of(page.text),
                "username": OWNER,
                "password": WRONG_PASSWORD,
                "next": "/sites",
            },
        )
        assert refused.status_code == 401
    token = portal.token(OWNER)
    secrets.append(token)
    with portal.api(OWNER) as api:
        changed = api.post(
            "/api/v1/me/password",
            json={"current_password": DEMO_PASSWORD, "new_password": NEW_PASSWORD},
        )
        assert changed.status_code == 200, changed.text
    with portal.client() as client:
        asked = client.post("/api/v1/auth/reset-request", json={"login": OWNER})
        assert asked.status_code == 202, asked.text
        reset_token = _reset_token(portal)
        secrets.append(reset_token)
        reset = client.post(
            "/api/v1/auth/reset", json={"token": reset_token, "new_password": RESET_PASSWORD}
        )
        assert reset.status_code == 200, reset.text
        lost = client.post(
            "/api/v1/credential-requests",
            json={"customer_number": owner.number, "contact_email": "ivan@example.bg"},
        )
        assert lost.status_code == 202, lost.text

    out, err = capfd.readouterr()
    logged = "\n".join([out, err, caplog.text])
    assert "login" in logged.lower() or caplog.records, "nothing was logged: the test saw nothing"
    with portal.services.sessions() as session:
        audit = session.scalars(select(AuditEntry)).all()
    assert {row.action for row in audit} >= {"login_failed", "login"}, [r.action for r in audit]
    audit_text = "\n".join(f"{row.action} {row.detail}" for row in audit)
    for secret in secrets:
        assert secret not in logged, f"a secret reached the logs: {secret[:3]}..."
        assert secret not in audit_text, f"a secret reached the audit log: {secret[:3]}..."


def test_pik_login_and_issuance_leak_nothing(
    fresh_portal: Portal, capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    """Issue 6: the PIK and the EGN/EIK typed at login reach neither logs nor audit."""
    caplog.set_level(logging.DEBUG)
    portal = fresh_portal
    owner = next(c for c in DEMO_CUSTOMERS if c.user.username == OWNER)
    with closing(portal.browser_session("operator")) as staff:
        desk = staff.get("/staff/piks", params={"customer": owner.number})
        letter = staff.post(
            "/staff/piks",
            data={
                "csrf_token": csrf_of(desk.text),
                "customer": owner.number,
                "holder_role": "customer",
                "channel": "in_person",
            },
        )
        assert letter.status_code == 200, letter.text
    found = re.search(r'<strong id="letter-pik">([A-Z0-9]{8})</strong>', letter.text)
    assert found is not None
    code = found.group(1)
    secrets = [code, code.lower(), owner.identifier, "ZZZZ9999"]
    with portal.client() as client:
        page = client.get("/login")
        for pik in ("ZZZZ9999", code):
            answer = client.post(
                "/login/pik",
                data={
                    "csrf_token": csrf_of(page.text),
                    "identifier": owner.identifier,
                    "pik": pik,
                    "next": "/sites",
                },
            )
            assert answer.status_code in (303, 401)
        token = client.post(
            "/api/v1/auth/pik-token", data={"identifier": owner.identifier, "pik": code.lower()}
        )
        assert token.status_code == 200, token.text
        secrets.append(token.json()["access_token"])

    out, err = capfd.readouterr()
    logged = "\n".join([out, err, caplog.text])
    assert "/login/pik" in logged or caplog.records, "nothing was logged: the test saw nothing"
    with portal.services.sessions() as session:
        audit = session.scalars(select(AuditEntry)).all()
    actions = {row.action for row in audit}
    assert {"pik_issued", "pik_login_failed", "login"} <= actions, actions
    audit_text = "\n".join(f"{row.action} {row.object_id} {row.detail}" for row in audit)
    for secret in secrets:
        assert secret not in logged, f"a secret reached the logs: {secret[:3]}..."
        assert secret not in audit_text, f"a secret reached the audit log: {secret[:3]}..."
