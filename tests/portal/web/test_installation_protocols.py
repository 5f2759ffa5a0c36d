"""Installation documents through the real portal (uvicorn, SQLite): upload, list, download.

A new site of the owner gets a contract drafted, signed and (for the handover) a
visit booked through the API, as the service centre and the technician would; the
CLI's upload then records the outcome (1.4.2 Appendix 2 -> active; 1.5 Appendix 3 ->
ended without penalties) and stores the PDF in one transaction.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from contextlib import closing
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from edge_agent.install.protocol_pdf import ProtocolDocument, render_findings, render_handover
from portal_api.db.enums import Voltage
from portal_api.db.models import AuditEntry, Customer, Site
from portal_api.installations.models import InstallationProtocolRow
from tests.portal.web.conftest import NOW, OTHER, OWNER, Portal

NEW_SITE = "varna-0009"


def signed_contract(portal: Portal, *, book_visit: bool) -> str:
    """A signed contract of the owner for a new site; with a visit booked if asked (1.4.2)."""
    with portal.services.sessions.begin() as session:
        owner = session.scalars(select(Customer).where(Customer.number == "3100000017")).one()
        session.add(
            Site(
                id=NEW_SITE,
                customer_id=owner.id,
                metering_point="32Z0000000000009",
                name="Склад Варна",
                address="ул. Складова 9",
                settlement="Варна",
                voltage=Voltage.LV,
                created_at=NOW,
            )
        )
    with closing(portal.api("operator")) as operator:
        made = operator.post(
            "/api/v1/contracts",
            json={
                "customer_number": "3100000017",
                "sites": [{"site_id": NEW_SITE, "multimeters": 1}],
                "period_months": 12,
                "contact_email": "ivan.georgiev@example.bg",
            },
        )
        assert made.status_code == 201, made.text
        number: str = made.json()["contract"]["number"]
        signed = operator.post(f"/api/v1/contracts/{number}/sign", json={"signed_on": "2026-03-02"})
        assert signed.status_code == 200, signed.text
        if book_visit:
            visit = operator.post(
                f"/api/v1/contracts/{number}/installation",
                json={"outcome": "visit_agreed", "on": "2026-03-02"},
            )
            assert visit.status_code == 200, visit.text
    return number


def _pdf(number: str, kind: str) -> bytes:
    document = ProtocolDocument(
        contract_number=number,
        customer_name="Иван Георгиев",
        customer_number="3100000017",
        site_id=NEW_SITE,
        at=dt.datetime(2026, 3, 2, 13, 30),
        technician="Петър Петров",
        signatory_name="Иван Георгиев",
        reason="no_mobile_coverage" if kind == "findings" else None,
    )
    return render_findings(document) if kind == "findings" else render_handover(document)


def _outcome(kind: str, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "client_id": str(uuid.uuid4()),
        "kind": kind,
        "installed_on": "2026-03-02",
        "protocols_signed_on": "2026-03-02",
        "site_id": NEW_SITE,
        "technician": "Петър Петров",
        "signatory_name": "Иван Георгиев",
        "signatory_capacity": "customer",
    }
    if kind == "findings":
        body["reason"] = "no_mobile_coverage"
    body.update(changes)
    return body


def _upload(
    client: httpx.Client, number: str, outcome: dict[str, Any], pdf: bytes
) -> httpx.Response:
    return client.post(
        f"/api/v1/contracts/{number}/installation-protocols",
        files={"pdf": (f"{outcome['kind']}-{number}.pdf", pdf, "application/pdf")},
        data={"outcome": json.dumps(outcome)},
    )


def _stored(portal: Portal) -> int:
    with portal.services.sessions() as session:
        return session.scalar(select(func.count()).select_from(InstallationProtocolRow)) or 0


def test_1_4_2_handover_upload_activates_the_contract_once(fresh_portal: Portal) -> None:
    number = signed_contract(fresh_portal, book_visit=True)
    pdf = _pdf(number, "handover")
    outcome = _outcome("handover")
    with closing(fresh_portal.api("installer")) as installer:
        first = _upload(installer, number, outcome, pdf)
        assert first.status_code == 201, first.text
        body = first.json()
        assert body["created"] is True and body["contract_state"] == "active"
        assert body["protocol"]["kind"] == "handover"
        assert body["protocol"]["outcome"]["rule"]["clause"] == "1.4.2"
        again = _upload(installer, number, outcome, pdf)  # the CLI's retry after a lost answer
        assert again.status_code == 200, again.text
        assert again.json()["created"] is False
        assert again.json()["protocol"]["id"] == body["protocol"]["id"]
        assert installer.get(f"/api/v1/contracts/{number}").json()["state"] == "active"
        listed = installer.get(f"/api/v1/contracts/{number}/installation-protocols").json()
        assert [p["client_id"] for p in listed] == [outcome["client_id"]]
    assert _stored(fresh_portal) == 1
    download = body["protocol"]["download"]
    with closing(fresh_portal.api(OWNER)) as owner:  # the contract's customer gets its copy
        got = owner.get(download)
        assert got.status_code == 200 and got.headers["content-type"] == "application/pdf"
        assert got.content == pdf
    with closing(fresh_portal.api(OTHER)) as other:
        assert other.get(download).status_code == 404
        assert other.get(f"/api/v1/contracts/{number}/installation-protocols").status_code == 404
    with fresh_portal.services.sessions() as session:
        actions = session.scalars(
            select(AuditEntry.action).where(AuditEntry.object_id == number).order_by(AuditEntry.id)
        ).all()
    assert actions.count("contract.installation.installed") == 1
    assert actions.count("contract.installation.protocol") == 1


def test_1_5_findings_end_the_contract_without_penalties(fresh_portal: Portal) -> None:
    number = signed_contract(fresh_portal, book_visit=False)  # 1.5 also applies before a booking
    with closing(fresh_portal.api("installer")) as installer:
        answer = _upload(installer, number, _outcome("findings"), _pdf(number, "findings"))
        assert answer.status_code == 201, answer.text
        assert answer.json()["contract_state"] == "ended_installation_impossible"
        assert answer.json()["protocol"]["outcome"]["rule"]["clause"] == "1.5"
        contract = installer.get(f"/api/v1/contracts/{number}").json()
    assert contract["state"] == "ended_installation_impossible"


def test_an_engine_refusal_stores_nothing(fresh_portal: Portal) -> None:
    number = signed_contract(fresh_portal, book_visit=False)  # no visit booked: not installable
    with closing(fresh_portal.api("installer")) as installer:
        answer = _upload(installer, number, _outcome("handover"), _pdf(number, "handover"))
        assert answer.status_code == 409, answer.text
        assert answer.json()["reason"]["bg"] and answer.json()["explanation"]["clause"] == "1.4.2"
        assert installer.get(f"/api/v1/contracts/{number}").json()["state"] == "signed"
        assert installer.get(f"/api/v1/contracts/{number}/installation-protocols").json() == []
    assert _stored(fresh_portal) == 0


def test_bad_uploads_and_callers_are_refused(fresh_portal: Portal) -> None:
    number = signed_contract(fresh_portal, book_visit=True)
    pdf = _pdf(number, "handover")
    with closing(fresh_portal.api("installer")) as installer:
        not_pdf = _upload(installer, number, _outcome("handover"), b"GIF89a not a pdf")
        assert not_pdf.status_code == 400 and not_pdf.json()["reason"]["en"].endswith("PDF.")
        bad_json = installer.post(
            f"/api/v1/contracts/{number}/installation-protocols",
            files={"pdf": ("x.pdf", pdf, "application/pdf")},
            data={"outcome": "{not json"},
        )
        assert bad_json.status_code == 422
        no_reason = _upload(installer, number, _outcome("findings", reason=None), pdf)
        assert no_reason.status_code == 400
        unknown = _upload(installer, "MYE-1999-0001", _outcome("handover"), pdf)
        assert unknown.status_code == 404
        big = _upload(installer, number, _outcome("handover"), b"%PDF-" + b"0" * (6 << 20))
        assert big.status_code == 413
    with closing(fresh_portal.api(OWNER)) as owner:  # a customer cannot record outcomes
        assert _upload(owner, number, _outcome("handover"), pdf).status_code == 403
    assert _stored(fresh_portal) == 0


def test_the_outcome_and_the_document_commit_together(
    fresh_portal: Portal, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failure after the engine moved the contract (storing the document) undoes the move."""
    number = signed_contract(fresh_portal, book_visit=True)

    def broken_audit(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr("portal_api.installations.protocols.audit", broken_audit)
    with closing(fresh_portal.api("installer")) as installer:
        answer = _upload(installer, number, _outcome("handover"), _pdf(number, "handover"))
        assert answer.status_code == 500
    with closing(fresh_portal.api("installer")) as installer:  # the server dropped that one
        assert installer.get(f"/api/v1/contracts/{number}").json()["state"] == "installation"
    assert _stored(fresh_portal) == 0
