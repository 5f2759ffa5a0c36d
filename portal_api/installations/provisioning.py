"""Provisioning a communication module from the installers' CLI (issue 7, clauses 1.4, 1.6).

The technician at the panel registers the module of a contract's site: the portal
checks the contract (signed, the site named in it: 1.1, 1.4), registers the meter's
device in ingest's registry (its MQTT login; the password is generated there and
returned exactly once, here) and adds the portal's Device rows (the module and
the meter it reads under the site), then answers what the agent configuration
needs. Provisioning the same module of the same site again is idempotent: the
same device id, the rows updated, a new password (the registry never keeps a
plaintext one to give out twice).

Who may provision: staff holding ``installation`` (a bearer token), or anyone
holding a one-time provisioning code a staff member issued for the contract
(:mod:`portal_api.installations.codes`). Code attempts are throttled like logins
(the ``login_attempts`` table: per client address, and per contract number so a
code cannot be guessed from many addresses) and every attempt is audited, never
with the code or the password.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from ingest.registry.domain import (
    DeviceState,
    DuplicateError,
    InvalidDeviceError,
    StateTransitionError,
    UnknownError,
)
from ingest.registry.service import Registry
from portal_api.accounts.audit import write_audit
from portal_api.accounts.throttle import LoginThrottle
from portal_api.accounts.tokens import token_hash
from portal_api.config import SecuritySettings
from portal_api.consumption.service import IMPORT, ConsumptionService
from portal_api.contracts.db.models import ContractRow, ContractSiteRow
from portal_api.contracts.domain.contract import ContractState
from portal_api.db.enums import DeviceKind
from portal_api.db.models import Device, Site
from portal_api.installations.codes import (
    CODE_VALIDITY,
    code_hash,
    format_code,
    generate_code,
    normalise_code,
)
from portal_api.installations.models import ProvisioningCodeRow
from protocol.topics import DEVICE_ID_MAX, PREFIX, valid_device_id

__all__ = [
    "CLOCK_SLACK",
    "CODE_STATES",
    "PROVISIONABLE",
    "BrokerSettings",
    "FirstUpload",
    "IssuedCode",
    "MeterSpec",
    "ProvisionRequest",
    "Provisioned",
    "ProvisioningError",
    "ProvisioningService",
    "derived_module_id",
    "first_upload",
]

Clock = Callable[[], dt.datetime]

# 1.4: a code is issued for a signed contract whose installation is still ahead.
CODE_STATES = frozenset({ContractState.SIGNED, ContractState.INSTALLATION})
# Provisioning also serves an active contract: a module replaced on site (staff only
# in practice: no code is issued once the contract is active).
PROVISIONABLE = CODE_STATES | {ContractState.ACTIVE}
_NOT_SLUG = re.compile(r"[^a-z0-9-]+")


class ProvisioningError(Exception):
    """A refused request: a stable ``code``, the HTTP status and both languages."""

    def __init__(
        self, code: str, status: int, bg: str, en: str, *, retry_after: int | None = None
    ) -> None:
        super().__init__(en)
        self.code = code
        self.status = status
        self.message_bg = bg
        self.message_en = en
        self.retry_after = retry_after


def _refused(code: str, **values: object) -> ProvisioningError:
    status, bg, en = _MESSAGES[code]
    return ProvisioningError(code, status, bg.format(**values), en.format(**values))


_MESSAGES: dict[str, tuple[int, str, str]] = {
    "code_unknown": (
        401,
        "Кодът за активиране е грешен или не е за този договор.",
        "The provisioning code is wrong or not for this contract.",
    ),
    "code_used": (
        401,
        "Кодът за активиране вече е използван ({when}); поискайте нов код.",
        "The provisioning code has already been used ({when}); ask for a new one.",
    ),
    "code_expired": (
        401,
        "Кодът за активиране е изтекъл ({when}); поискайте нов код.",
        "The provisioning code expired ({when}); ask for a new one.",
    ),
    "code_wrong_site": (
        400,
        "Кодът за активиране е издаден за обект {site}.",
        "The provisioning code was issued for site {site}.",
    ),
    "throttled": (
        429,
        "Твърде много опити с код; опитайте отново след {seconds} s.",
        "Too many code attempts; try again in {seconds} s.",
    ),
    "contract_unknown": (404, "Няма договор {number}.", "No contract {number}."),
    "contract_not_signed": (
        409,
        "Договор {number} не е подписан (състояние: {state}); монтаж след подписване (1.4).",
        "Contract {number} is not signed (state: {state}); installation follows signing (1.4).",
    ),
    "contract_closed": (
        409,
        "Договор {number} е в състояние {state}: не се монтира оборудване.",
        "Contract {number} is {state}: no equipment is installed.",
    ),
    "code_contract_state": (
        409,
        "Код се издава само за подписан договор преди монтажа (състояние: {state}).",
        "A code is issued only for a signed contract before installation (state: {state}).",
    ),
    "site_not_in_contract": (
        400,
        "Обект {site} не е в договор {number}.",
        "Site {site} is not in contract {number}.",
    ),
    "bad_device": (
        400,
        "Неприемливи данни за устройството: {problem}",
        "Invalid device: {problem}",
    ),
    "module_elsewhere": (
        409,
        "Модул {module} вече е регистриран на обект {site}.",
        "Module {module} is already registered at site {site}.",
    ),
    "device_taken": (
        409,
        "Идентификаторът {device} вече се използва.",
        "The device id {device} is already in use.",
    ),
    "meter_model_changed": (
        409,
        "Модулът вече чете мултиметър {old}; смяната с {new} иска нова регистрация.",
        "The module already reads a {old} meter; replacing it by a {new} needs a new device.",
    ),
    "device_retired": (
        409,
        "Устройство {device} е извадено от употреба и не може да се активира отново.",
        "Device {device} is retired and cannot be provisioned again.",
    ),
}


@dataclass(frozen=True)
class BrokerSettings:
    """Where devices connect: the MQTT broker as a module in the field reaches it."""

    host: str
    port: int
    tls: bool
    protocol: str = "5"


@dataclass(frozen=True)
class MeterSpec:
    model: str  # a hardware map name (hardware/maps)
    serial: str | None
    slave: int
    baud: int
    parity: str
    stopbits: int


@dataclass(frozen=True)
class ProvisionRequest:
    contract_number: str
    site_id: str
    meter: MeterSpec
    module_id: str | None = None


@dataclass(frozen=True)
class IssuedCode:
    code: str  # shown once, as ABCDE-FGHJK
    contract_number: str
    site_id: str | None
    expires_at: dt.datetime


@dataclass(frozen=True)
class Provisioned:
    """What the agent needs; ``password`` is the only copy there will ever be."""

    device_id: str
    module_id: str
    site_id: str
    contract_number: str
    meter: MeterSpec
    broker: BrokerSettings
    password: str = field(repr=False)
    created: bool
    provisioned_at: dt.datetime

    @property
    def topic_prefix(self) -> str:
        return f"{PREFIX}{self.device_id}/"


def _slug(value: str) -> str:
    return _NOT_SLUG.sub("-", value.lower()).strip("-")


def derived_module_id(site_id: str) -> str:
    """``cm-<site>``: the module of a site when the technician does not name one."""
    return ("cm-" + _slug(site_id))[:DEVICE_ID_MAX].rstrip("-")


def _meter_device_id(module_id: str, slave: int) -> str:
    suffix = f"-m{slave}"
    return module_id[: DEVICE_ID_MAX - len(suffix)].rstrip("-") + suffix


def _when(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


class ProvisioningService:
    """Codes and provisioning over the portal database and ingest's registry."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        clock: Clock,
        security: SecuritySettings,
        registry: Callable[[], Registry],
        broker: BrokerSettings,
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self._pepper = security.identifier_keys().pepper
        self._throttle = LoginThrottle(security)
        # Opened on first use: issuing a code does not need ingest's registry.
        self._registry = registry
        self._broker = broker

    # -- codes ------------------------------------------------------------------------

    def issue_code(
        self,
        contract_number: str,
        *,
        site_id: str | None,
        actor_user_id: int,
        ip: str | None,
    ) -> IssuedCode:
        """A one-time code for a signed contract (optionally one of its sites), valid
        14 days; only its HMAC is stored, the code is in this answer only."""
        now = self._clock()
        code = generate_code()
        with self._sessions.begin() as session:
            contract = self._contract(session, contract_number)
            if ContractState(contract.state) not in CODE_STATES:
                raise _refused("code_contract_state", state=ContractState(contract.state).value)
            if site_id is not None:
                self._check_site(session, contract, site_id)
            row = ProvisioningCodeRow(
                code_hash=code_hash(code, self._pepper),
                contract_id=contract.id,
                site_id=site_id,
                issued_by=actor_user_id,
                issued_at=now,
                expires_at=now + CODE_VALIDITY,
            )
            session.add(row)
            session.flush()
            write_audit(
                session,
                now,
                "provisioning_code_issued",
                actor_user_id=actor_user_id,
                object_type="contract",
                object_id=contract.number,
                ip=ip,
                detail={
                    "code_id": row.id,
                    "site_id": site_id,
                    "expires_at": row.expires_at.isoformat(),
                },
            )
            return IssuedCode(format_code(code), contract.number, site_id, row.expires_at)

    def _check_code(self, code: str, contract_number: str, site_id: str, ip: str) -> int:
        """The id of the valid code row, after the throttle; every attempt is recorded
        (committed even when refused, so refusals count)."""
        now = self._clock()
        # Attempts are counted per contract: a guesser must know the contract number,
        # and spreading guesses over addresses does not multiply them.
        key = token_hash("provisioning:" + contract_number.strip().upper())
        refusal: ProvisioningError | None = None
        code_id = 0
        with self._sessions.begin() as session:
            self._throttle.prune(session, now)
            retry = self._throttle.ip_retry_after(session, ip, now)
            locked = self._throttle.name_locked_until(session, key, now)
            if retry is None and locked is not None:
                retry = max(1, int((locked - now).total_seconds()))
            if retry is not None:
                write_audit(
                    session,
                    now,
                    "provisioning_code_throttled",
                    ip=ip,
                    detail={"retry_after": retry},
                )
                error = _refused("throttled", seconds=retry)
                error.retry_after = retry
                raise error
            row = session.scalars(
                select(ProvisioningCodeRow)
                .join(ContractRow, ContractRow.id == ProvisioningCodeRow.contract_id)
                .where(
                    ProvisioningCodeRow.code_hash == code_hash(code, self._pepper),
                    ContractRow.number == contract_number,
                )
            ).first()
            if row is None or not normalise_code(code):
                refusal = _refused("code_unknown")
            elif row.used_at is not None:
                refusal = _refused("code_used", when=_when(row.used_at))
            elif row.expires_at <= now:
                refusal = _refused("code_expired", when=_when(row.expires_at))
            elif row.site_id is not None and row.site_id != site_id:
                refusal = _refused("code_wrong_site", site=row.site_id)
            else:
                code_id = row.id
            self._throttle.record(session, key, ip, refusal is None, now)
            if refusal is not None:
                write_audit(
                    session,
                    now,
                    "provisioning_code_refused",
                    object_type="contract",
                    object_id=contract_number[:64],
                    ip=ip,
                    detail={"reason": refusal.code, "code_id": row.id if row else None},
                )
        if refusal is not None:
            raise refusal
        return code_id

    # -- provisioning ---------------------------------------------------------------------

    def provision(
        self,
        request: ProvisionRequest,
        *,
        ip: str,
        actor_user_id: int | None = None,
        code: str | None = None,
    ) -> Provisioned:
        """Register (or again: idempotent) the module and meter of ``request.site_id``.

        Exactly one of ``actor_user_id`` (staff allowed by the caller) and ``code``.
        Raises :class:`ProvisioningError`.
        """
        if (actor_user_id is None) == (code is None):
            raise ValueError("give a staff user or a provisioning code, not both or neither")
        code_id = (
            self._check_code(code, request.contract_number, request.site_id, ip)
            if code is not None
            else None
        )
        now = self._clock()
        meter = request.meter
        module_id = request.module_id or derived_module_id(request.site_id)
        if not valid_device_id(module_id):
            raise _refused("bad_device", problem=f"module id {module_id!r}: 3-32 of a-z, 0-9, '-'")
        with self._sessions.begin() as session:
            contract = self._contract(session, request.contract_number)
            state = ContractState(contract.state)
            if state is ContractState.DRAFT:
                raise _refused("contract_not_signed", number=contract.number, state=state.value)
            if state not in PROVISIONABLE:
                raise _refused("contract_closed", number=contract.number, state=state.value)
            site = self._check_site(session, contract, request.site_id)
            device_id, created = self._devices(session, site, module_id, meter, now)
            if code_id is not None:
                # Single use, also against a concurrent request with the same code.
                used = session.execute(
                    update(ProvisioningCodeRow)
                    .where(ProvisioningCodeRow.id == code_id, ProvisioningCodeRow.used_at.is_(None))
                    .values(used_at=now, used_for_device=device_id)
                )
                if used.rowcount != 1:  # type: ignore[attr-defined]
                    raise _refused("code_used", when=_when(now))
            password = self._register(device_id, site.id, meter.model, now)
            write_audit(
                session,
                now,
                "installation_provisioned",
                actor_user_id=actor_user_id,
                object_type="device",
                object_id=device_id,
                ip=ip,
                detail={
                    "contract": contract.number,
                    "site_id": site.id,
                    "module_id": module_id,
                    "meter_model": meter.model,
                    "serial": meter.serial,
                    "via": "code" if code_id is not None else "login",
                    "code_id": code_id,
                    "created": created,
                },
            )
            # The registry committed first: if this commit fails, a retry finds the
            # device there and rotates its password (idempotent), nothing is orphaned
            # on the portal side.
        return Provisioned(
            device_id=device_id,
            module_id=module_id,
            site_id=request.site_id,
            contract_number=contract.number,
            meter=meter,
            broker=self._broker,
            password=password,
            created=created,
            provisioned_at=now,
        )

    def _devices(
        self, session: Session, site: Site, module_id: str, meter: MeterSpec, now: dt.datetime
    ) -> tuple[str, bool]:
        """Add or update the module row and its meter row; the meter's (registry) id and
        whether the module was new."""
        module = session.get(Device, module_id)
        if module is not None and (module.site_id != site.id or module.kind != DeviceKind.MODULE):
            raise _refused("module_elsewhere", module=module_id, site=module.site_id)
        existing = (
            session.scalars(
                select(Device)
                .where(Device.parent_id == module_id, Device.kind == DeviceKind.METER)
                .order_by(Device.id)
            ).first()
            if module is not None
            else None
        )
        if existing is not None:
            if existing.meter_model != meter.model:
                raise _refused("meter_model_changed", old=existing.meter_model, new=meter.model)
            if meter.serial:
                existing.serial = meter.serial
            return existing.id, False
        device_id = _meter_device_id(module_id, meter.slave)
        taken = session.get(Device, device_id)
        if taken is not None:
            raise _refused("device_taken", device=device_id)
        if module is None:
            session.add(
                Device(
                    id=module_id,
                    site_id=site.id,
                    kind=DeviceKind.MODULE,
                    meter_model=None,
                    serial=None,
                    parent_id=None,
                    installed_at=now,
                    registry_device_id=None,  # uploads under its meter's id
                )
            )
            session.flush()  # the meter's parent_id refers to it
        session.add(
            Device(
                id=device_id,
                site_id=site.id,
                kind=DeviceKind.METER,
                meter_model=meter.model,
                serial=meter.serial,
                parent_id=module_id,
                installed_at=now,
                registry_device_id=device_id,
            )
        )
        session.flush()
        return device_id, module is None

    def _register(self, device_id: str, site_id: str, model: str, now: dt.datetime) -> str:
        """The registry device's password: a new device's, or a fresh one for a known device."""
        registry = self._registry()
        try:
            known = registry.get(device_id)
        except UnknownError:
            known = None
        try:
            if known is None:
                return registry.add_device(device_id, site_id, model, installed_at=now)
            if known.site_id != site_id:
                raise _refused("device_taken", device=device_id)
            if known.state is DeviceState.RETIRED:
                raise _refused("device_retired", device=device_id)
            # A suspended device (4.4) stays suspended: that is the contract engine's
            # call, not the technician's; the module is configured all the same.
            return registry.rotate_password(device_id)
        except InvalidDeviceError as exc:
            raise _refused("bad_device", problem=str(exc)) from None
        except DuplicateError:
            raise _refused("device_taken", device=device_id) from None
        except StateTransitionError:
            raise _refused("device_retired", device=device_id) from None

    # -- lookups ----------------------------------------------------------------------------

    @staticmethod
    def _contract(session: Session, number: str) -> ContractRow:
        row = session.scalars(select(ContractRow).where(ContractRow.number == number)).first()
        if row is None:
            raise _refused("contract_unknown", number=number[:64])
        return row

    @staticmethod
    def _check_site(session: Session, contract: ContractRow, site_id: str) -> Site:
        """The site if the contract names it and it has not left it (7.1з); 400 otherwise."""
        named = session.scalars(
            select(ContractSiteRow).where(
                ContractSiteRow.contract_id == contract.id,
                ContractSiteRow.site_id == site_id,
                ContractSiteRow.left_on.is_(None),
            )
        ).first()
        site = session.get(Site, site_id) if named is not None else None
        if site is None:
            raise _refused("site_not_in_contract", site=site_id[:64], number=contract.number)
        return site


# -- has it uploaded? ------------------------------------------------------------------------


@dataclass(frozen=True)
class FirstUpload:
    """``uploaded``: since the provisioning (``since``, else the meter's first
    installation), the store holds something the device sent under its new login: a
    record, or an "online" status (sent as soon as the agent connects; the first
    records come with its next upload round, up to ``upload_interval_s`` later).
    Either proves the whole path module → broker → ingest → store. A record is
    stamped with the start of its minute and a meter's clock may be a little off:
    records are counted from ``CLOCK_SLACK`` before. ``records``: how many since then;
    ``status_at``: its newest status; ``last_seen``: the newest of status, record and
    live sample."""

    device_id: str
    uploaded: bool
    last_seen: dt.datetime | None
    status_at: dt.datetime | None
    records: int
    online: bool


CLOCK_SLACK = dt.timedelta(seconds=120)


def first_upload(
    sessions: sessionmaker[Session],
    consumption: ConsumptionService,
    device_id: str,
    now: dt.datetime,
    since: dt.datetime | None = None,
) -> FirstUpload | None:
    """The upload state of a provisioned meter device; None if the portal has no such
    device with a registry row. ``since``: the provisioning answer's ``provisioned_at``
    (a module provisioned again must not pass on its old uploads)."""
    with sessions() as session:
        row = session.get(Device, device_id)
        if row is None or row.registry_device_id is None:
            return None
        installed = row.installed_at
    origin = since or installed or now
    start = origin - CLOCK_SLACK
    store = consumption.store
    status = consumption.device_status(device_id, now.timestamp())
    end = int((now + dt.timedelta(hours=1)).timestamp())
    records = store.records(device_id, int(start.timestamp()), end, channels=[IMPORT])
    # A status is stamped when it is sent, not with its minute: no slack, so the
    # status of an agent still running with the old login does not pass.
    online_since = (
        status.state == "online" and status.status_at is not None and status.status_at >= origin
    )
    return FirstUpload(
        device_id=device_id,
        uploaded=bool(records) or online_since,
        last_seen=status.last_seen,
        status_at=status.status_at,
        records=len(records),
        online=status.online,
    )
