"""Login with EIK/EGN + PIK and the operators' PIK desk, on the real portal (issue 6)."""

from __future__ import annotations

import base64
import re
import subprocess
from contextlib import closing
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from portal_api.accounts.pik import PikService
from portal_api.accounts.pik_demo import seed_demo_piks
from portal_api.db.enums import CustomerKind, IdKind
from portal_api.db.models import AuditEntry, Customer, LoginAttempt
from portal_api.domain.identifiers import encrypt_identifier, hmac_identifier
from portal_api.seed import DEMO_CUSTOMERS
from portal_api.web.routes.pages_pik import pik_service
from tests.portal.web.conftest import Portal, csrf_of

IVAN = next(c for c in DEMO_CUSTOMERS if c.id_kind is IdKind.EGN)
COMPANY, THIRD = (c for c in DEMO_CUSTOMERS if c.id_kind is IdKind.EIK)
FOREIGN = "8501150000"  # born 15 January 1985, no EGN
FOREIGN_NUMBER = "3100000999"


@pytest.fixture(scope="module")
def codes(portal: Portal) -> dict[str, str]:
    """The demo customers' PIKs and a foreigner's (customer number → code)."""
    service = pik_service(portal.services)
    found = seed_demo_piks(service)
    keys = portal.services.config.security.identifier_keys()
    with portal.services.sessions.begin() as session:
        customer = Customer(
            number=FOREIGN_NUMBER,
            kind=CustomerKind.PERSON,
            name="John Smith",
            id_kind=IdKind.FOREIGN_BIRTH,
            id_hmac=hmac_identifier(IdKind.FOREIGN_BIRTH, FOREIGN, keys.pepper),
            id_enc=encrypt_identifier(FOREIGN, keys.fernet_key),
            email="john.smith@example.com",
            created_at=portal.services.clock(),
        )
        session.add(customer)
        session.flush()
        customer_id = customer.id
    found[FOREIGN_NUMBER] = service.issue(
        customer_id, holder_role="customer", actor_user_id=None
    ).code
    return found


def _pik_login(client: httpx.Client, **fields: str) -> httpx.Response:
    page = client.get("/login")
    return client.post(
        "/login/pik", data={"csrf_token": csrf_of(page.text), "next": "/sites", **fields}
    )


def test_login_page_has_the_pik_form(portal: Portal) -> None:
    with portal.client() as client:
        page = client.get("/login")
    assert 'action="/login/pik"' in page.text
    assert '<script src="/static/js/pik-login.js" defer></script>' in page.text
    assert re.search(r'<div id="pik-number-row" hidden>', page.text)
    with portal.client() as client:
        script = client.get("/static/js/pik-login.js")
    assert script.status_code == 200 and "pik-number-row" in script.text


def test_login_with_egn_and_pik_opens_a_session(portal: Portal, codes: dict[str, str]) -> None:
    with portal.client() as client:
        answer = _pik_login(client, identifier=IVAN.identifier, pik=codes[IVAN.number])
        assert answer.status_code == 303, answer.text
        assert answer.headers["location"] == "/sites"
        sites = client.get("/sites")
        assert sites.status_code == 200 and "varna-0001" in sites.text
        # An action of the session carries the PIK holder's role in the audit log.
        client.post("/logout", data={"csrf_token": csrf_of(sites.text)})
    with portal.services.sessions() as session:
        logout = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "logout").order_by(AuditEntry.id.desc())
        ).first()
    assert logout is not None
    assert logout.detail.get("acting_role") == "customer"
    assert "pik_id" in logout.detail


def test_api_token_with_eik_and_pik(portal: Portal, codes: dict[str, str]) -> None:
    with portal.client() as client:
        answer = client.post(
            "/api/v1/auth/pik-token",
            data={"identifier": COMPANY.identifier, "pik": codes[COMPANY.number].lower()},
        )
        assert answer.status_code == 200, answer.text
        token = answer.json()["access_token"]
        me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
        assert me.status_code == 200, me.text
        wrong = client.post(
            "/api/v1/auth/pik-token", data={"identifier": COMPANY.identifier, "pik": "ABCDEFGH"}
        )
        unknown = client.post(
            "/api/v1/auth/pik-token", data={"identifier": "7523169263", "pik": "ABCDEFGH"}
        )
        assert wrong.status_code == unknown.status_code == 401
        assert wrong.json() == unknown.json()
        bad = client.post(
            "/api/v1/auth/pik-token", data={"identifier": "7523169264", "pik": "ABCDEFGH"}
        )
        assert bad.status_code == 422 and "Check the number" in bad.text


def test_malformed_number_is_answered_without_a_lookup(portal: Portal) -> None:
    with portal.services.sessions() as session:
        before = len(session.scalars(select(LoginAttempt.id)).all())
    with portal.client() as client:
        answer = _pik_login(client, identifier="121759223", pik="ABCDEFGH")
    assert answer.status_code == 422
    assert "Проверете номера" in answer.text or "Check the number" in answer.text
    with portal.services.sessions() as session:
        assert len(session.scalars(select(LoginAttempt.id)).all()) == before


def test_foreigner_is_asked_for_the_customer_number(portal: Portal, codes: dict[str, str]) -> None:
    with portal.client() as client:
        first = _pik_login(client, identifier=FOREIGN, pik=codes[FOREIGN_NUMBER])
        assert first.status_code == 422
        # Without script the second round shows the field, required.
        assert re.search(r'<div id="pik-number-row">', first.text)
        assert re.search(r'name="customer_number"[^>]*required', first.text)
        second = _pik_login(
            client,
            identifier=FOREIGN,
            pik=codes[FOREIGN_NUMBER],
            customer_number=FOREIGN_NUMBER,
        )
        assert second.status_code == 303, second.text


def test_wrong_pik_and_unknown_identifier_look_the_same(
    portal: Portal, codes: dict[str, str]
) -> None:
    with portal.client() as client:
        wrong = _pik_login(client, identifier=IVAN.identifier, pik="ZZZZZZZZ")
        unknown = _pik_login(client, identifier="7523169263", pik="ZZZZZZZZ")
    assert wrong.status_code == unknown.status_code == 401
    message = re.compile(r'<p class="alert" role="alert" id="pik-error">([^<]*)</p>')
    found_wrong, found_unknown = message.search(wrong.text), message.search(unknown.text)
    assert found_wrong is not None and found_unknown is not None
    assert found_wrong.group(1) == found_unknown.group(1)
    assert codes  # the PIKs exist: "wrong" really is a wrong code


def test_five_wrong_piks_lock(portal: Portal, codes: dict[str, str]) -> None:
    with portal.client() as client:
        for _ in range(5):
            assert (
                _pik_login(client, identifier=THIRD.identifier, pik="ZZZZZZZZ").status_code == 401
            )
        locked = _pik_login(client, identifier=THIRD.identifier, pik=codes[THIRD.number])
    assert locked.status_code == 429


def test_operator_issues_reissues_and_revokes(
    portal: Portal, codes: dict[str, str], tmp_path: Path
) -> None:
    with closing(portal.browser_session("operator")) as client:
        desk = client.get("/staff/piks", params={"customer": IVAN.number})
        assert desk.status_code == 200
        assert IVAN.name in desk.text
        for code in codes.values():
            assert code not in desk.text
        letter = client.post(
            "/staff/piks",
            data={
                "csrf_token": csrf_of(desk.text),
                "customer": IVAN.number,
                "holder_role": "authorised",
                "holder_name": "Мария Петрова",
                "channel": "qes_request",
                "signer": "Мария Петрова",
            },
            files={"document": ("iskane.pdf", b"%PDF-1.7 signed", "application/pdf")},
        )
        assert letter.status_code == 200, letter.text
        assert letter.headers["cache-control"] == "no-store"
        found = re.search(r'<strong id="letter-pik">([A-Z0-9]{8})</strong>', letter.text)
        assert found is not None
        code = found.group(1)
        assert IVAN.number in letter.text
        pdf_link = re.search(r'href="data:application/pdf;base64,([^"]+)"', letter.text)
        assert pdf_link is not None
        pdf = tmp_path / "letter.pdf"
        pdf.write_bytes(base64.b64decode(pdf_link.group(1)))
        text = subprocess.run(
            ["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True
        ).stdout
        assert code in text and IVAN.number in text and "Мария Петрова" in text
        again = client.get("/staff/piks", params={"customer": IVAN.number})
        assert code not in again.text and "iskane.pdf" in again.text
    with portal.client() as customer:
        assert _pik_login(customer, identifier=IVAN.identifier, pik=code).status_code == 303
    service: PikService = pik_service(portal.services)
    customer_id = next(c.id for c in [service.find_customer(IVAN.number)] if c is not None)
    authorised = next(p for p in service.list_for(customer_id) if p.holder_role == "authorised")
    with closing(portal.browser_session("operator")) as client:
        desk = client.get("/staff/piks", params={"customer": IVAN.number})
        reissued = client.post(
            "/staff/piks/reissue",
            data={
                "csrf_token": csrf_of(desk.text),
                "customer": IVAN.number,
                "pik_id": str(authorised.id),
            },
        )
        assert reissued.status_code == 200
        new = re.search(r'<strong id="letter-pik">([A-Z0-9]{8})</strong>', reissued.text)
        assert new is not None
        revoked = client.post(
            "/staff/piks/revoke",
            data={
                "csrf_token": csrf_of(desk.text),
                "customer": IVAN.number,
                "pik_id": str(authorised.id),
            },
        )
        assert revoked.status_code == 422  # already revoked by the reissue
    with portal.client() as customer:
        assert _pik_login(customer, identifier=IVAN.identifier, pik=code).status_code == 401
        assert _pik_login(customer, identifier=IVAN.identifier, pik=new.group(1)).status_code == 303


def test_the_desk_is_for_operators_and_admins(portal: Portal) -> None:
    with closing(portal.browser_session("installer")) as client:
        assert client.get("/staff/piks").status_code == 403
    with closing(portal.browser_session("admin")) as client:
        page = client.get("/staff/piks", params={"customer": "9999999999"})
        assert page.status_code == 404
