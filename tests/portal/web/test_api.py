"""The JSON API against the real app: answers per decision 0004."""

from __future__ import annotations

import csv
import io
from contextlib import closing

from portal_api.notify.outbox import Outbox
from portal_api.seed import DEMO_PASSWORD
from tests.portal.web.conftest import METER, MODULE, OWNER, SITE, Portal

DAY = "period_from=2026-03-02&period_to=2026-03-03"


def test_openapi_lists_the_contract(portal: Portal) -> None:
    with closing(portal.client()) as client:
        spec = client.get("/api/v1/openapi.json").json()
        docs = client.get("/api/docs")
    paths = spec["paths"]
    for path in (
        "/api/v1/auth/token",
        "/api/v1/me",
        "/api/v1/sites/{site_id}/consumption",
        "/api/v1/sites/{site_id}/consumption.csv",
        "/api/v1/sites/{site_id}/consumption.xml",
        "/api/v1/devices/{device_id}/phases",
        "/api/v1/sites/{site_id}/live",
        "/api/v1/staff/credential-requests/{request_id}/fulfil",
    ):
        assert path in paths, path
    assert {t["name"] for t in spec["tags"]} >= {"auth", "sites", "consumption", "devices"}
    assert docs.status_code == 200 and "/api/v1/sites/{site_id}/consumption" in docs.text
    assert "cdn" not in docs.text.lower()


def test_token_lifecycle(portal: Portal) -> None:
    with closing(portal.client()) as client:
        wrong = client.post("/api/v1/auth/token", data={"username": OWNER, "password": "nope"})
        unknown = client.post("/api/v1/auth/token", data={"username": "ghost", "password": "x"})
        assert wrong.status_code == unknown.status_code == 401
        assert wrong.json() == unknown.json()  # no account enumeration
        answer = client.post(
            "/api/v1/auth/token", data={"username": OWNER, "password": DEMO_PASSWORD}
        ).json()
        assert answer["token_type"] == "bearer" and answer["expires_in"] > 0
        auth = {"Authorization": f"Bearer {answer['access_token']}"}
        me = client.get("/api/v1/me", headers=auth).json()
        assert me["role"] == "customer" and me["customer"]["number"] == "3100000017"
        assert client.delete("/api/v1/auth/token", headers=auth).status_code == 204
        assert client.get("/api/v1/me", headers=auth).status_code == 401


def test_sites_overview_values(portal: Portal) -> None:
    with closing(portal.api(OWNER)) as client:
        site = client.get(f"/api/v1/sites/{SITE}").json()
    assert site["today_kwh"] > 0
    assert site["current_power_w"] > 0
    assert site["online"] is True
    devices = {d["id"]: d for d in site["devices"]}
    assert devices[METER]["online"] and devices[MODULE]["online"]  # the module: its meter's state


def test_consumption_lists_every_interval_with_completeness(portal: Portal) -> None:
    with closing(portal.api(OWNER)) as client:
        page = client.get(
            f"/api/v1/sites/{SITE}/consumption?{DAY}&group_by=15min&page_size=100"
        ).json()
    assert page["count"] == 96 and len(page["results"]) == 96
    assert page["unit"] == "kWh" and page["tz"] == "Europe/Sofia" and page["next"] is None
    results = page["results"]
    assert results[0]["interval_start"] == "2026-03-02T00:00:00+02:00"
    gap = next(r for r in results if r["interval_start"] == "2026-03-02T10:15:00+02:00")
    assert gap["import_kwh"] is None and gap["completeness"] == 0
    partial = next(r for r in results if r["interval_start"] == "2026-03-02T10:00:00+02:00")
    assert 0 < partial["completeness"] < 1
    full = next(r for r in results if r["interval_start"] == "2026-03-02T12:00:00+02:00")
    assert full["completeness"] == 1 and full["import_kwh"] > 0


def test_consumption_pages_link_to_each_other(portal: Portal) -> None:
    with closing(portal.api(OWNER)) as client:
        first = client.get(
            f"/api/v1/sites/{SITE}/consumption?{DAY}&group_by=15min&page_size=40"
        ).json()
        assert first["previous"] is None and first["next"] is not None
        second = client.get(first["next"]).json()
        assert second["page"] == 2 and second["previous"] is not None
        assert second["results"][0]["interval_start"] == "2026-03-02T10:00:00+02:00"
        newest = client.get(
            f"/api/v1/sites/{SITE}/consumption?{DAY}&group_by=hour&order=desc"
        ).json()
    assert newest["results"][0]["interval_start"] == "2026-03-02T23:00:00+02:00"


def test_consumption_query_errors(portal: Portal) -> None:
    base = f"/api/v1/sites/{SITE}/consumption"
    with closing(portal.api(OWNER)) as client:
        naive = client.get(f"{base}?period_from=2026-03-02T00:00&period_to=2026-03-03")
        assert naive.status_code == 400 and "offset" in naive.json()["detail"]
        backwards = client.get(f"{base}?period_from=2026-03-03&period_to=2026-03-02")
        assert backwards.status_code == 400
        assert client.get(f"{base}?{DAY}&group_by=fortnight").status_code == 422
        assert client.get(f"{base}?{DAY}&tz=Mars/Olympus").status_code == 400
        assert client.get(f"{base}?{DAY}&page_size=5001").status_code == 422


def test_csv_and_green_button(portal: Portal) -> None:
    with closing(portal.api(OWNER)) as client:
        answer = client.get(f"/api/v1/sites/{SITE}/consumption.csv?{DAY}&group_by=hour")
        xml = client.get(f"/api/v1/sites/{SITE}/consumption.xml?{DAY}&group_by=hour")
    assert answer.headers["content-type"] == "text/csv; charset=utf-8"
    assert "attachment" in answer.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(answer.text)))
    assert rows[0] == ["interval_start", "interval_end", "import_kwh", "export_kwh", "completeness"]
    assert len(rows) == 1 + 24
    assert xml.headers["content-type"].startswith("application/atom+xml")
    assert xml.content.startswith(b"<?xml")


def test_phases_latest_and_status(portal: Portal) -> None:
    with closing(portal.api(OWNER)) as client:
        phases = client.get(
            f"/api/v1/devices/{METER}/phases?{DAY}&resolution=hour&page_size=24"
        ).json()
        latest = client.get(f"/api/v1/devices/{METER}/latest").json()
        status = client.get(f"/api/v1/devices/{METER}/status").json()
        module = client.get(f"/api/v1/devices/{MODULE}/status").json()
    assert phases["count"] == 24
    noon = phases["results"][12]
    assert noon["l1"]["u_v"] > 200 and noon["total"]["p_w"] > 0 and noon["completeness"] == 1
    assert latest["l1"]["p_w"] > 0 and latest["import_kwh"] > 1000
    assert status["online"] and status["queue_depth"] == 3 and status["signal_dbm"] == -71
    assert module["device_id"] == MODULE and module["queue_depth"] == 3


def test_live_without_a_hub_is_unavailable(portal: Portal) -> None:
    with closing(portal.api(OWNER)) as client:
        assert client.get(f"/api/v1/sites/{SITE}/live").status_code == 503


def test_reset_request_reveals_nothing(portal: Portal) -> None:
    with closing(portal.client()) as client:
        known = client.post("/api/v1/auth/reset-request", json={"login": OWNER})
        unknown = client.post("/api/v1/auth/reset-request", json={"login": "ghost@example.bg"})
    assert known.status_code == unknown.status_code == 202
    assert known.json() == unknown.json()


def test_reset_with_a_bad_token(portal: Portal) -> None:
    with closing(portal.client()) as client:
        answer = client.post(
            "/api/v1/auth/reset", json={"token": "forged", "new_password": "long-enough-pass"}
        )
    assert answer.status_code == 400


def test_credential_request_and_fulfilment(fresh_portal: Portal) -> None:
    with closing(fresh_portal.client()) as client:
        answer = client.post(
            "/api/v1/credential-requests",
            json={"contact_email": "hlebna.kashta@example.bg", "customer_number": "3100000033"},
        )
        assert answer.status_code == 202
        bad = client.post("/api/v1/credential-requests", json={"contact_email": "not-an-address"})
        assert bad.status_code == 422
    with closing(fresh_portal.api("operator")) as staff:
        queue = staff.get("/api/v1/staff/credential-requests").json()
        assert len(queue) == 2 and all(r["state"] == "open" for r in queue)
        newest = max(queue, key=lambda r: r["id"])
        assert newest["due_at"] > newest["received_at"]
        done = staff.post(f"/api/v1/staff/credential-requests/{newest['id']}/fulfil")
        assert done.status_code == 200 and done.json()["state"] == "fulfilled"
        again = staff.post(f"/api/v1/staff/credential-requests/{newest['id']}/fulfil")
        assert again.status_code == 409
    # The new credentials go out by e-mail: queued in the outbox with the fulfilment.
    outbox = Outbox(fresh_portal.server.services.sessions)
    assert outbox.pending_count() >= 1


def test_password_change_through_the_api(fresh_portal: Portal) -> None:
    with closing(fresh_portal.api(OWNER)) as client:
        short = client.post(
            "/api/v1/me/password", json={"current_password": DEMO_PASSWORD, "new_password": "x"}
        )
        assert short.status_code == 422
        wrong = client.post(
            "/api/v1/me/password",
            json={"current_password": "not-it-at-all", "new_password": "another-pass-2026"},
        )
        assert wrong.status_code == 400
        ok = client.post(
            "/api/v1/me/password",
            json={"current_password": DEMO_PASSWORD, "new_password": "another-pass-2026"},
        )
        assert ok.status_code == 200
        assert client.get("/api/v1/me").status_code == 200  # this token stays
    assert fresh_portal.token(OWNER, "another-pass-2026")
