"""The MyEnergy order pages and API (issue 6) on the running portal: the form, the quote,
the order (a draft contract and a request), the customer's view of the ordered draft.
Ivan's demo invoices are overdue on the fixture's day, so 1.2's debt ground applies.

The demo customers' sites are all in contracts, so each test gives Ivan Georgiev a
free site of his own (varna-0009) in the database first.
"""

from __future__ import annotations

import re
import zlib
from contextlib import closing

import httpx
import pytest
from sqlalchemy import func, select

from portal_api.contracts.db.models import ContractRow
from portal_api.db.enums import Voltage
from portal_api.db.models import Customer, Site
from portal_api.service_requests.models import ServiceRequestRow
from tests.portal.web.conftest import NOW, OTHER, OWNER, Portal, csrf_of

FREE = "varna-0009"


@pytest.fixture
def shop(fresh_portal: Portal) -> Portal:
    with fresh_portal.services.sessions.begin() as session:
        ivan = session.scalars(select(Customer).where(Customer.number == "3100000017")).one()
        session.add(
            Site(
                id=FREE,
                customer_id=ivan.id,
                metering_point=f"32Z9{zlib.crc32(FREE.encode()):012d}",
                name="Склад „Девня“",
                address="ул. „Девня“ 3",
                settlement="Варна",
                voltage=Voltage.LV,
                created_at=NOW,
            )
        )
    return fresh_portal


def _form(client: httpx.Client, **changes: object) -> dict[str, object]:
    page = client.get("/services/myenergy")
    assert page.status_code == 200, page.text
    data: dict[str, object] = {
        "csrf_token": csrf_of(page.text),
        "site": [FREE],
        f"multimeters_{FREE}": "2",
        f"operator_contract_{FREE}": "on",
        "period_months": "24",
        "contact_email": "ivan.georgiev@example.bg",
        "supply_contract": "indefinite",
        "supply_contract_ends_on": "",
    }
    data.update(changes)
    return data


def _count(portal: Portal, table: type[object]) -> int:
    with portal.services.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(table)) or 0)


def test_the_form_lists_free_and_held_sites_and_the_prices(shop: Portal) -> None:
    with closing(shop.browser_session(OWNER)) as client:
        page = client.get("/services/myenergy")
    assert page.status_code == 200
    html = page.text
    assert f'name="site" value="{FREE}"' in html
    assert 'value="varna-0001"' not in html  # held: no checkbox
    assert "MYE-2025-0001" in html  # which contract holds it
    assert "DEMO-2025" in html
    assert "12,90" in html and "14,90" in html  # LV, 24 and 12 months
    assert 'value="ivan.georgiev@example.bg"' in html
    assert f'name="multimeters_{FREE}"' in html


def test_the_quote_shows_every_ground_the_fee_and_the_term(shop: Portal) -> None:
    with closing(shop.browser_session(OWNER)) as client:
        answer = client.post("/services/myenergy/quote", data=_form(client))
    assert answer.status_code == 200, answer.text
    html = answer.text
    # The engine finds Ivan's overdue invoices itself (1.2); the rest he declared.
    assert html.count('class="ground ground-ok"') == 5
    assert html.count('class="ground ground-refuse"') == 1
    assert "Просрочени задължения към дружеството" in html
    # 4.1: 12.90 (LV, 24 months) + 4.50 for the second multimeter = 17.40; x 24 = 417.60.
    assert "17,40" in html and "417,60" in html
    assert "1 април 2026" in html  # 2.3a: credentials today -> from 1 April
    assert f'name="multimeters_{FREE}" value="2"' in html  # the order carried on
    assert _count(shop, ContractRow) == 3 and _count(shop, ServiceRequestRow) == 0


def test_a_refusing_ground_is_shown_and_the_order_may_still_be_sent(shop: Portal) -> None:
    with closing(shop.browser_session(OWNER)) as client:
        data = _form(client, supply_contract="none")
        del data[f"operator_contract_{FREE}"]
        answer = client.post("/services/myenergy/quote", data=data)
        assert answer.status_code == 200
        assert answer.text.count('class="ground ground-refuse"') == 3
        assert f"Няма договор с мрежовия оператор за обект(и): {FREE}." in answer.text
        assert "Дружеството може да откаже" in answer.text
        assert 'formaction="/services/myenergy/quote"' in answer.text
        ordered = client.post("/services/myenergy", data=data)
    assert ordered.status_code == 303


def test_wrong_fields_give_the_form_again_with_every_message(shop: Portal) -> None:
    with closing(shop.browser_session(OWNER)) as client:
        data = _form(
            client,
            site=["shumen-0001"],
            period_months="18",
            contact_email="nope",
            supply_contract="until",
        )
        answer = client.post("/services/myenergy", data=data)
    assert answer.status_code == 400
    html = answer.text
    for message in (
        "Обект shumen-0001 не е ваш.",
        "Абонаментният период е 12 или 24 месеца (т. 2.2).",
        "Въведете валиден адрес на електронна поща.",
        "Посочете до кога е в сила договорът за доставка.",
    ):
        assert message in html
    assert 'value="nope"' in html  # what was typed is kept
    assert _count(shop, ServiceRequestRow) == 0


def test_change_shows_the_form_filled_with_the_order(shop: Portal) -> None:
    with closing(shop.browser_session(OWNER)) as client:
        answer = client.post("/services/myenergy/quote", data=_form(client, change="1"))
    assert answer.status_code == 200
    assert f'value="{FREE}" checked' in answer.text
    assert 'name="period_months" value="24" checked' in answer.text


def test_a_post_without_the_csrf_token_is_refused(shop: Portal) -> None:
    with closing(shop.browser_session(OWNER)) as client:
        data = _form(client, csrf_token="forged")
        assert client.post("/services/myenergy", data=data).status_code == 403
        assert client.post("/services/myenergy/quote", data=data).status_code == 403
    assert _count(shop, ServiceRequestRow) == 0


def test_the_order_is_a_request_and_a_draft_the_customer_sees(shop: Portal) -> None:
    with closing(shop.browser_session(OWNER)) as client:
        answer = client.post("/services/myenergy", data=_form(client))
        assert answer.status_code == 303
        target = answer.headers["location"]
        assert re.fullmatch(r"/requests/SR-2026-\d{6}", target)
        request_page = client.get(target)
        assert request_page.status_code == 200
        assert "Заявката е получена" in request_page.text
        contracts = client.get("/contracts")
        assert "MYE-2026-0001" in contracts.text
        assert "чернова — очаква подписване" in contracts.text
        detail = client.get("/contracts/MYE-2026-0001")
        assert detail.status_code == 200
        assert "17,40" in detail.text
        # Sent again, the site is in the draft now: the form answers 400.
        again = client.post("/services/myenergy", data=_form(client))
        assert again.status_code == 400
        assert "вече е в договор MYE-2026-0001" in again.text
    with closing(shop.browser_session(OTHER)) as client:
        assert client.get("/contracts/MYE-2026-0001").status_code == 404
        assert "MYE-2026-0001" not in client.get("/contracts").text
    with closing(shop.browser_session("operator")) as client:
        assert "MYE-2026-0001" in client.get("/staff/contracts").text


def test_a_draft_staff_made_stays_hidden_from_the_customer(shop: Portal) -> None:
    with closing(shop.api("operator")) as client:
        made = client.post(
            "/api/v1/contracts",
            json={
                "customer_number": "3100000017",
                "sites": [{"site_id": FREE}],
                "period_months": 12,
                "contact_email": "ivan.georgiev@example.bg",
            },
        )
        assert made.status_code == 201, made.text
    with closing(shop.browser_session(OWNER)) as client:
        assert client.get("/contracts/MYE-2026-0001").status_code == 404
        assert "MYE-2026-0001" not in client.get("/contracts").text


def test_staff_may_not_order(shop: Portal) -> None:
    with closing(shop.browser_session("operator")) as client:
        assert client.get("/services/myenergy").status_code == 403


def test_the_api_quotes_and_orders(shop: Portal) -> None:
    body = {
        "sites": [{"site_id": FREE, "multimeters": 1, "operator_contract": True}],
        "period_months": 12,
        "contact_email": "ivan.georgiev@example.bg",
        "supply_contract": "until",
        "supply_contract_ends_on": "2026-04-30",
    }
    with closing(shop.api(OWNER)) as client:
        quote = client.post("/api/v1/myenergy/quote", json=body)
        assert quote.status_code == 200, quote.text
        found = quote.json()
        assert found["monthly_fee"] == "14.90"
        assert found["term_total"] == "178.80"
        assert found["eligibility"]["allowed"] is False
        refusing = [g["ground"] for g in found["grounds"] if not g["allowed"]]
        assert refusing == ["overdue_debts", "supply_contract_expiring"]
        assert len(found["grounds"]) == 6
        ordered = client.post("/api/v1/myenergy/orders", json=body)
        assert ordered.status_code == 201, ordered.text
        assert ordered.json()["contract_number"] == "MYE-2026-0001"
        assert ordered.json()["step"] == "received"
        wrong = client.post(
            "/api/v1/myenergy/orders", json={**body, "contact_email": "not an address"}
        )
        assert wrong.status_code == 400
        assert set(wrong.json()["fields"]) == {"sites", "contact_email"}
    with closing(shop.api("admin")) as client:
        assert client.post("/api/v1/myenergy/quote", json=body).status_code == 403
    spec = httpx.get(f"{shop.url}/api/v1/openapi.json").json()
    assert spec["paths"]["/api/v1/myenergy/orders"]["post"]["tags"] == ["MyEnergy"]
