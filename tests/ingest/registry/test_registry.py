"""The Registry service: devices, states, passwords, service accounts."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from ingest.registry import (
    DeviceState,
    DuplicateError,
    InvalidDeviceError,
    Registry,
    ServiceRole,
    StateTransitionError,
    UnknownError,
)
from ingest.registry.credentials import mosquitto_verify
from ingest.registry.models import DeviceRow
from tests.ingest.registry.conftest import START

SOFIA = ZoneInfo("Europe/Sofia")


def test_add_returns_a_password_that_is_stored_only_as_hashes(registry: Registry) -> None:
    password = registry.add_device("dev-001", "site-1", "sdm630")

    with registry.engine.connect() as connection:
        row = connection.execute(select(DeviceRow)).one()
    assert password not in (row.password_hash, row.broker_hash)
    assert row.password_hash.startswith("$argon2id$")
    assert mosquitto_verify(row.broker_hash, password)
    assert registry.verify_password("dev-001", password)
    assert not registry.verify_password("dev-001", password + "x")


def test_get_returns_the_registered_fields_in_utc(registry: Registry) -> None:
    installed = dt.datetime(2026, 3, 29, 5, 30, tzinfo=SOFIA)  # EEST (+03:00) since 04:00
    registry.add_device("dev-001", "site-1", "em340", installed_at=installed)

    device = registry.get("dev-001")

    assert (device.id, device.site_id, device.meter_model) == ("dev-001", "site-1", "em340")
    assert device.state is DeviceState.ACTIVE
    assert device.installed_at == dt.datetime(2026, 3, 29, 2, 30, tzinfo=dt.UTC)
    assert device.installed_at.tzinfo is dt.UTC
    assert device.created_at == device.updated_at == START + dt.timedelta(seconds=1)


def test_installed_at_defaults_to_now(registry: Registry) -> None:
    registry.add_device("dev-001", "site-1", "sdm630")
    assert registry.get("dev-001").installed_at == START + dt.timedelta(seconds=1)


@pytest.mark.parametrize(
    ("device_id", "site", "model"),
    [
        ("Dev-001", "site-1", "sdm630"),  # upper case
        ("dev/001", "site-1", "sdm630"),  # topic separator
        ("dev+", "site-1", "sdm630"),  # wildcard
        ("d1", "site-1", "sdm630"),  # too short
        ("svc_ingest", "site-1", "sdm630"),  # a service's name space
        ("dev-001", "", "sdm630"),
        ("dev-001", "site-1", "no-such-meter"),
    ],
)
def test_invalid_devices_are_refused(
    registry: Registry, device_id: str, site: str, model: str
) -> None:
    with pytest.raises(InvalidDeviceError):
        registry.add_device(device_id, site, model)
    assert registry.list() == []


def test_naive_installation_time_is_refused(registry: Registry) -> None:
    with pytest.raises(InvalidDeviceError, match="time zone"):
        registry.add_device("dev-001", "site-1", "sdm630", installed_at=dt.datetime(2026, 1, 1))


def test_ids_are_never_reused_even_after_retirement(registry: Registry) -> None:
    registry.add_device("dev-001", "site-1", "sdm630")
    registry.set_state("dev-001", DeviceState.RETIRED)
    with pytest.raises(DuplicateError):
        registry.add_device("dev-001", "site-2", "sdm120")


def test_list_filters_by_state_and_site(registry: Registry) -> None:
    for device_id, site in (("dev-c", "s1"), ("dev-a", "s1"), ("dev-b", "s2")):
        registry.add_device(device_id, site, "sdm630")
    registry.set_state("dev-b", DeviceState.SUSPENDED)

    assert [d.id for d in registry.list()] == ["dev-a", "dev-b", "dev-c"]
    assert [d.id for d in registry.list(state=DeviceState.SUSPENDED)] == ["dev-b"]
    assert [d.id for d in registry.list(site_id="s1")] == ["dev-a", "dev-c"]


def test_lifecycle(registry: Registry) -> None:
    registry.add_device("dev-001", "site-1", "sdm630")
    assert registry.active_device("dev-001") is not None

    suspended = registry.set_state("dev-001", DeviceState.SUSPENDED)
    assert suspended.updated_at > suspended.created_at
    assert registry.active_device("dev-001") is None
    registry.set_state("dev-001", DeviceState.ACTIVE)
    assert registry.active_device("dev-001") is not None

    registry.set_state("dev-001", DeviceState.RETIRED)
    assert registry.active_device("dev-001") is None
    with pytest.raises(StateTransitionError):
        registry.set_state("dev-001", DeviceState.ACTIVE)
    with pytest.raises(StateTransitionError):
        registry.rotate_password("dev-001")


def test_unknown_devices(registry: Registry) -> None:
    assert registry.active_device("dev-404") is None
    assert not registry.verify_password("dev-404", "x")
    for call in (
        lambda: registry.get("dev-404"),
        lambda: registry.set_state("dev-404", DeviceState.SUSPENDED),
        lambda: registry.rotate_password("dev-404"),
    ):
        with pytest.raises(UnknownError):
            call()


def test_suspended_device_fails_verification_with_its_right_password(registry: Registry) -> None:
    password = registry.add_device("dev-001", "site-1", "sdm630")
    registry.set_state("dev-001", DeviceState.SUSPENDED)
    assert not registry.verify_password("dev-001", password)


def test_rotate_password_replaces_both_hashes(registry: Registry) -> None:
    old = registry.add_device("dev-001", "site-1", "sdm630")
    new = registry.rotate_password("dev-001")
    assert new != old
    assert registry.verify_password("dev-001", new)
    assert not registry.verify_password("dev-001", old)
    (login,), _ = registry.broker_logins()
    assert mosquitto_verify(login.broker_hash, new)
    assert not mosquitto_verify(login.broker_hash, old)


def test_service_accounts(registry: Registry) -> None:
    password = registry.add_service_account("svc_ingest", ServiceRole.INGEST)
    registry.add_service_account("svc_portal", ServiceRole.PORTAL)
    assert [(s.name, s.role) for s in registry.service_accounts()] == [
        ("svc_ingest", ServiceRole.INGEST),
        ("svc_portal", ServiceRole.PORTAL),
    ]
    assert registry.verify_password("svc_ingest", password)
    rotated = registry.rotate_password("svc_ingest")
    assert registry.verify_password("svc_ingest", rotated)
    assert not registry.verify_password("svc_ingest", password)

    with pytest.raises(DuplicateError):
        registry.add_service_account("svc_ingest", ServiceRole.INGEST)
    for bad in ("ingest", "svc_", "svc_UPPER", "svc_a/b"):
        with pytest.raises(InvalidDeviceError):
            registry.add_service_account(bad, ServiceRole.INGEST)
    registry.remove_service_account("svc_portal")
    assert [s.name for s in registry.service_accounts()] == ["svc_ingest"]


def test_broker_logins_hold_only_active_devices(registry: Registry) -> None:
    for device_id in ("dev-a", "dev-b", "dev-c"):
        registry.add_device(device_id, "site-1", "sdm630")
    registry.set_state("dev-b", DeviceState.SUSPENDED)
    registry.set_state("dev-c", DeviceState.RETIRED)
    registry.add_service_account("svc_ingest", ServiceRole.INGEST)

    devices, services = registry.broker_logins()

    assert [login.username for login in devices] == ["dev-a"]
    assert [(s.name, login.username) for s, login in services] == [("svc_ingest", "svc_ingest")]


def test_concurrent_registration_of_one_id_is_a_duplicate(db_url: str) -> None:
    """Two processes racing on one id: the loser's INSERT (its existence check
    ran before the winner committed) ends in DuplicateError, not a database error."""
    with Registry.open(db_url) as first, Registry.open(db_url) as second:
        first.add_device("dev-001", "site-1", "sdm630")
        with pytest.raises(DuplicateError), second._inserting("device 'dev-001'") as session:
            session.add(
                DeviceRow(
                    id="dev-001",
                    site_id="site-2",
                    meter_model="sdm630",
                    state=DeviceState.ACTIVE,
                    installed_at=START,
                    password_hash="x",
                    broker_hash="x",
                    created_at=START,
                    updated_at=START,
                )
            )
