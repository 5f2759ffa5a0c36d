"""The portal inside ``myenergy-stack``: configured, migrated, seeded and served on localhost.

    prepare_portal(...)  -> PreparedPortal (database migrated, demo data seeded, demo PIKs)
    PortalServer(config, clock).start()   uvicorn in a thread, on 127.0.0.1:8000 or the next free
    ...                                   server.url
    server.stop()

The portal gets the same stores as the stack's ingest (the time-series store,
the registry) and the same broker for live mode, through its own settings
(``portal_api.config.load_config`` with ``MYENERGY_PORTAL_*`` values, so it is
validated as a production portal is). Its secret key (the pepper and the
encryption key of personal numbers) is generated once per state directory,
``STATE_DIR/portal-secret-key`` (mode 0600), so a restarted stack can still read
what it stored. The portal's idea of "now" for consumption and device status is
the stack's simulated clock, so "today" and "online" agree with the simulated
meters at any ``--speed``; sessions and login throttling keep real time.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import secrets
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from portal_api.accounts.passwords import Passwords
from portal_api.accounts.pik import PikService
from portal_api.accounts.pik_demo import DemoPik, refresh_demo_piks
from portal_api.config import PortalConfig, load_config
from portal_api.db import make_engine, migrate, session_factory
from portal_api.seed import SeedResult, seed_demo
from simulators.stack_cloud import BrokerAccess
from simulators.stack_settings import StackSettings

if TYPE_CHECKING:
    from portal_api.web.server_thread import UvicornThread
    from portal_api.web.services import Services
    from simulators.stack_daily import DailyRunner

__all__ = [
    "PORT_TRIES",
    "PortalServer",
    "PortalStartError",
    "PreparedPortal",
    "free_port",
    "portal_settings",
    "prepare_portal",
    "secret_key_file",
]

PORT_TRIES = 20
LIVE_MINUTES = 5
SECRET_FILE = "portal-secret-key"
STACK_PORTAL_FILE = Path(__file__).with_name("stack_portal.toml")
_START_TIMEOUT_S = 30.0


class PortalStartError(RuntimeError):
    """The portal could not start; the message says why."""


def free_port(host: str, first: int, tries: int = PORT_TRIES) -> int:
    """``first`` or the next port after it that nobody listens on."""
    for port in range(first, min(first + tries, 65536)):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind((host, port))
            except OSError:
                continue
            return port
    raise PortalStartError(f"no free port in {first}..{first + tries - 1} on {host}")


def secret_key_file(state_dir: Path) -> Path:
    """The portal's secret key for this state directory, created (0600) on first use."""
    path = state_dir / SECRET_FILE
    if not path.exists():
        state_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(secrets.token_urlsafe(48) + "\n")
    return path


def portal_settings(
    settings: StackSettings, state_dir: Path, broker: BrokerAccess, port: int, speed: float = 1.0
) -> dict[str, str]:
    """The portal's ``MYENERGY_PORTAL_*`` settings for the stack."""
    host = settings.portal.host
    store = settings.store
    env = {
        "MYENERGY_PORTAL_HTTP_HOST": host,
        "MYENERGY_PORTAL_HTTP_PORT": str(port),
        "MYENERGY_PORTAL_HTTP_BASE_URL": f"http://{host}:{port}",
        "MYENERGY_PORTAL_DATABASE_URL": settings.portal_database_url(state_dir),
        "MYENERGY_PORTAL_REGISTRY_URL": settings.registry_url(state_dir),
        "MYENERGY_PORTAL_STORE_KIND": store.kind,
        "MYENERGY_PORTAL_STORE_SQLITE_PATH": str(state_dir / "ts.sqlite3"),
        "MYENERGY_PORTAL_STORE_INFLUX_URL": store.influx_url,
        "MYENERGY_PORTAL_STORE_INFLUX_DATABASE": store.influx_database,
        "MYENERGY_PORTAL_STORE_INFLUX_RP": store.influx_rp,
        "MYENERGY_PORTAL_STORE_INFLUX_PROVISION": "true" if store.influx_provision else "false",
        "MYENERGY_PORTAL_STORE_INFLUX_USERNAME": store.influx_username,
        "MYENERGY_PORTAL_MQTT_HOST": broker.host,
        "MYENERGY_PORTAL_MQTT_PORT": str(broker.port),
        "MYENERGY_PORTAL_MQTT_CLIENT_ID": "myenergy-stack-portal",
        # The in-process amqtt broker speaks only MQTT 3.1.1; the live hub needs no v5.
        "MYENERGY_PORTAL_MQTT_PROTOCOL": "5" if broker.mqtt5 else "3.1.1",
        # No mail server on a demo machine: mail waits in the outbox
        # (`myenergy-portal outbox send` delivers it once one is configured).
        "MYENERGY_PORTAL_SMTP_ENABLED": "false",
        # A device's live window is LIVE_MINUTES of its (simulated) time, which passes
        # ``speed`` times faster than the hub's real-time renewals: renew at half of it
        # in real time (a slower clock only makes the window last longer).
        "MYENERGY_PORTAL_LIVE_MINUTES": str(LIVE_MINUTES),
        "MYENERGY_PORTAL_LIVE_RENEW_S": f"{LIVE_MINUTES * 60 / 2 / max(speed, 1.0):g}",
        "MYENERGY_PORTAL_SECURITY_SECRET_KEY_FILE": str(secret_key_file(state_dir)),
        # Plain http on loopback: a Secure cookie would never come back.
        "MYENERGY_PORTAL_SECURITY_COOKIE_SECURE": "false",
    }
    if store.influx_token is not None:
        env["MYENERGY_PORTAL_STORE_INFLUX_TOKEN"] = store.influx_token.get_secret_value()
    if store.influx_password is not None:
        env["MYENERGY_PORTAL_STORE_INFLUX_PASSWORD"] = store.influx_password.get_secret_value()
    if broker.username:
        env["MYENERGY_PORTAL_MQTT_USERNAME"] = broker.username
    if broker.password is not None:
        env["MYENERGY_PORTAL_MQTT_PASSWORD"] = broker.password
    return env


@dataclass(frozen=True)
class PreparedPortal:
    """The portal's settings, what the seed added and the demo customers' fresh PIKs."""

    config: PortalConfig
    seeded: SeedResult
    piks: tuple[DemoPik, ...]


def prepare_portal(
    settings: StackSettings,
    state_dir: Path,
    broker: BrokerAccess,
    *,
    installed_at: dt.datetime,
    now: dt.datetime,
    speed: float = 1.0,
    extra_env: Mapping[str, str] | None = None,
) -> PreparedPortal:
    """The portal's validated settings on a free port; its database migrated and seeded,
    and a PIK for each demo customer (Virtual CSC login) issued for this run."""
    port = free_port(settings.portal.host, settings.portal.port)
    env = portal_settings(settings, state_dir, broker, port, speed)
    env.update(extra_env or {})
    # Tables and lists (billing, statutory rates) come from the stack's portal file.
    config = load_config(STACK_PORTAL_FILE, env)
    migrate(config.database.url)
    engine = make_engine(config.database.url)
    try:
        sessions = session_factory(engine)
        seeded = seed_demo(
            sessions, config.security.identifier_keys(), now=now, installed_at=installed_at
        )
        pik_service = PikService(sessions, _utc_now, config.security, Passwords())
        piks = tuple(refresh_demo_piks(pik_service))
    finally:
        engine.dispose()
    return PreparedPortal(config, seeded, piks)


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class PortalServer:
    """The portal app under uvicorn in a thread of this process."""

    def __init__(self, config: PortalConfig, clock: Callable[[], float]) -> None:
        self.config = config
        self._clock = clock
        self._server: UvicornThread | None = None
        self._services: Services | None = None
        self._daily: DailyRunner | None = None

    @property
    def url(self) -> str:
        return f"http://{self.config.http.host}:{self.config.http.port}"

    def start(self) -> None:
        """Build the app and serve it; returns once uvicorn listens (PortalStartError if not)."""
        # Imported here: the web layer is large, and the stack runs without it (--no-portal).
        from portal_api.web.app import create_app  # noqa: PLC0415
        from portal_api.web.server_thread import ServerStartError, UvicornThread  # noqa: PLC0415
        from portal_api.web.services import build_services  # noqa: PLC0415
        from simulators.stack_daily import DailyRunner  # noqa: PLC0415

        # Live commands carry an expiry in the devices' (simulated) time.
        services = build_services(self.config, device_clock=self._clock)
        clock = self._clock
        services.clock = lambda: dt.datetime.fromtimestamp(clock(), dt.UTC)
        self._services = services
        app = create_app(self.config, services=services)
        # In a thread uvicorn installs no signal handlers: Ctrl-C stays the stack's.
        server = UvicornThread(
            app,
            host=self.config.http.host,
            port=self.config.http.port,
            start_timeout_s=_START_TIMEOUT_S,
            stop_timeout_s=10.0,
        )
        self._server = server
        services.start()
        if services.billing is not None:
            self._daily = DailyRunner(services)
            self._daily.start()
        try:
            server.start()
        except ServerStartError:
            self.stop()
            raise PortalStartError(
                f"the portal did not start on {self.url} (see the log)"
            ) from None

    def stop(self) -> None:
        """Stop serving and close the services. Idempotent."""
        daily, self._daily = self._daily, None
        if daily is not None:
            daily.stop()
        server, self._server = self._server, None
        if server is not None:
            server.stop()
        services, self._services = self._services, None
        if services is not None:
            with contextlib.suppress(Exception):
                services.close()
