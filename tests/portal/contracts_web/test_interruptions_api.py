"""The interruptions API and pages on the real uvicorn portal (3.2, 5.1-5.3, 6.7, 7.5б).

The portal's clock is 2026-03-02 12:00 UTC (14:00 in Sofia, a Monday).
"""

from __future__ import annotations

from contextlib import closing

from sqlalchemy import select

from portal_api.db.models import OutboxMessage
from tests.portal.web.conftest import OTHER, OWNER, Portal, csrf_of

IVAN = "MYE-2025-0001"


def _open(portal: Portal, **body: object) -> dict[str, object]:
    payload = {"contract_number": IVAN, **body}
    with closing(portal.api("operator")) as client:
        answer = client.post("/api/v1/interruptions", json=payload)
    assert answer.status_code == 201, answer.text
    found: dict[str, object] = answer.json()
    return found


def test_a_time_without_offset_is_refused_with_400(portal: Portal) -> None:
    with closing(portal.api("operator")) as client:
        answer = client.post(
            "/api/v1/interruptions",
            json={"contract_number": IVAN, "kind": "planned", "start": "2026-03-10T08:00:00"},
        )
    assert answer.status_code == 400
    assert "UTC offset" in answer.json()["detail"]


def test_5_1_planned_interruption_is_announced_and_explained(portal: Portal) -> None:
    """Work on Wed 4 March 2026 (3 March, Liberation Day, is a holiday): the notice
    was due by Mon 2 March: the e-mail of today is in time."""
    found = _open(
        portal,
        kind="planned",
        start="2026-03-04T09:00:00+02:00",
        planned_end="2026-03-04T15:00:00+02:00",
        sites=["varna-0001"],
    )
    assert found["sites"] == ["varna-0001"] and found["whole_contract"] is False
    assert found["notified_at"] == "2026-03-02T12:00:00Z"
    listed = found["checks"]
    assert isinstance(listed, list)
    checks = {c["clause"]: c for c in listed}
    assert checks["3.2c"]["value"] is True
    assert checks["3.2c"]["numbers"]["notice_by"] == "2026-03-02"
    assert "в срок" in checks["3.2c"]["reason"]["bg"]
    assert set(checks) == {"3.2c", "5.1", "5.3", "6.7"}
    contract = found["contract"]
    assert isinstance(contract, dict)
    assert contract["termination_right"]["clause"] == "7.5b"
    assert contract["termination_right"]["value"] is False
    with portal.services.sessions() as session:
        mail = session.scalars(
            select(OutboxMessage).where(OutboxMessage.kind == "contract_interruption")
        ).first()
    assert mail is not None and "04.03.2026 09:00" in mail.subject


def test_customer_reads_own_and_not_foreign(portal: Portal) -> None:
    found = _open(portal, kind="unplanned", start="2026-03-02T05:00:00+02:00")
    path = f"/api/v1/interruptions/{found['id']}"
    with closing(portal.api(OWNER)) as owner:
        mine = owner.get(path)
        listed = owner.get("/api/v1/interruptions")
        assert owner.patch(path, json={"end": "2026-03-02T13:00:00+02:00"}).status_code == 403
    assert mine.status_code == 200
    assert {c["clause"] for c in mine.json()["checks"]} == {"5.2", "3.2b", "5.3", "6.7"}
    assert {i["contract_number"] for i in listed.json()} == {IVAN}
    with closing(portal.api(OTHER)) as other:
        foreign = other.get(path)
        unknown = other.get("/api/v1/interruptions/999999")
        assert other.get("/api/v1/interruptions").json() == []
    assert foreign.status_code == unknown.status_code == 404
    assert foreign.json() == unknown.json()


def test_patch_ends_it_and_checks_follow(portal: Portal) -> None:
    found = _open(portal, kind="unplanned", start="2026-03-01T10:00:00+02:00")
    path = f"/api/v1/interruptions/{found['id']}"
    with closing(portal.api("operator")) as client:
        ended = client.patch(path, json={"end": "2026-03-02T10:00:00+02:00"})
        naive = client.patch(path, json={"detected_at": "2026-03-02T10:00:00"})
        both = client.patch(path, json={"company_fault": True, "customer_caused": True})
        reopened = client.patch(path, json={"end": None})
        lasting = client.get("/api/v1/interruptions", params={"lasting": "true"}).json()
    assert ended.status_code == 200, ended.text
    body = ended.json()
    assert body["lasting"] is False and body["hours"] == "24.00"
    assert body["notice_queued_at"] is not None  # over 6 hours: 3.2б
    assert naive.status_code == 400
    assert both.status_code == 400 and "5.3" in both.json()["detail"]
    assert reopened.status_code == 409
    assert found["id"] not in {i["id"] for i in lasting}


def test_installer_reads_but_may_not_open(portal: Portal) -> None:
    with closing(portal.api("installer")) as client:
        assert client.get("/api/v1/interruptions").status_code == 200
        refused = client.post(
            "/api/v1/interruptions",
            json={"contract_number": IVAN, "kind": "planned", "start": "2026-03-10T08:00:00Z"},
        )
    assert refused.status_code == 403


# -- pages ------------------------------------------------------------------------------------


def test_customer_page_shows_history_and_rights(portal: Portal) -> None:
    _open(portal, kind="planned", start="2026-03-20T09:00:00+02:00")
    with closing(portal.browser_session(OWNER)) as client:
        page = client.get("/interruptions")
        client.post("/lang", data={"csrf_token": csrf_of(page.text), "lang": "en", "next": "/"})
        english = client.get("/interruptions")
    assert page.status_code == 200
    assert IVAN in page.text and "MYE-2025-0002" not in page.text
    assert "Право на прекратяване без неустойка" in page.text
    assert "т. 7.5б" in page.text or "7.5б" in page.text
    assert "Right to terminate without penalty" in english.text
    assert "planned" in english.text


def test_staff_desk_opens_and_ends_through_forms(portal: Portal) -> None:
    with closing(portal.browser_session("operator")) as client:
        desk = client.get("/staff/interruptions")
        assert desk.status_code == 200
        token = csrf_of(desk.text)
        opened = client.post(
            "/staff/interruptions",
            data={
                "csrf_token": token,
                "contract_number": IVAN,
                "kind": "unplanned",
                "start": "2026-03-02T01:00",  # Sofia wall-clock time
                "sites": "dobrich-0001",
            },
        )
        assert opened.status_code == 303, opened.text
        location = opened.headers["location"]
        detail = client.get(location)
        assert detail.status_code == 200
        assert "dobrich-0001" in detail.text and "5.2" in detail.text
        ended = client.post(
            location.split("?")[0],
            data={
                "csrf_token": token,
                "end": "2026-03-02T13:00",
                "flags": "1",
                "company_fault": "1",
            },
        )
        assert ended.status_code == 303
        again = client.get(location.split("?")[0])
        bad = client.post(
            "/staff/interruptions",
            data={"csrf_token": token, "contract_number": IVAN, "kind": "planned"},
        )
    assert "12.00" in again.text or "12,00" in again.text  # 01:00 -> 13:00 = 12 hours
    assert bad.status_code == 422
