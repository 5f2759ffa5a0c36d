"""The decisions queue and terminations through the real HTTP stack (4.4, 7.x, 8.x).

The seeded portal of the web fixture (NOW = 2026-03-02): every demo contract has
its January invoice more than 45 and February's more than 5 days late, so the
queue holds suspension and termination proposals.
"""

from __future__ import annotations

from contextlib import closing

import httpx

from tests.portal.web.conftest import OWNER, Portal, csrf_of

IVAN = "MYE-2025-0001"
MARIA = "MYE-2025-0002"


def _first(client: httpx.Client, kind: str, contract: str = IVAN) -> dict[str, object]:
    queue = client.get("/api/v1/decisions", params={"contract_number": contract}).json()
    return next(d for d in queue if d["kind"] == kind)


def test_queue_oldest_first_with_explanations(portal: Portal) -> None:
    with closing(portal.api("operator")) as client:
        answer = client.get("/api/v1/decisions")
        assert answer.status_code == 200
        queue = answer.json()
        one = client.get(f"/api/v1/decisions/{queue[0]['id']}").json()
        missing = client.get("/api/v1/decisions/999999")
    assert [d["proposed_on"] for d in queue] == sorted(d["proposed_on"] for d in queue)
    assert {d["state"] for d in queue} == {"proposed"}
    kinds = {d["kind"] for d in queue}
    assert {"suspension_proposed", "termination_proposed"} <= kinds
    assert one["reason"]["bg"] and one["reason"]["en"] and one["clause"] == "4.4"
    assert "days_late" in one["numbers"] or "days_late" in str(one["explanation"])
    assert missing.status_code == 404
    with closing(portal.api(OWNER)) as client:
        assert client.get("/api/v1/decisions").status_code == 403


def test_4_4_confirm_over_the_api_suspends_then_409(fresh_portal: Portal) -> None:
    with closing(fresh_portal.api("operator")) as client:
        proposal = _first(client, "suspension_proposed")
        done = client.post(f"/api/v1/decisions/{proposal['id']}/confirm")
        again = client.post(f"/api/v1/decisions/{proposal['id']}/confirm")
        contract = client.get(f"/api/v1/contracts/{IVAN}").json()
    assert done.status_code == 200, done.text
    assert done.json()["state"] == "confirmed"
    assert again.status_code == 409 and again.json()["reason"]["bg"]
    assert contract["state"] == "suspended"


def test_7_3_quote_then_terminate(fresh_portal: Portal) -> None:
    with closing(fresh_portal.api("operator")) as client:
        quote = client.get(
            f"/api/v1/contracts/{IVAN}/termination/quote", params={"ground": "company_early"}
        )
        assert quote.status_code == 200, quote.text
        assert quote.json()["company_owes"] == "89.40"  # 8.2 + March's invoice credited
        assert quote.json()["ends_on"] == "2026-03-16"
        # the quote changed nothing
        assert client.get(f"/api/v1/contracts/{IVAN}").json()["state"] == "active"
        done = client.post(
            f"/api/v1/contracts/{IVAN}/termination", json={"ground": "company_early"}
        )
        assert done.status_code == 200, done.text
        assert done.json()["scheduled"] is True
        refused = client.post(
            f"/api/v1/contracts/{IVAN}/termination",
            json={"ground": "dismantling", "amount": "300.00"},
        )
        assert refused.status_code == 409
        assert refused.json()["explanation"]["clause"] == "7.7"


def test_7_2_customer_notice_reaches_the_queue(fresh_portal: Portal) -> None:
    with closing(fresh_portal.api(OWNER)) as client:
        quote = client.get(
            f"/api/v1/contracts/{IVAN}/termination/quote", params={"ground": "customer_early"}
        )
        assert quote.status_code == 200
        assert quote.json()["customer_owes"] == "59.60"  # 16 March: March is invoiced
        foreign = client.post(
            f"/api/v1/contracts/{MARIA}/termination-notice", json={"ground": "customer_early"}
        )
        given = client.post(
            f"/api/v1/contracts/{IVAN}/termination-notice", json={"ground": "customer_early"}
        )
        company = client.get(
            f"/api/v1/contracts/{IVAN}/termination/quote", params={"ground": "company_early"}
        )
    assert foreign.status_code == 404
    assert company.status_code == 403
    assert given.status_code == 201, given.text
    with closing(fresh_portal.api("operator")) as client:
        notice = client.get(f"/api/v1/decisions/{given.json()['decision_id']}").json()
        assert notice["kind"] == "termination_proposed" and notice["clause"] == "7.2"
        done = client.post(f"/api/v1/decisions/{notice['id']}/confirm")
        assert done.status_code == 200, done.text


def test_staff_page_confirms_with_the_explanation_in_bulgarian(fresh_portal: Portal) -> None:
    with closing(fresh_portal.browser_session("operator")) as client:
        page = client.get("/staff/decisions", headers={"Accept-Language": "bg"})
        assert page.status_code == 200
        assert "Предложения" in page.text and "просрочена" in page.text
        with closing(fresh_portal.api("operator")) as api:
            proposal = _first(api, "suspension_proposed", MARIA)
        forged = client.post(
            f"/staff/decisions/{proposal['id']}/confirm", data={"csrf_token": "forged"}
        )
        assert forged.status_code == 403
        done = client.post(
            f"/staff/decisions/{proposal['id']}/confirm", data={"csrf_token": csrf_of(page.text)}
        )
        assert done.status_code == 303
        after = client.get(done.headers["location"])
        assert "потвърдено и приложено" in after.text
        assert f'id="decision-{proposal["id"]}"' not in after.text  # no longer open
    with closing(fresh_portal.browser_session(OWNER)) as client:
        assert client.get("/staff/decisions").status_code == 403


def test_customer_terminate_page_quotes_and_sends(fresh_portal: Portal) -> None:
    with closing(fresh_portal.browser_session(OWNER)) as client:
        page = client.get(f"/contracts/{IVAN}/terminate")
        assert page.status_code == 200
        assert "8.1" in page.text
        assert client.get(f"/contracts/{MARIA}/terminate").status_code == 404
        sent = client.post(
            f"/contracts/{IVAN}/terminate",
            data={"csrf_token": csrf_of(page.text), "ground": "customer_early"},
        )
        assert sent.status_code == 200, sent.text
        twice = client.post(
            f"/contracts/{IVAN}/terminate",
            data={"csrf_token": csrf_of(page.text), "ground": "customer_early"},
        )
        assert twice.status_code == 409


def test_staff_termination_page_quotes_then_applies(fresh_portal: Portal) -> None:
    path = f"/staff/contracts/{IVAN}/termination"
    with closing(fresh_portal.browser_session("operator")) as client:
        page = client.get(path, params={"ground": "equipment_damage", "amount": "250.00"})
        assert page.status_code == 200
        assert "500,00" in page.text  # 200 % of 250 (8.1a), the page in Bulgarian
        applied = client.post(
            path,
            data={
                "csrf_token": csrf_of(page.text),
                "ground": "equipment_damage",
                "amount": "250.00",
            },
        )
        assert applied.status_code == 200, applied.text
    with closing(fresh_portal.api("operator")) as client:
        assert client.get(f"/api/v1/contracts/{IVAN}").json()["state"] == "terminated"
