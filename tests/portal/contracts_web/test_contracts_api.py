"""Contracts API through the real portal (uvicorn, SQLite, the demo data and its daily run).

The demo contract MYE-2025-0001 of ivan.georgiev: signed 2025-12-05, two LV sites,
12 months at DEMO-2025 (14.90 each), subscription 2026-01-01 to 2026-12-31. State
changes run on ``fresh_portal`` with a new site of the owner (every demo site is
already in a contract).
"""

from __future__ import annotations

import datetime as dt
from contextlib import closing
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from portal_api.db.enums import Voltage
from portal_api.db.models import AuditEntry, Customer, Site
from tests.portal.web.conftest import NOW, OTHER, OWNER, Portal

CONTRACT = "MYE-2025-0001"
NEW_SITE = "varna-0009"


def _new_site(portal: Portal, voltage: Voltage = Voltage.LV) -> None:
    """A site of the owner that is in no contract yet."""
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
                voltage=voltage,
                created_at=NOW,
            )
        )


def _draft_body(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "customer_number": "3100000017",
        "sites": [{"site_id": NEW_SITE, "multimeters": 2}],
        "period_months": 24,
        "contact_email": "ivan.georgiev@example.bg",
    }
    body.update(changes)
    return body


def test_4_1_owner_reads_the_fee_breakdown_and_term(portal: Portal) -> None:
    with closing(portal.api(OWNER)) as client:
        answer = client.get(f"/api/v1/contracts/{CONTRACT}")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["state"] == "active" and body["state_bg"] == "активен"
    fee = body["fee"]
    assert fee["currency"] == "EUR" and fee["total"] == "29.80" and fee["fixed"] is True
    assert [(line["site_id"], line["unit_price"]) for line in fee["lines"]] == [
        ("varna-0001", "14.90"),
        ("dobrich-0001", "14.90"),
    ]
    assert fee["rule"]["clause"] == "4.1" and fee["kept"]["clause"] == "4.2"
    assert body["price_list"]["name"] == "DEMO-2025"
    assert body["subscription_start"] == "2026-01-01"
    assert body["subscription_end"] == "2026-12-31"
    assert body["expiry_notice_by"] == "2026-12-17"  # 2.5: 14 days before
    assert body["rules"]["subscription_start"]["clause"] == "2.3a"
    assert body["rules"]["expiry_notice"]["reason"]["bg"].startswith("Уведомлението")
    assert body["free_months"] == 0


def test_a_foreign_contract_is_not_found_like_an_unknown_one(portal: Portal) -> None:
    with closing(portal.api(OTHER)) as client:
        foreign = client.get(f"/api/v1/contracts/{CONTRACT}")
        unknown = client.get("/api/v1/contracts/MYE-1999-0001")
        own = client.get("/api/v1/contracts").json()
    assert foreign.status_code == unknown.status_code == 404
    assert foreign.json() == unknown.json()
    assert [c["number"] for c in own] == ["MYE-2025-0002"]


def test_staff_list_filters_by_state_and_customer_number(portal: Portal) -> None:
    with closing(portal.api("installer")) as client:
        everything = client.get("/api/v1/contracts").json()
        by_customer = client.get("/api/v1/contracts?customer_number=3100000041").json()
        drafts = client.get("/api/v1/contracts?state=draft").json()
        bad = client.get("/api/v1/contracts?state=nonsense")
    assert [c["number"] for c in everything] == ["MYE-2025-0001", "MYE-2025-0002", "MYE-2025-0003"]
    assert [c["number"] for c in by_customer] == ["MYE-2025-0003"]
    assert drafts == [] and bad.status_code == 422


def test_1_1_to_2_3a_draft_sign_install_credentials(fresh_portal: Portal) -> None:
    _new_site(fresh_portal)
    with (
        closing(fresh_portal.api("operator")) as operator,
        closing(fresh_portal.api("installer")) as installer,
    ):
        made = operator.post(
            "/api/v1/contracts",
            json=_draft_body(missing_documents=["нотариален акт"], supply_contract_active=False),
        )
        assert made.status_code == 201, made.text
        draft = made.json()
        number = draft["contract"]["number"]
        assert number == "MYE-2026-0001" and draft["contract"]["state"] == "draft"
        with closing(fresh_portal.api(OWNER)) as owner:  # a draft is not the customer's yet
            assert owner.get(f"/api/v1/contracts/{number}").status_code == 404
            assert [c["number"] for c in owner.get("/api/v1/contracts").json()] == [CONTRACT]
        assert draft["refusals"][0]["numbers"]["missing"] == "нотариален акт"
        refusals = {r["value"]: r for r in draft["refusals"]}
        assert set(refusals) == {"missing_data", "overdue_debts", "no_supply_contract"}
        # The owner's January and February fees are past due (the daily run's invoices).
        assert Decimal(refusals["overdue_debts"]["numbers"]["overdue_debt"]) > Decimal("59.60")
        assert draft["eligibility"]["allowed"] is False
        # The installer may not sign; the operator may.
        assert (
            installer.post(
                f"/api/v1/contracts/{number}/sign", json={"signed_on": "2026-03-02"}
            ).status_code
            == 403
        )
        signed = operator.post(f"/api/v1/contracts/{number}/sign", json={"signed_on": "2026-03-02"})
        assert signed.status_code == 200, signed.text
        contract = signed.json()["contract"]
        assert contract["state"] == "signed" and contract["in_force_on"] == "2026-03-02"
        with closing(fresh_portal.api(OWNER)) as owner:
            assert owner.get(f"/api/v1/contracts/{number}").status_code == 200
        assert contract["fee"]["fixed"] is True
        assert contract["fee"]["total"] == "17.40"  # LV 24 months 12.90 + one more device 4.50
        assert contract["installation_deadline"] == "2026-04-01"  # 1.3: 30 days
        twice = operator.post(f"/api/v1/contracts/{number}/sign", json={"signed_on": "2026-03-02"})
        assert twice.status_code == 409
        refusal = twice.json()
        assert refusal["reason"]["bg"] and refusal["reason"]["en"] == refusal["detail"]
        assert refusal["explanation"]["clause"] == "2.1"
        visit = installer.post(
            f"/api/v1/contracts/{number}/installation",
            json={"outcome": "visit_agreed", "on": "2026-03-02"},
        )
        assert visit.status_code == 200 and visit.json()["contract"]["state"] == "installation"
        done = installer.post(
            f"/api/v1/contracts/{number}/installation",
            json={
                "outcome": "installed",
                "installed_on": "2026-03-02",
                "protocols_signed_on": "2026-03-02",
                "technician": "Петър Петров",
                "signatory_name": "Иван Георгиев",
            },
        )
        assert done.status_code == 200, done.text
        assert done.json()["contract"]["state"] == "active"
        assert done.json()["contract"]["rules"]["credentials_due"]["clause"] == "1.6"
        assert (
            installer.post(
                f"/api/v1/contracts/{number}/credentials", json={"given_on": "2026-03-02"}
            ).status_code
            == 403
        )
        given = operator.post(
            f"/api/v1/contracts/{number}/credentials", json={"given_on": "2026-03-02"}
        )
        assert given.status_code == 200, given.text
        result = given.json()
        assert result["in_time"] is True and result["due"]["clause"] == "1.6"
        assert result["contract"]["subscription_start"] == "2026-04-01"
        assert result["contract"]["subscription_end"] == "2028-03-31"
        future = operator.post(
            f"/api/v1/contracts/{number}/credentials", json={"given_on": "2026-03-03"}
        )
        assert future.status_code == 400
    with fresh_portal.services.sessions() as session:
        actions = session.scalars(
            select(AuditEntry.action).where(AuditEntry.object_id == number).order_by(AuditEntry.id)
        ).all()
    assert actions == [
        "contract.draft",
        "contract.sign",
        "contract.installation.visit_agreed",
        "contract.installation.installed",
        "contract.credentials",
    ]


def test_1_4_2_access_problem_is_a_proposal_and_1_5_ends_without_penalty(
    fresh_portal: Portal,
) -> None:
    _new_site(fresh_portal, Voltage.MV)
    with closing(fresh_portal.api("admin")) as admin:
        number = admin.post("/api/v1/contracts", json=_draft_body()).json()["contract"]["number"]
        admin.post(f"/api/v1/contracts/{number}/sign", json={"signed_on": "2026-03-02"})
        proposal = admin.post(
            f"/api/v1/contracts/{number}/installation",
            json={
                "outcome": "access_problem",
                "on": "2026-03-02",
                "problem": "mv_hv_no_connection",
                "site_id": NEW_SITE,
            },
        )
        assert proposal.status_code == 200, proposal.text
        assert proposal.json()["proposal_id"] is not None
        assert proposal.json()["contract"]["state"] == "signed"
        assert proposal.json()["contract"]["proposals"][0]["clause"] == "1.4.2"
        unknown_site = admin.post(
            f"/api/v1/contracts/{number}/installation",
            json={
                "outcome": "impossible",
                "on": "2026-03-02",
                "site_id": "nope",
                "reason": "no_technical_way",
            },
        )
        assert unknown_site.status_code == 400
        ended = admin.post(
            f"/api/v1/contracts/{number}/installation",
            json={
                "outcome": "impossible",
                "on": "2026-03-02",
                "site_id": NEW_SITE,
                "reason": "no_technical_way",
            },
        )
        assert ended.status_code == 200, ended.text
        assert ended.json()["contract"]["state"] == "ended_installation_impossible"
        assert ended.json()["rule"]["numbers"]["penalty_customer"] == "0.00"
        wrong = admin.post(
            f"/api/v1/contracts/{number}/installation",
            json={"outcome": "teleported", "on": "2026-03-02"},
        )
        assert wrong.status_code == 422


def test_2_4_renewal_through_the_api(fresh_portal: Portal) -> None:
    with closing(fresh_portal.api("operator")) as operator:
        answer = operator.post(
            f"/api/v1/contracts/{CONTRACT}/renew", json={"signed_on": "2026-03-02"}
        )
        assert answer.status_code == 201, answer.text
        renewal = answer.json()["contract"]
        assert renewal["renewal_of"] == CONTRACT and renewal["state"] == "signed"
        assert renewal["subscription_start"] == "2027-01-01"  # 2.3b
        assert renewal["subscription_end"] == "2027-12-31"
        assert answer.json()["rule"]["clause"] == "2.3b"
        again = operator.post(
            f"/api/v1/contracts/{CONTRACT}/renew", json={"signed_on": "2026-03-02"}
        )
        assert again.status_code == 409
        old = operator.get(f"/api/v1/contracts/{CONTRACT}").json()
        assert old["renewed_by"] == renewal["number"]


def _price_body(day: dt.date, name: str) -> dict[str, Any]:
    return {
        "name": name,
        "effective_from": day.isoformat(),
        "additional_device_price": "5.00",
        "unit_prices": [
            {"voltage": v, "period_months": m, "unit_price": "19.90"}
            for v in ("LV", "MV", "HV")
            for m in (12, 24)
        ],
    }


def test_4_1_price_lists_published_by_admin_only(fresh_portal: Portal) -> None:
    with (
        closing(fresh_portal.api("admin")) as admin,
        closing(fresh_portal.api("operator")) as operator,
    ):
        body = _price_body(dt.date(2026, 4, 1), "PRICES-2026-04")
        assert operator.post("/api/v1/price-lists", json=body).status_code == 403
        made = admin.post("/api/v1/price-lists", json=body)
        assert made.status_code == 201, made.text
        assert made.json()["future"] is True and len(made.json()["unit_prices"]) == 6
        same_day = admin.post("/api/v1/price-lists", json=_price_body(dt.date(2026, 4, 1), "X"))
        assert same_day.status_code == 409
        past = admin.post("/api/v1/price-lists", json=_price_body(dt.date(2026, 3, 1), "Y"))
        assert past.status_code == 400 and "4.2" in past.json()["detail"]
        short = _price_body(dt.date(2026, 5, 1), "Z")
        short["unit_prices"] = short["unit_prices"][:5]
        missing = admin.post("/api/v1/price-lists", json=short)
        assert missing.status_code == 400 and "HV/24" in missing.json()["detail"]
        versions = operator.get("/api/v1/price-lists").json()
        assert [v["name"] for v in versions] == ["PRICES-2026-04", "DEMO-2025"]
        one = operator.get(f"/api/v1/price-lists/{made.json()['id']}")
        assert one.status_code == 200 and one.json()["additional_device_price"] == "5.00"
        assert operator.get("/api/v1/price-lists/999").status_code == 404
