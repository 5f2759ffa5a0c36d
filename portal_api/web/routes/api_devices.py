"""GET /devices/{device_id}/phases, /latest and /status."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request, status

from portal_api.consumption.calendar import Resolution
from portal_api.consumption.paging import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, paginate
from portal_api.consumption.schemas import DeviceStatusView, LatestValues, PhasePage
from portal_api.web.deps import DeviceConsumptionDep, DeviceStatusDep, ServicesDep
from portal_api.web.query import page_links, parse_instant, parse_zone
from portal_api.web.summaries import status_source

router = APIRouter(tags=["devices"])


@router.get(
    "/devices/{device_id}/phases",
    response_model=PhasePage,
    summary="Per-phase power, voltage, current and power factor per interval",
)
def phases(
    request: Request,
    *,
    device: DeviceConsumptionDep,
    services: ServicesDep,
    period_from: Annotated[str, Query(description="inclusive; ISO 8601 with offset, or a date")],
    period_to: Annotated[str, Query(description="exclusive; as period_from")],
    resolution: Annotated[Resolution, Query()] = "15min",
    tz: Annotated[str, Query(description="IANA time zone")] = "Europe/Sofia",
    page_size: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = DEFAULT_PAGE_SIZE,
    page: Annotated[int, Query(ge=1)] = 1,
) -> PhasePage:
    zone = parse_zone(tz)
    rows = services.consumption.phases(
        device.id,
        parse_instant("period_from", period_from, zone),
        parse_instant("period_to", period_to, zone),
        resolution,
        zone,
    )
    result = paginate(rows, page, page_size)
    previous, following = page_links(request, result.has_previous, result.has_next)
    return PhasePage(
        device_id=device.id,
        resolution=resolution,
        tz=zone.key,
        count=result.count,
        page=result.page,
        page_size=result.page_size,
        next=following,
        previous=previous,
        results=result.items,
    )


@router.get(
    "/devices/{device_id}/latest",
    response_model=LatestValues,
    summary="The newest record's values per phase and the counters",
)
def latest(device: DeviceConsumptionDep, services: ServicesDep) -> LatestValues:
    values = services.consumption.latest(device.id)
    if values is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "No records from this device yet")
    return values


@router.get(
    "/devices/{device_id}/status",
    response_model=DeviceStatusView,
    summary="Last seen, online, queue depth, signal, clock, version",
)
def device_status(device: DeviceStatusDep, services: ServicesDep) -> DeviceStatusView:
    site = services.directory.site(device.site_id)
    source = device.id if site is None else status_source(site, device)
    view = services.consumption.device_status(source, services.clock().timestamp())
    return view.model_copy(update={"device_id": device.id})
