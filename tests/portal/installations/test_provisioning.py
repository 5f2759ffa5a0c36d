"""The provisioning service (issue 7, clauses 1.4, 1.6): one-time codes (issued once,
hashed, single use, 14 days), provisioning a module idempotently into the portal's
devices and ingest's registry (a password the registry verifies), the contract's
state and sites (1.1, 1.4), throttled code attempts, and an audit without secrets.
On real SQLite and PostgreSQL databases (the contract persistence tests' fixtures:
a company with sites varna-0001, varna-0002 and dobrich-0001, a module mod-0001 at
varna-0001 and a staff user).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ingest.registry.service import Registry
from portal_api.config import SecuritySettings
from portal_api.contracts.app.contracts import ContractService, Draft, DraftSite
from portal_api.contracts.app.contracts_common import Actor
from portal_api.contracts.db.repository import ContractRepository
from portal_api.contracts.seed import DEMO_PRICE_LIST
from portal_api.db.enums import DeviceKind
from portal_api.db.models import AuditEntry, Device, LoginAttempt
from portal_api.domain.workdays import WorkingDays
from portal_api.installations.codes import CODE_ALPHABET, CODE_LENGTH, code_hash, normalise_code
from portal_api.installations.models import ProvisioningCodeRow
from portal_api.installations.provisioning import (
    BrokerSettings,
    MeterSpec,
    ProvisioningError,
    ProvisioningService,
    ProvisionRequest,
    derived_module_id,
)
from tests.portal.contracts_db.conftest import seeded, sessions

__all__ = ["seeded", "sessions"]  # the fixtures this module uses

CUSTOMER = "1000000001"  # the persistence tests' company
NOW = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)
IP = "192.0.2.10"
METER = MeterSpec("sdm630", "SDM630-2410099", slave=7, baud=19200, parity="E", stopbits=1)


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> dt.datetime:
        return self.now


@dataclasses.dataclass
class World:
    sessions: sessionmaker[Session]
    clock: Clock
    registry: Registry
    service: ProvisioningService
    contracts: ContractService
    user_id: int
    signed: str  # varna-0001 and dobrich-0001
    draft: str  # varna-0002

    def request(self, site: str = "varna-0001", number: str | None = None) -> ProvisionRequest:
        return ProvisionRequest(number or self.signed, site, METER)


@pytest.fixture
def world(
    sessions: sessionmaker[Session], seeded: dict[str, int], tmp_path: Path
) -> Iterator[World]:
    with sessions.begin() as session:
        ContractRepository(session).add_price_list(DEMO_PRICE_LIST)
    clock = Clock()
    contracts = ContractService(sessions, clock, WorkingDays())
    actor = Actor(seeded["user"], IP)

    def draft(*sites: str) -> str:
        result = contracts.create_draft(
            Draft(
                customer_number=CUSTOMER,
                sites=tuple(DraftSite(s) for s in sites),
                period_months=12,
                contact_email="office@example.bg",
            ),
            actor,
        )
        return result.detail.number

    signed = draft("varna-0001", "dobrich-0001")
    contracts.sign(signed, NOW.date(), actor)
    unsigned = draft("varna-0002")
    registry = Registry.open(f"sqlite:///{tmp_path / 'registry.sqlite3'}", clock=clock)
    security = SecuritySettings.model_validate(
        {"secret_key": "provisioning-tests-secret-0123456789", "login_max_failures": 3}
    )
    service = ProvisioningService(
        sessions, clock, security, lambda: registry, BrokerSettings("127.0.0.1", 8883, True)
    )
    yield World(sessions, clock, registry, service, contracts, seeded["user"], signed, unsigned)
    registry.close()


def refusal(call: Callable[[], object]) -> ProvisioningError:
    with pytest.raises(ProvisioningError) as caught:
        call()
    return caught.value


def audit_text(world: World) -> str:
    with world.sessions() as session:
        rows = session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
        return json.dumps([[r.action, r.object_id, r.detail] for r in rows], ensure_ascii=False)


# -- codes --------------------------------------------------------------------------------


def test_a_code_is_shown_once_and_only_its_keyed_hash_is_kept(world: World) -> None:
    issued = world.service.issue_code(
        world.signed, site_id=None, actor_user_id=world.user_id, ip=IP
    )
    code = normalise_code(issued.code)
    assert len(code) == CODE_LENGTH and set(code) <= set(CODE_ALPHABET)
    assert issued.code == f"{code[:5]}-{code[5:]}"
    assert issued.expires_at == NOW + dt.timedelta(days=14)
    with world.sessions() as session:
        (row,) = session.scalars(select(ProvisioningCodeRow)).all()
        assert row.code_hash != code and code not in row.code_hash
        assert row.used_at is None and row.issued_by == world.user_id
    # Keyed: the plain SHA-256 of the code is not what is stored.
    other_key = code_hash(code, b"another pepper")
    assert row.code_hash != other_key
    text = audit_text(world)
    assert "provisioning_code_issued" in text and code not in text


def test_codes_differ_and_only_for_a_signed_contract(world: World) -> None:
    codes = {
        world.service.issue_code(world.signed, site_id=None, actor_user_id=1, ip=IP).code
        for _ in range(5)
    }
    assert len(codes) == 5
    error = refusal(
        lambda: world.service.issue_code(world.draft, site_id=None, actor_user_id=1, ip=IP)
    )
    assert (error.status, error.code) == (409, "code_contract_state")
    error = refusal(
        lambda: world.service.issue_code(world.signed, site_id="varna-0002", actor_user_id=1, ip=IP)
    )
    assert (error.status, error.code) == (400, "site_not_in_contract")


def test_a_code_provisions_once(world: World) -> None:
    code = world.service.issue_code(world.signed, site_id=None, actor_user_id=1, ip=IP).code
    done = world.service.provision(world.request(), ip=IP, code=code.lower())
    assert done.created and done.device_id == "cm-varna-0001-m7"
    with world.sessions() as session:
        row = session.scalars(select(ProvisioningCodeRow)).one()
        assert row.used_at == NOW and row.used_for_device == done.device_id
    again = refusal(lambda: world.service.provision(world.request(), ip=IP, code=code))
    assert (again.status, again.code) == (401, "code_used")
    assert "2026-03-02 10:00 UTC" in again.message_en and "използван" in again.message_bg


def test_an_expired_code_is_refused(world: World) -> None:
    code = world.service.issue_code(world.signed, site_id=None, actor_user_id=1, ip=IP).code
    world.clock.now = NOW + dt.timedelta(days=14)
    error = refusal(lambda: world.service.provision(world.request(), ip=IP, code=code))
    assert (error.status, error.code) == (401, "code_expired")
    world.clock.now = NOW + dt.timedelta(days=14) - dt.timedelta(seconds=1)
    assert world.service.provision(world.request(), ip=IP, code=code).created


def test_a_code_works_only_for_its_contract_and_site(world: World) -> None:
    code = world.service.issue_code(
        world.signed, site_id="dobrich-0001", actor_user_id=1, ip=IP
    ).code
    wrong_site = refusal(lambda: world.service.provision(world.request(), ip=IP, code=code))
    assert (wrong_site.status, wrong_site.code) == (400, "code_wrong_site")
    other = refusal(
        lambda: world.service.provision(world.request("varna-0002", world.draft), ip=IP, code=code)
    )
    assert (other.status, other.code) == (401, "code_unknown")
    made_up = refusal(
        lambda: world.service.provision(world.request("dobrich-0001"), ip=IP, code="ABCDE-FGHJK")
    )
    assert made_up.code == "code_unknown"
    assert world.service.provision(world.request("dobrich-0001"), ip=IP, code=code).created


def test_wrong_codes_lock_the_contract_for_guessing(world: World) -> None:
    code = world.service.issue_code(world.signed, site_id=None, actor_user_id=1, ip=IP).code
    for n in range(3):  # login_max_failures = 3, each from another address
        error = refusal(
            lambda n=n: world.service.provision(  # type: ignore[misc]
                world.request(), ip=f"192.0.2.{20 + n}", code="AAAAA-AAAAA"
            )
        )
        assert error.code == "code_unknown"
    locked = refusal(lambda: world.service.provision(world.request(), ip=IP, code=code))
    assert (locked.status, locked.code) == (429, "throttled")
    assert locked.retry_after is not None and locked.retry_after > 0
    with world.sessions() as session:
        assert len(session.scalars(select(LoginAttempt)).all()) == 3  # the lock adds none
    world.clock.now = NOW + dt.timedelta(seconds=901)  # lockout_s 900
    assert world.service.provision(world.request(), ip=IP, code=code).created


# -- provisioning ------------------------------------------------------------------------


def test_provisioning_registers_a_device_whose_password_the_registry_verifies(
    world: World,
) -> None:
    done = world.service.provision(world.request(), ip=IP, actor_user_id=world.user_id)
    assert done.module_id == derived_module_id("varna-0001") == "cm-varna-0001"
    assert done.topic_prefix == "myenergy/v1/cm-varna-0001-m7/"
    assert world.registry.verify_password(done.device_id, done.password)
    assert not world.registry.verify_password(done.device_id, done.password + "x")
    device = world.registry.get(done.device_id)
    assert (device.site_id, device.meter_model) == ("varna-0001", "sdm630")
    with world.sessions() as session:
        module = session.get(Device, "cm-varna-0001")
        meter = session.get(Device, done.device_id)
        assert module is not None and meter is not None
        assert module.kind == DeviceKind.MODULE and module.registry_device_id is None
        assert meter.kind == DeviceKind.METER and meter.parent_id == "cm-varna-0001"
        assert meter.registry_device_id == done.device_id and meter.serial == METER.serial


def test_provisioning_the_same_module_again_is_idempotent(world: World) -> None:
    first = world.service.provision(world.request(), ip=IP, actor_user_id=world.user_id)
    again = world.service.provision(
        dataclasses.replace(world.request(), module_id="cm-varna-0001"),
        ip=IP,
        actor_user_id=world.user_id,
    )
    assert (again.device_id, again.created) == (first.device_id, False)
    assert world.registry.verify_password(again.device_id, again.password)
    assert not world.registry.verify_password(first.device_id, first.password)
    assert len(world.registry.list(site_id="varna-0001")) == 1
    with world.sessions() as session:
        ids = session.scalars(select(Device.id).where(Device.site_id == "varna-0001")).all()
        assert sorted(ids) == ["cm-varna-0001", "cm-varna-0001-m7", "mod-0001"]
    # Another meter model behind the same module is a new device, not a silent change.
    swapped = dataclasses.replace(world.request(), meter=dataclasses.replace(METER, model="em340"))
    error = refusal(lambda: world.service.provision(swapped, ip=IP, actor_user_id=1))
    assert (error.status, error.code) == (409, "meter_model_changed")


def test_the_contract_and_its_sites_are_checked(world: World) -> None:
    provision = world.service.provision
    foreign = refusal(lambda: provision(world.request("varna-0002"), ip=IP, actor_user_id=1))
    assert (foreign.status, foreign.code) == (400, "site_not_in_contract")
    unsigned = refusal(
        lambda: provision(world.request("varna-0002", world.draft), ip=IP, actor_user_id=1)
    )
    assert (unsigned.status, unsigned.code) == (409, "contract_not_signed")
    unknown = refusal(
        lambda: provision(world.request(number="MYE-1999-9999"), ip=IP, actor_user_id=1)
    )
    assert (unknown.status, unknown.code) == (404, "contract_unknown")
    # A module of another site cannot be taken over.
    elsewhere = dataclasses.replace(world.request("dobrich-0001"), module_id="mod-0001")
    taken = refusal(lambda: provision(elsewhere, ip=IP, actor_user_id=1))
    assert (taken.status, taken.code) == (409, "module_elsewhere")
    model = dataclasses.replace(world.request(), meter=dataclasses.replace(METER, model="nope"))
    bad = refusal(lambda: provision(model, ip=IP, actor_user_id=1))
    assert (bad.status, bad.code) == (400, "bad_device")
    # Nothing was left half-done by the refusals.
    assert world.registry.list() == []
    with world.sessions() as session:
        assert session.scalars(select(Device.id)).all() == ["mod-0001"]


def test_the_audit_names_the_device_but_never_the_password_or_the_code(world: World) -> None:
    code = world.service.issue_code(world.signed, site_id=None, actor_user_id=1, ip=IP).code
    done = world.service.provision(world.request(), ip=IP, code=code)
    refusal(lambda: world.service.provision(world.request(), ip=IP, code=code))
    text = audit_text(world)
    for action in ("provisioning_code_issued", "installation_provisioned"):
        assert action in text
    assert "provisioning_code_refused" in text and done.device_id in text
    assert done.password not in text
    assert normalise_code(code) not in text and code not in text


def test_give_a_user_or_a_code(world: World) -> None:
    with pytest.raises(ValueError):
        world.service.provision(world.request(), ip=IP)
    with pytest.raises(ValueError):
        world.service.provision(world.request(), ip=IP, actor_user_id=1, code="X")
