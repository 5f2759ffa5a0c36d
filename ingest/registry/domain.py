"""Registry domain: device and service-account records, states and their rules.

Plain dataclasses, no SQLAlchemy: callers (ingest, the CLI, the broker renderer)
get immutable snapshots and never hold a database session or a secret hash.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from enum import StrEnum

from hardware.maps import available_models
from protocol.topics import valid_device_id


class DeviceState(StrEnum):
    """Lifecycle of a device; only an active device may connect to the broker."""

    ACTIVE = "active"
    SUSPENDED = "suspended"  # temporarily barred (unpaid, tampered, moved): reversible
    RETIRED = "retired"  # dismantled for good: its id is never reused or reactivated


class ServiceRole(StrEnum):
    """What a cloud service may do on the broker (see ingest/registry/mosquitto.py)."""

    INGEST = "ingest"  # reads every device's up/status/live, also as $share/ingest
    PORTAL = "portal"  # writes every device's cmd; watches status and live


# Service usernames always contain "_", a character device ids cannot have
# (protocol.topics.valid_device_id), so a device can never be registered under
# a service's MQTT username and inherit its ACL.
SERVICE_NAME_RE = re.compile(r"^svc_[a-z0-9-]{1,28}$")


class RegistryError(Exception):
    """Base of the registry's errors."""


class InvalidDeviceError(RegistryError, ValueError):
    """A field of a device is malformed (id, site, meter model, timestamp)."""


class DuplicateError(RegistryError):
    """The id or name is already registered (retired ids included)."""


class UnknownError(RegistryError, KeyError):
    """No device or service account of that id or name."""


class StateTransitionError(RegistryError):
    """The requested state change is not allowed (a retired device stays retired)."""


@dataclass(frozen=True)
class Device:
    """A registered device as the rest of the system sees it (no credentials)."""

    id: str
    site_id: str
    meter_model: str
    state: DeviceState
    installed_at: dt.datetime
    created_at: dt.datetime
    updated_at: dt.datetime


@dataclass(frozen=True)
class ServiceAccount:
    """A cloud service's MQTT login (no credentials)."""

    name: str
    role: ServiceRole
    created_at: dt.datetime
    updated_at: dt.datetime


@dataclass(frozen=True)
class BrokerLogin:
    """A username with its Mosquitto-format hash: one line of the password file."""

    username: str
    broker_hash: str


def check_device_fields(device_id: str, site_id: str, meter_model: str) -> None:
    """Raise InvalidDeviceError unless the fields can be registered."""
    if not valid_device_id(device_id):
        raise InvalidDeviceError(
            f"invalid device id {device_id!r}: 3-32 characters of a-z, 0-9 and '-'"
        )
    if not site_id or not site_id.strip() or len(site_id) > 64:
        raise InvalidDeviceError(f"invalid site id {site_id!r}: 1-64 characters")
    models = available_models()
    if meter_model not in models:
        raise InvalidDeviceError(
            f"unknown meter model {meter_model!r} (known: {', '.join(models)})"
        )


def check_service_name(name: str) -> None:
    if not SERVICE_NAME_RE.match(name):
        raise InvalidDeviceError(
            f"invalid service account name {name!r}: 'svc_' then 1-28 of a-z, 0-9, '-'"
        )


def utc(value: dt.datetime) -> dt.datetime:
    """`value` in UTC; a naive datetime is refused rather than guessed."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidDeviceError(f"timestamp {value.isoformat()} has no time zone")
    return value.astimezone(dt.UTC)


ALLOWED_TRANSITIONS: dict[DeviceState, frozenset[DeviceState]] = {
    DeviceState.ACTIVE: frozenset({DeviceState.SUSPENDED, DeviceState.RETIRED}),
    DeviceState.SUSPENDED: frozenset({DeviceState.ACTIVE, DeviceState.RETIRED}),
    DeviceState.RETIRED: frozenset(),
}


def check_transition(current: DeviceState, new: DeviceState) -> None:
    """Raise StateTransitionError for a change the lifecycle forbids (same state is a no-op)."""
    if new != current and new not in ALLOWED_TRANSITIONS[current]:
        raise StateTransitionError(f"a {current.value} device cannot become {new.value}")
