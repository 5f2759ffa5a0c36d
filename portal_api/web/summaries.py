"""What the sites overview shows of a site: current power, today's kWh, devices online.

Composed from the consumption service for both the API (``GET /sites``) and the
page, so the two cannot disagree. A communication module that uploads under its
meter's id has no data of its own: its state is its meter's.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from portal_api.consumption.schemas import DeviceStatusView
from portal_api.consumption.service import ConsumptionService
from portal_api.web.directory import DeviceRecord, SiteRecord

__all__ = ["CURRENT_POWER_MAX_AGE_S", "DeviceState", "SiteSummary", "status_source", "summarise"]

# The newest record says "current power" only while it is this fresh (a record is
# a minute or a quarter-hour; older than that the site is not reporting).
CURRENT_POWER_MAX_AGE_S = 20 * 60


@dataclass(frozen=True)
class DeviceState:
    device: DeviceRecord
    status: DeviceStatusView


@dataclass(frozen=True)
class SiteSummary:
    site: SiteRecord
    current_power_w: float | None
    today_kwh: float | None
    devices: list[DeviceState]

    @property
    def devices_total(self) -> int:
        return len(self.devices)

    @property
    def devices_online(self) -> int:
        return sum(1 for d in self.devices if d.status.online)

    @property
    def online(self) -> bool:
        return bool(self.devices) and self.devices_online == self.devices_total

    # The template reads these off the summary as off a site.
    @property
    def id(self) -> str:
        return self.site.id

    @property
    def name(self) -> str:
        return self.site.name

    @property
    def address(self) -> str:
        return self.site.address

    @property
    def settlement(self) -> str:
        return self.site.settlement


def status_source(site: SiteRecord, device: DeviceRecord) -> str:
    """The id whose status messages describe ``device`` (see the module docstring)."""
    if device.publishes or device.kind != "module":
        return device.id
    for other in site.devices:
        if other.parent_id == device.id and other.publishes:
            return other.id
    return device.id


def device_states(
    consumption: ConsumptionService, site: SiteRecord, now: dt.datetime
) -> list[DeviceState]:
    states = []
    for device in site.devices:
        view = consumption.device_status(status_source(site, device), now.timestamp())
        states.append(DeviceState(device, view.model_copy(update={"device_id": device.id})))
    return states


def current_power(
    consumption: ConsumptionService, site: SiteRecord, now: dt.datetime
) -> float | None:
    """Sum of the publishing devices' newest total power; None when none is fresh."""
    total: float | None = None
    for device_id in site.publishing_devices:
        latest = consumption.latest(device_id)
        if latest is None or latest.total.p_w is None:
            continue
        if (now - latest.interval_end).total_seconds() > CURRENT_POWER_MAX_AGE_S:
            continue
        total = (total or 0.0) + latest.total.p_w
    return total


def summarise(consumption: ConsumptionService, site: SiteRecord, now: dt.datetime) -> SiteSummary:
    return SiteSummary(
        site=site,
        current_power_w=current_power(consumption, site, now),
        today_kwh=consumption.today_kwh(site.id, now),
        devices=device_states(consumption, site, now),
    )
