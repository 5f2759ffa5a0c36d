"""Contract pages through the real portal: the customer's contract and fee breakdown, the
staff list and detail with their forms (CSRF, 303 on success, the page again with the
error and the values kept on bad input), and the price lists page.
"""

from __future__ import annotations

import re
from contextlib import closing

import httpx
from sqlalchemy import select

from portal_api.contracts.app.contracts import ContractService, Draft, DraftSite
from portal_api.contracts.app.contracts_common import Actor
from portal_api.db.models import User
from tests.portal.contracts_web.test_contracts_api import NEW_SITE, _new_site
from tests.portal.web.conftest import OTHER, OWNER, Portal, csrf_of

CONTRACT = "MYE-2025-0001"


def _english(client: httpx.Client) -> None:
    token = csrf_of(client.get("/account").text)
    client.post("/lang", data={"csrf_token": token, "lang": "en", "next": "/account"})


def _draft(portal: Portal) -> str:
    """A draft over a new site of the owner, made by the operator (service layer)."""
    _new_site(portal)
    services = portal.services
    with services.sessions() as session:
        operator = session.scalars(select(User.id).where(User.username == "operator")).one()
    result = ContractService(services.sessions, services.clock, services.calendar).create_draft(
        Draft("3100000017", (DraftSite(NEW_SITE),), 12, "ivan.georgiev@example.bg"),
        Actor(operator),
    )
    return result.detail.number


def test_customer_sees_the_contract_and_its_fee_breakdown(portal: Portal) -> None:
    with closing(portal.browser_session(OWNER)) as client:
        page = client.get("/contracts")
        assert page.status_code == 200
        html = page.text
        # One contract: shown at once, in Bulgarian by default.
        assert "MYE-2025-0001" in html and "активен" in html
        assert "29,80\xa0€" in html and "14,90\xa0€" in html
        assert "DEMO-2025" in html and "ДДС" in html
        assert "31 декември 2026" in html and "17 декември 2026" in html  # 2.2, 2.5
        for clause in ("4.1", "4.2", "2.3a", "2.2", "2.5"):
            assert f"<td>{clause}</td>" in html or f">{clause}<" in html, clause
        _english(client)
        english = client.get(f"/contracts/{CONTRACT}").text
        assert "Monthly fee" in english and "€29.80" in english
        assert "The subscription ends on 2026-12-31" in english


def test_a_foreign_contract_page_is_not_found(portal: Portal) -> None:
    with closing(portal.browser_session(OTHER)) as client:
        assert client.get(f"/contracts/{CONTRACT}").status_code == 404
        assert client.get("/contracts/MYE-1999-0009").status_code == 404
        assert client.get("/staff/contracts").status_code == 403


def test_staff_list_and_detail(portal: Portal) -> None:
    with closing(portal.browser_session("operator")) as client:
        assert client.get("/contracts").headers["location"] == "/staff/contracts"
        listing = client.get("/staff/contracts?customer_number=3100000033").text
        assert "MYE-2025-0002" in listing and "MYE-2025-0001" not in listing
        detail = client.get(f"/staff/contracts/{CONTRACT}").text
        assert 'action="/staff/contracts/MYE-2025-0001/renew"' in detail
        assert "/installation" not in detail  # active: nothing to install
        assert client.get("/staff/contracts/MYE-1999-0009").status_code == 404


def test_forms_sign_then_installer_sees_only_the_installation_form(fresh_portal: Portal) -> None:
    number = _draft(fresh_portal)
    with closing(fresh_portal.browser_session("operator")) as client:
        page = client.get(f"/staff/contracts/{number}").text
        assert f'action="/staff/contracts/{number}/sign"' in page
        token = csrf_of(page)
        bad = client.post(
            f"/staff/contracts/{number}/sign", data={"csrf_token": token, "signed_on": "2026-13-40"}
        )
        assert bad.status_code == 422
        assert 'role="alert"' in bad.text and 'value="2026-13-40"' in bad.text  # kept
        forged = client.post(
            f"/staff/contracts/{number}/sign", data={"csrf_token": "x", "signed_on": "2026-03-02"}
        )
        assert forged.status_code == 403
        done = client.post(
            f"/staff/contracts/{number}/sign", data={"csrf_token": token, "signed_on": "2026-03-02"}
        )
        assert done.status_code == 303
        assert done.headers["location"] == f"/staff/contracts/{number}?done=signed"
        after = client.get(done.headers["location"]).text
        assert 'role="status"' in after and "подписан" in after
    with closing(fresh_portal.browser_session("installer")) as client:
        page = client.get(f"/staff/contracts/{number}").text
        assert f'action="/staff/contracts/{number}/installation"' in page
        assert "/sign" not in page and "/renew" not in page and "/credentials" not in page
        token = csrf_of(page)
        missing = client.post(
            f"/staff/contracts/{number}/installation",
            data={"csrf_token": token, "outcome": "installed", "technician": "Петър Петров"},
        )
        assert missing.status_code == 422
        assert "Петър Петров" in missing.text  # nothing lost
        assert re.search(r'role="alert">[^<]*Дата на инсталиране', missing.text)
        refused = client.post(
            f"/staff/contracts/{number}/installation",
            data={
                "csrf_token": token,
                "outcome": "postponed",
                "on": "2026-03-02",
                "mismatch": "other",
            },
        )
        assert (
            refused.status_code == 422 and "не е допустимо" in refused.text
        )  # 1.4.2: no visit yet
        visit = client.post(
            f"/staff/contracts/{number}/installation",
            data={"csrf_token": token, "outcome": "visit_agreed", "on": "2026-03-02"},
        )
        assert visit.status_code == 303
        assert (
            client.post(
                f"/staff/contracts/{number}/sign",
                data={"csrf_token": token, "signed_on": "2026-03-02"},
            ).status_code
            == 403
        )


def test_price_lists_page_and_publishing(fresh_portal: Portal) -> None:
    with closing(fresh_portal.browser_session("operator")) as client:
        page = client.get("/staff/price-lists").text
        assert "DEMO-2025" in page and 'action="/staff/price-lists"' not in page
    with closing(fresh_portal.browser_session("admin")) as client:
        token = csrf_of(client.get("/staff/price-lists").text)
        form = {
            "csrf_token": token,
            "name": "PRICES-2026-04",
            "effective_from": "2026-04-01",
            "additional_device": "5,00",
            **{f"{v}_{m}": "19,90" for v in ("lv", "mv", "hv") for m in (12, 24)},
        }
        bad = client.post("/staff/price-lists", data={**form, "hv_24": "много"})
        assert bad.status_code == 422 and 'value="PRICES-2026-04"' in bad.text
        done = client.post("/staff/price-lists", data=form)
        assert done.status_code == 303
        listed = client.get(done.headers["location"]).text
        assert "PRICES-2026-04" in listed and re.search(r"19[.,]90", listed)
        twice = client.post("/staff/price-lists", data=form)
        assert twice.status_code == 422 and "4.2" in twice.text


def test_1_2_draft_form_shows_the_grounds_on_the_new_draft(fresh_portal: Portal) -> None:
    _new_site(fresh_portal)
    with closing(fresh_portal.browser_session("operator")) as client:
        page = client.get("/staff/contracts").text
        assert 'method="post" action="/staff/contracts"' in page
        assert 'name="supply_contract_active"' in page
        token = csrf_of(page)
        form = {
            "csrf_token": token,
            "customer_number": "3100000017",
            "sites": f"{NEW_SITE}:2",
            "period_months": "12",
            "contact_email": "ivan.georgiev@example.bg",
            "missing_documents": "нотариален акт",
            "supply_contract_active": "on",
        }
        bad = client.post("/staff/contracts", data={**form, "sites": "varna-0009:0"})
        assert bad.status_code == 422 and 'value="нотариален акт"' in bad.text
        foreign = client.post("/staff/contracts", data={**form, "sites": "shumen-0001"})
        assert foreign.status_code == 422 and "shumen-0001" in foreign.text
        done = client.post("/staff/contracts", data=form)
        assert done.status_code == 303
        assert done.headers["location"] == "/staff/contracts/MYE-2026-0001?done=drafted"
        draft = client.get(done.headers["location"]).text
        assert "чернова" in draft and "нотариален акт" in draft
        assert "Просрочени задължения към дружеството" in draft  # from the owner's invoices
        assert 'action="/staff/contracts/MYE-2026-0001/sign"' in draft
    with closing(fresh_portal.browser_session("installer")) as client:
        page = client.get("/staff/contracts").text
        assert 'method="post" action="/staff/contracts"' not in page
        token = csrf_of(page)
        assert client.post("/staff/contracts", data={"csrf_token": token}).status_code == 403
