"""GET /sites, GET /sites/{site_id}: the sites the caller may see, with their state."""

from __future__ import annotations

from fastapi import APIRouter

from portal_api.domain.roles import Permission
from portal_api.web.deps import CurrentPrincipal, ServicesDep, SiteRecordDep, visible_sites
from portal_api.web.schemas import DeviceOut, SiteOut
from portal_api.web.summaries import SiteSummary, summarise

router = APIRouter(tags=["sites"])


def site_out(summary: SiteSummary, with_energy: bool) -> SiteOut:
    """The site's record and state; power and energy only for a caller who may read
    consumption (an installer sees records and device status, not consumption)."""
    site = summary.site
    return SiteOut(
        id=site.id,
        customer_id=site.customer_id,
        name=site.name,
        address=site.address,
        settlement=site.settlement,
        voltage=site.voltage,
        metering_point=site.metering_point,
        devices=[
            DeviceOut(
                id=s.device.id,
                kind=s.device.kind,
                meter_model=s.device.meter_model,
                serial=s.device.serial,
                parent_id=s.device.parent_id,
                online=s.status.online,
                last_seen=s.status.last_seen,
            )
            for s in summary.devices
        ],
        current_power_w=summary.current_power_w if with_energy else None,
        today_kwh=summary.today_kwh if with_energy else None,
        online=summary.online,
    )


@router.get("/sites", response_model=list[SiteOut], summary="The sites the caller may see")
def list_sites(principal: CurrentPrincipal, services: ServicesDep) -> list[SiteOut]:
    now = services.clock()
    sites = visible_sites(services, principal)
    energy = principal.can(Permission.OWN_DATA) or principal.can(Permission.ALL_CONSUMPTION)
    return [site_out(summarise(services.consumption, site, now), energy) for site in sites]


@router.get("/sites/{site_id}", response_model=SiteOut, summary="One site")
def get_site(site: SiteRecordDep, principal: CurrentPrincipal, services: ServicesDep) -> SiteOut:
    energy = principal.can(Permission.OWN_DATA) or principal.can(Permission.ALL_CONSUMPTION)
    return site_out(summarise(services.consumption, site, services.clock()), energy)
