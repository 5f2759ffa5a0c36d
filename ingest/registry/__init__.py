"""Device registry: who may connect to the broker, with which topics.

    registry = Registry.open("sqlite:///var/registry.sqlite3")   # migrates to head
    password = registry.add_device("dev-001", "site-42", "sdm630")  # shown once
    registry.add_service_account("svc_ingest", ServiceRole.INGEST)
    render_mosquitto(registry, Path("/etc/mosquitto/myenergy"), listener=Listener(...))

See docs/broker-security.md for the model, the files and their rotation.
"""

from ingest.registry.domain import (
    Device,
    DeviceState,
    DuplicateError,
    InvalidDeviceError,
    RegistryError,
    ServiceAccount,
    ServiceRole,
    StateTransitionError,
    UnknownError,
)
from ingest.registry.mosquitto import Listener, RenderedFiles, render_mosquitto
from ingest.registry.service import DEFAULT_URL, Registry

__all__ = [
    "DEFAULT_URL",
    "Device",
    "DeviceState",
    "DuplicateError",
    "InvalidDeviceError",
    "Listener",
    "Registry",
    "RegistryError",
    "RenderedFiles",
    "ServiceAccount",
    "ServiceRole",
    "StateTransitionError",
    "UnknownError",
    "render_mosquitto",
]
