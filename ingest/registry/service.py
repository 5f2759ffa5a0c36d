"""`Registry`: the service layer over the registry tables.

One short transaction per call; callers get frozen snapshots (`Device`,
`ServiceAccount`) and, from `add_device` / `rotate_password`, the plaintext
password exactly once — it is never stored or logged.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from ingest.registry import credentials, migrate
from ingest.registry.domain import (
    BrokerLogin,
    Device,
    DeviceState,
    DuplicateError,
    ServiceAccount,
    ServiceRole,
    StateTransitionError,
    UnknownError,
    check_device_fields,
    check_service_name,
    check_transition,
    utc,
)
from ingest.registry.models import DeviceRow, ServiceAccountRow

DEFAULT_URL = "sqlite:///var/registry.sqlite3"
"""Relative to the working directory, like the other embedded stores under var/."""

Clock = Callable[[], dt.datetime]
# Aliases made before the class: inside it, `list` is the Registry.list method.
Devices = list[Device]
ServiceAccounts = list[ServiceAccount]
ServiceLogins = list[tuple[ServiceAccount, BrokerLogin]]
DeviceLogins = list[BrokerLogin]


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _device(row: DeviceRow) -> Device:
    return Device(
        id=row.id,
        site_id=row.site_id,
        meter_model=row.meter_model,
        state=DeviceState(row.state),
        installed_at=row.installed_at,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _service(row: ServiceAccountRow) -> ServiceAccount:
    return ServiceAccount(
        name=row.name,
        role=ServiceRole(row.role),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def create_registry_engine(url: str) -> Engine:
    """An engine for `url`; for a SQLite file, its directory is created first."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    return create_engine(url)


class Registry:
    """Devices and cloud service accounts, with their broker credentials."""

    def __init__(self, engine: Engine, *, clock: Clock = _now) -> None:
        """Use `open()` unless the schema is already migrated (it is not checked here)."""
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        self._clock = clock

    @classmethod
    def open(cls, url: str = DEFAULT_URL, *, clock: Clock = _now) -> Registry:
        """Connect to `url` and run ``alembic upgrade head`` before anything else."""
        engine = create_registry_engine(url)
        try:
            migrate.upgrade(engine)
        except BaseException:
            engine.dispose()
            raise
        return cls(engine, clock=clock)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Registry:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    @contextmanager
    def _transaction(self) -> Iterator[Session]:
        with self._sessions.begin() as session:
            yield session

    @contextmanager
    def _inserting(self, what: str) -> Iterator[Session]:
        """A transaction adding `what`; a concurrent insert of the same key (two
        installers at once) surfaces as DuplicateError, like the checked case."""
        try:
            with self._transaction() as session:
                yield session
        except IntegrityError as exc:
            raise DuplicateError(f"{what} is already registered") from exc

    # -- devices --------------------------------------------------------------

    def add_device(
        self,
        device_id: str,
        site_id: str,
        meter_model: str,
        *,
        installed_at: dt.datetime | None = None,
    ) -> str:
        """Register an active device; returns its generated password, the only time it is seen."""
        check_device_fields(device_id, site_id, meter_model)
        now = self._clock()
        password = credentials.generate_password()
        with self._inserting(f"device {device_id!r}") as session:
            if session.get(DeviceRow, device_id) is not None:
                # retired ids stay in the table so they are never handed out again
                raise DuplicateError(f"device {device_id!r} is already registered")
            session.add(
                DeviceRow(
                    id=device_id,
                    site_id=site_id,
                    meter_model=meter_model,
                    state=DeviceState.ACTIVE,
                    installed_at=utc(installed_at) if installed_at else now,
                    password_hash=credentials.argon2_hash(password),
                    broker_hash=credentials.mosquitto_hash(password),
                    created_at=now,
                    updated_at=now,
                )
            )
        return password

    def get(self, device_id: str) -> Device:
        """The device; UnknownError if it was never registered."""
        with self._transaction() as session:
            return _device(self._device_row(session, device_id))

    def list(self, *, state: DeviceState | None = None, site_id: str | None = None) -> Devices:
        """Devices ordered by id, optionally only those in `state` / at `site_id`."""
        query = select(DeviceRow).order_by(DeviceRow.id)
        if state is not None:
            query = query.where(DeviceRow.state == state)
        if site_id is not None:
            query = query.where(DeviceRow.site_id == site_id)
        with self._transaction() as session:
            return [_device(row) for row in session.scalars(query)]

    def set_state(self, device_id: str, state: DeviceState) -> Device:
        """Suspend, reactivate or retire; StateTransitionError if the lifecycle forbids it.

        Takes effect on the broker at the next render + reload (see docs/broker-security.md).
        """
        with self._transaction() as session:
            row = self._device_row(session, device_id)
            check_transition(DeviceState(row.state), state)
            if row.state != state:
                row.state = state
                row.updated_at = self._clock()
            return _device(row)

    def active_device(self, device_id: str) -> Device | None:
        """The device if it exists and is active, else None: ingest's check on each message."""
        with self._transaction() as session:
            row = session.get(DeviceRow, device_id)
            if row is None or row.state != DeviceState.ACTIVE:
                return None
            return _device(row)

    # -- service accounts -------------------------------------------------------

    def add_service_account(self, name: str, role: ServiceRole) -> str:
        """A cloud service's login (name ``svc_...``); returns its password once."""
        check_service_name(name)
        now = self._clock()
        password = credentials.generate_password()
        with self._inserting(f"service account {name!r}") as session:
            if session.get(ServiceAccountRow, name) is not None:
                raise DuplicateError(f"service account {name!r} already exists")
            session.add(
                ServiceAccountRow(
                    name=name,
                    role=role,
                    password_hash=credentials.argon2_hash(password),
                    broker_hash=credentials.mosquitto_hash(password),
                    created_at=now,
                    updated_at=now,
                )
            )
        return password

    def service_accounts(self) -> ServiceAccounts:
        with self._transaction() as session:
            rows = session.scalars(select(ServiceAccountRow).order_by(ServiceAccountRow.name))
            return [_service(row) for row in rows]

    def remove_service_account(self, name: str) -> None:
        with self._transaction() as session:
            session.delete(self._service_row(session, name))

    # -- credentials ----------------------------------------------------------------

    def rotate_password(self, name: str) -> str:
        """A new password for a device id or a service account name; returned once.

        The old one stays valid on the broker until the files are rendered again
        and Mosquitto reloads them.
        """
        password = credentials.generate_password()
        with self._transaction() as session:
            row: DeviceRow | ServiceAccountRow
            if name.startswith("svc_"):
                row = self._service_row(session, name)
            else:
                row = self._device_row(session, name)
                if row.state == DeviceState.RETIRED:
                    raise StateTransitionError(f"device {name!r} is retired")
            row.password_hash = credentials.argon2_hash(password)
            row.broker_hash = credentials.mosquitto_hash(password)
            row.updated_at = self._clock()
        return password

    def verify_password(self, name: str, password: str) -> bool:
        """True if `password` is current for an active device or a service account.

        The registry's own check (argon2), e.g. behind an EMQX HTTP authenticator.
        """
        with self._transaction() as session:
            if name.startswith("svc_"):
                service = session.get(ServiceAccountRow, name)
                stored = service.password_hash if service is not None else None
            else:
                device = session.get(DeviceRow, name)
                active = device is not None and device.state == DeviceState.ACTIVE
                stored = device.password_hash if device is not None and active else None
        return stored is not None and credentials.argon2_verify(stored, password)

    def broker_logins(self) -> tuple[DeviceLogins, ServiceLogins]:
        """Password-file entries: active devices only, and every service account."""
        with self._transaction() as session:
            devices = session.scalars(
                select(DeviceRow)
                .where(DeviceRow.state == DeviceState.ACTIVE)
                .order_by(DeviceRow.id)
            )
            device_logins = [BrokerLogin(row.id, row.broker_hash) for row in devices]
            services = session.scalars(select(ServiceAccountRow).order_by(ServiceAccountRow.name))
            service_logins = [
                (_service(row), BrokerLogin(row.name, row.broker_hash)) for row in services
            ]
        return device_logins, service_logins

    # -- helpers --------------------------------------------------------------------

    @staticmethod
    def _device_row(session: Session, device_id: str) -> DeviceRow:
        row = session.get(DeviceRow, device_id)
        if row is None:
            raise UnknownError(f"no device {device_id!r}")
        return row

    @staticmethod
    def _service_row(session: Session, name: str) -> ServiceAccountRow:
        row = session.get(ServiceAccountRow, name)
        if row is None:
            raise UnknownError(f"no service account {name!r}")
        return row
