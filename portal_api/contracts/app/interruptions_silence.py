"""Silent devices (General Terms 5.2): a device not heard from for more than 6 hours
becomes a PROPOSED unplanned interruption that staff confirm (``open_from_proposal``).

Where "last heard" comes from: the shared time-series store, through the portal's
``ConsumptionService.device_status`` (the newest status, record or live sample the
device sent; the broker's "offline" will does not count as heard). Ingest also keeps
a ``device_state`` SQLite of its own, but that file is local to ONE ingest worker:
with several workers on an MQTT shared subscription each sees only the messages it
was given, so none of them knows a device's true last message. Every worker writes
into the one store, which is therefore the only shared truth (and the same store the
portal already shows a device's status from, so the page and the proposal agree).

Which devices: those of the sites still in an ACTIVE or SUSPENDED contract whose
data lives under their own id (``registry_device_id`` set; a module that uploads
under its meter's id has no data of its own and would always look silent — the
rule of ``web.directory.SiteRecord.publishing_devices``). A device never heard from
has no silence start to date an interruption from: it is an installation matter
(1.4), not a 5.2 interruption, and is skipped.

Idempotent: one proposal per device and silence start (the decision's subject), and
none while an interruption of the contract already covers the device's site.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal_api.consumption.schemas import DeviceStatusView
from portal_api.contracts.db.enums import DecisionKind
from portal_api.contracts.db.events_repository import EventRepository
from portal_api.contracts.db.records import InterruptionRecord
from portal_api.contracts.db.repository import ContractRepository
from portal_api.contracts.domain.contract import ContractState
from portal_api.contracts.domain.dates import UTC, local_date
from portal_api.contracts.domain.interruption_checks import proposed_from_silence
from portal_api.db.enums import DeviceKind
from portal_api.db.models import Device

__all__ = ["SCANNED_STATES", "DeviceStatusSource", "ScanReport", "scan_silent_devices"]

SCANNED_STATES = (ContractState.ACTIVE, ContractState.SUSPENDED)


class DeviceStatusSource(Protocol):
    """What the scan needs of ``ConsumptionService``: a device's status at ``now``."""

    def device_status(self, device_id: str, now: float) -> DeviceStatusView: ...


@dataclass
class ScanReport:
    """Devices looked at, proposals added (decision ids) and devices silent but covered."""

    devices: int = 0
    proposed: list[int] = field(default_factory=list)
    silent: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        return [
            f"silence scan: {self.devices} device(s), {len(self.silent)} silent over 6 h, "
            f"{len(self.proposed)} new proposal(s)"
        ]


def silence_subject(device_id: str, silent_since: dt.datetime) -> str:
    """The decision's subject: the device and the second its silence started (UTC)."""
    return f"{device_id}@{silent_since.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ}"


def _publishing(session: Session, site_id: str) -> list[str]:
    """Ids the site's data lives under in the store (see the module docstring)."""
    devices = session.scalars(
        select(Device).where(Device.site_id == site_id).order_by(Device.id)
    ).all()
    own = [d.id for d in devices if d.registry_device_id is not None]
    return own or [d.id for d in devices if d.kind is DeviceKind.METER]


def _covered(records: list[InterruptionRecord], device_id: str, site_id: str) -> bool:
    """An interruption already stands for this silence: the device's own, or one of the
    contract still lasting over the site (whole contract or naming the site)."""
    for record in records:
        item = record.interruption
        if item.device_id == device_id and item.end is None:
            return True
        if item.end is None and (not item.sites or site_id in item.sites):
            return True
    return False


def scan_silent_devices(
    session: Session, statuses: DeviceStatusSource, now: dt.datetime
) -> ScanReport:
    """Propose an unplanned interruption for every device silent more than 6 hours (5.2)."""
    report = ScanReport()
    contracts = ContractRepository(session)
    events = EventRepository(session)
    today = local_date(now)
    for record in contracts.contracts(SCANNED_STATES):
        number = record.contract.number
        lasting = events.interruptions(number, open_only=True)
        for site in record.sites_on(today):
            for device_id in _publishing(session, site.site_id):
                report.devices += 1
                seen = statuses.device_status(device_id, now.timestamp()).last_seen
                if seen is None:
                    continue  # never heard from: nothing to date a silence from
                decision = proposed_from_silence(device_id, seen, now, sites=[site.site_id])
                if decision.value is None:
                    continue  # 6 hours or less
                report.silent.append(device_id)
                if _covered(lasting, device_id, site.site_id):
                    continue
                found = events.propose(
                    number,
                    DecisionKind.INTERRUPTION_PROPOSED,
                    silence_subject(device_id, seen),
                    today,
                    decision,
                )
                if found is not None:
                    report.proposed.append(found)
    return report
