"""GET /sites/{site_id}/consumption (JSON), .csv (RFC 4180) and .xml (Green Button).

The three answer the same query (decision 0004): ``period_from`` inclusive,
``period_to`` exclusive, ``group_by``, ``tz``; the JSON is paginated, the
exports hold every interval of the period.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response, StreamingResponse

from portal_api.consumption import espi
from portal_api.consumption.calendar import GroupBy
from portal_api.consumption.csv_export import MEDIA_TYPE, csv_filename, csv_lines
from portal_api.consumption.paging import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, paginate
from portal_api.consumption.schemas import EnergyInterval, EnergyPage
from portal_api.web.deps import ServicesDep, SiteConsumptionDep
from portal_api.web.query import page_links, parse_instant, parse_zone

router = APIRouter(tags=["consumption"])


@dataclass(frozen=True)
class EnergyQuery:
    period_from: datetime
    period_to: datetime
    group_by: GroupBy
    tz: ZoneInfo


def energy_query(
    period_from: Annotated[
        str, Query(description="inclusive; ISO 8601 with offset, or a date (local midnight)")
    ],
    period_to: Annotated[str, Query(description="exclusive; as period_from")],
    group_by: Annotated[GroupBy, Query()] = "day",
    tz: Annotated[str, Query(description="IANA time zone")] = "Europe/Sofia",
) -> EnergyQuery:
    zone = parse_zone(tz)
    return EnergyQuery(
        parse_instant("period_from", period_from, zone),
        parse_instant("period_to", period_to, zone),
        group_by,
        zone,
    )


EnergyQueryDep = Annotated[EnergyQuery, Depends(energy_query)]


def _intervals(services: ServicesDep, site_id: str, q: EnergyQuery) -> list[EnergyInterval]:
    return services.consumption.energy(site_id, q.period_from, q.period_to, q.group_by, q.tz)


@router.get(
    "/sites/{site_id}/consumption",
    response_model=EnergyPage,
    summary="Energy per interval; every interval listed, gaps included",
)
def consumption(
    request: Request,
    *,
    site: SiteConsumptionDep,
    services: ServicesDep,
    q: EnergyQueryDep,
    order: Annotated[Literal["asc", "desc"], Query()] = "asc",
    page_size: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = DEFAULT_PAGE_SIZE,
    page: Annotated[int, Query(ge=1)] = 1,
) -> EnergyPage:
    result = paginate(_intervals(services, site.id, q), page, page_size, order)
    previous, following = page_links(request, result.has_previous, result.has_next)
    return EnergyPage(
        site_id=site.id,
        group_by=q.group_by,
        tz=q.tz.key,
        count=result.count,
        page=result.page,
        page_size=result.page_size,
        next=following,
        previous=previous,
        results=result.items,
    )


@router.get(
    "/sites/{site_id}/consumption.csv",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}}},
    summary="The same intervals as CSV (RFC 4180, UTF-8, header row)",
)
def consumption_csv(site: SiteConsumptionDep, services: ServicesDep, q: EnergyQueryDep) -> Response:
    rows = _intervals(services, site.id, q)
    name = csv_filename(
        site.id,
        q.group_by,
        q.period_from.astimezone(q.tz).date().isoformat(),
        q.period_to.astimezone(q.tz).date().isoformat(),
    )
    return StreamingResponse(
        csv_lines(rows),
        media_type=MEDIA_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get(
    "/sites/{site_id}/consumption.xml",
    response_class=Response,
    responses={200: {"content": {"application/atom+xml": {}}}},
    summary="The same intervals as a Green Button (ESPI) Atom feed",
)
def consumption_xml(site: SiteConsumptionDep, services: ServicesDep, q: EnergyQueryDep) -> Response:
    rows = _intervals(services, site.id, q)
    body = espi.espi_feed(
        site.id, rows, group_by=q.group_by, tz=q.tz, updated=services.clock(), title=site.name
    )
    return Response(body, media_type=espi.MEDIA_TYPE)
