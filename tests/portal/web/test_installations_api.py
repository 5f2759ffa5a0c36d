"""The installations API (issue 7) on a real portal: provisioning codes, provisioning a
module with an installer's token or a one-time code, the refusals (a customer 403, a
site outside the contract 400, a used code 401), and the first-upload check before
and after the device's first record reached the store.

The demo contracts are all active; each test signs a new contract for a new site of
the demo customer 3100000017 (1.4: a module is installed after signing), and points
the portal at a registry of its own under the test's directory.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest
from sqlalchemy import select

from ingest.registry.service import Registry
from portal_api.config import RegistrySection
from portal_api.contracts.app.contracts import ContractService, Draft, DraftSite
from portal_api.contracts.app.contracts_common import Actor
from portal_api.db.enums import Voltage
from portal_api.db.models import AuditEntry, Customer, Site, User
from portal_api.web.services import Services
from tests.portal.web.conftest import NOW, OWNER, Portal
from tests.portal.web.meterdata import minute_records

NEW_SITE = "varna-0009"
METER_BODY = {
    "model": "sdm630",
    "serial": "SDM630-2410099",
    "slave": 7,
    "baud": 19200,
    "parity": "E",
    "stopbits": 1,
}
DEVICE = "cm-varna-0009-m7"


@dataclasses.dataclass
class Installation:
    portal: Portal
    contract: str  # signed, naming NEW_SITE only
    registry_url: str

    def body(self, **changes: object) -> dict[str, object]:
        return {
            "contract_number": self.contract,
            "site_id": NEW_SITE,
            "meter": METER_BODY,
            **changes,
        }


def sign_contract_for_new_site(services: Services, site_id: str = NEW_SITE) -> str:
    """A signed contract (2.1) for a new site of the demo customer 3100000017."""
    with services.sessions.begin() as session:
        customer = session.scalars(select(Customer).where(Customer.number == "3100000017")).one()
        operator = session.scalars(select(User).where(User.username == "operator")).one()
        session.add(
            Site(
                id=site_id,
                customer_id=customer.id,
                metering_point=f"32Z40001000{site_id[-4:]}X",
                name="Склад",
                address="ул. Складова 9, 9000 Варна",
                settlement="Варна",
                voltage=Voltage.LV,
                created_at=NOW,
            )
        )
        operator_id = operator.id
    contracts = ContractService(services.sessions, services.clock, services.calendar)
    actor = Actor(operator_id, "127.0.0.1")
    draft = contracts.create_draft(
        Draft(
            customer_number="3100000017",
            sites=(DraftSite(site_id),),
            period_months=12,
            contact_email="ivan.georgiev@example.bg",
        ),
        actor,
    )
    number = draft.detail.number
    contracts.sign(number, NOW.date(), actor)
    return number


def with_registry(portal: Portal, directory: Path) -> str:
    """Point the running portal at a registry under ``directory`` (the same process)."""
    url = f"sqlite:///{directory / 'registry.sqlite3'}"
    services = portal.services
    services.config = services.config.model_copy(update={"registry": RegistrySection(url=url)})
    return url


@pytest.fixture
def installation(fresh_portal: Portal, tmp_path: Path) -> Iterator[Installation]:
    url = with_registry(fresh_portal, tmp_path)
    yield Installation(fresh_portal, sign_contract_for_new_site(fresh_portal.services), url)


def test_an_installer_provisions_and_gets_the_mqtt_login(installation: Installation) -> None:
    with closing(installation.portal.api("installer")) as client:
        answer = client.post("/api/v1/installations/provision", json=installation.body())
        assert answer.status_code == 201, answer.text
        body = answer.json()
        again = client.post("/api/v1/installations/provision", json=installation.body())
    assert body["device_id"] == DEVICE and body["module_id"] == "cm-varna-0009"
    assert body["created"] is True
    mqtt = body["mqtt"]
    assert mqtt["username"] == mqtt["client_id"] == DEVICE
    assert mqtt["topic_prefix"] == f"myenergy/v1/{DEVICE}/"
    assert (mqtt["host"], mqtt["port"], mqtt["tls"]) == ("127.0.0.1", 1883, False)
    assert body["meter"] == {
        "model": "sdm630",
        "serial": "SDM630-2410099",
        "slave_id": 7,
        "baudrate": 19200,
        "parity": "E",
        "stopbits": 1,
    }
    # The same module again: 200, same device, a new password (the old one is gone).
    assert again.status_code == 200 and again.json()["device_id"] == DEVICE
    assert again.json()["created"] is False
    with Registry.open(installation.registry_url) as registry:
        assert registry.verify_password(DEVICE, again.json()["mqtt"]["password"])
        assert not registry.verify_password(DEVICE, mqtt["password"])
    with installation.portal.services.sessions() as session:
        details = [str(e.detail) for e in session.scalars(select(AuditEntry))]
    assert not any(mqtt["password"] in d or again.json()["mqtt"]["password"] in d for d in details)


def test_a_code_provisions_once(installation: Installation) -> None:
    portal = installation.portal
    path = f"/api/v1/contracts/{installation.contract}/provisioning-codes"
    with closing(portal.api("operator")) as staff:
        issued = staff.post(path, json={"site_id": NEW_SITE})
    assert issued.status_code == 201, issued.text
    code = issued.json()["code"]
    assert issued.json()["expires_at"].startswith("2026-03-16T12:00")
    with closing(portal.client()) as anonymous:
        without = anonymous.post("/api/v1/installations/provision", json=installation.body())
        first = anonymous.post(
            "/api/v1/installations/provision", json=installation.body(provisioning_code=code)
        )
        reused = anonymous.post(
            "/api/v1/installations/provision", json=installation.body(provisioning_code=code)
        )
    assert without.status_code == 401
    assert first.status_code == 201, first.text
    assert first.json()["mqtt"]["password"]
    assert reused.status_code == 401
    assert reused.json()["code"] == "code_used"
    assert "вече е използван" in reused.json()["reason"]["bg"]


def test_codes_are_for_staff_and_signed_contracts(installation: Installation) -> None:
    portal = installation.portal
    with closing(portal.api(OWNER)) as owner, closing(portal.api("installer")) as installer:
        mine = owner.post(f"/api/v1/contracts/{installation.contract}/provisioning-codes")
        active = installer.post("/api/v1/contracts/MYE-2025-0001/provisioning-codes")
        unknown = installer.post("/api/v1/contracts/MYE-1999-0001/provisioning-codes")
    assert mine.status_code == 403
    assert active.status_code == 409 and active.json()["code"] == "code_contract_state"
    assert unknown.status_code == 404


def test_refusals_customer_and_foreign_site(installation: Installation) -> None:
    portal = installation.portal
    with closing(portal.api(OWNER)) as owner:
        customer = owner.post("/api/v1/installations/provision", json=installation.body())
    assert customer.status_code == 403
    with closing(portal.api("installer")) as client:
        foreign = client.post(
            "/api/v1/installations/provision", json=installation.body(site_id="shumen-0001")
        )
        active_other = client.post(
            "/api/v1/installations/provision",
            json=installation.body(contract_number="MYE-2025-0002"),
        )
    assert foreign.status_code == 400 and foreign.json()["code"] == "site_not_in_contract"
    assert "не е в договор" in foreign.json()["reason"]["bg"]
    assert active_other.status_code == 400  # NEW_SITE is not in another customer's contract


def test_first_upload_false_then_true(installation: Installation) -> None:
    portal = installation.portal
    with closing(portal.api("installer")) as client:
        done = client.post("/api/v1/installations/provision", json=installation.body()).json()
        path = f"/api/v1/installations/{DEVICE}/first-upload"
        before = client.get(path)
        unknown = client.get("/api/v1/installations/no-such-device/first-upload")
    assert unknown.status_code == 404
    assert before.status_code == 200
    assert before.json() == {
        "device_id": DEVICE,
        "uploaded": False,
        "last_seen": None,
        "status_at": None,
        "records": 0,
        "online": False,
    }
    store = portal.services.consumption.store
    login = base64.b64encode(f"{DEVICE}:{done['mqtt']['password']}".encode()).decode()
    wrong = base64.b64encode(f"{DEVICE}:not-the-password".encode()).decode()
    device = portal.client()
    try:
        # An "offline" status (an earlier agent's last will) is no upload.
        store.write_status(DEVICE, NEW_SITE, NOW.timestamp() - 100, {"state": "offline"})
        offline = device.get(path, headers={"Authorization": f"Basic {login}"})
        # Nor is the status of an agent that was running before the provisioning.
        store.write_status(DEVICE, NEW_SITE, NOW.timestamp() - 30, {"state": "online"})
        before_provisioning = device.get(path, headers={"Authorization": f"Basic {login}"})
        # The agent's status message comes first, as soon as it connects.
        store.write_status(DEVICE, NEW_SITE, NOW.timestamp() + 5, {"state": "online"})
        online = device.get(path, headers={"Authorization": f"Basic {login}"})
        # A module provisioned again must not pass on what came before.
        again = device.get(
            path,
            params={"since": done["provisioned_at"].replace("Z", "+00:00")},
            headers={"Authorization": f"Basic {login}"},
        )
        later = (NOW + dt.timedelta(minutes=5)).isoformat()
        future = device.get(
            path, params={"since": later}, headers={"Authorization": f"Basic {login}"}
        )
        naive = device.get(
            path,
            params={"since": "2026-03-02T12:00:00"},
            headers={"Authorization": f"Basic {login}"},
        )
        # Its first records come with its next upload round (stamped with their minute).
        start = int(NOW.timestamp()) - 120
        store.write_records(DEVICE, NEW_SITE, "sdm630", minute_records(start, start + 120))
        after = device.get(path, headers={"Authorization": f"Basic {login}"})
        refused = device.get(path, headers={"Authorization": f"Basic {wrong}"})
        anonymous = device.get(path)
    finally:
        device.close()
    assert done["provisioned_at"] == "2026-03-02T12:00:00Z"
    assert offline.json()["uploaded"] is False and offline.json()["status_at"] is not None
    assert before_provisioning.json()["uploaded"] is False
    assert again.json()["uploaded"] is True
    assert future.json()["uploaded"] is False and naive.status_code == 400
    assert online.status_code == 200, online.text
    assert online.json()["uploaded"] is True and online.json()["records"] == 0
    assert online.json()["online"] is True
    assert after.status_code == 200, after.text
    assert after.json()["uploaded"] is True and after.json()["records"] == 2
    last_seen = dt.datetime.fromisoformat(after.json()["last_seen"])
    assert last_seen == NOW + dt.timedelta(seconds=5)  # the newest status
    assert refused.status_code == 401 and anonymous.status_code == 401
