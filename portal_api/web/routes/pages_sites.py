"""Pages of a customer's sites: the overview, a site's live view, its history."""

from __future__ import annotations

import datetime as dt
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from portal_api.domain.roles import Permission
from portal_api.web.deps import PageUser, ServicesDep, site_for, visible_sites
from portal_api.web.i18n import N_, SOFIA, Formatter
from portal_api.web.periods import VIEWS, View, history_period, period_summary
from portal_api.web.render import Renderer
from portal_api.web.summaries import device_states, summarise

router = APIRouter(include_in_schema=False)

_VIEW_LABELS = {"day": N_("Day"), "week": N_("Week"), "month": N_("Month"), "year": N_("Year")}


def _renderer(request: Request) -> Renderer:
    renderer: Renderer = request.app.state.renderer
    return renderer


@router.get("/", response_class=HTMLResponse)
def home(user: PageUser) -> RedirectResponse:
    del user  # only for the login redirect
    return RedirectResponse("/sites", status_code=303)


@router.get("/sites", response_class=HTMLResponse)
def sites_page(request: Request, user: PageUser, services: ServicesDep) -> HTMLResponse:
    now = services.clock()
    sites = visible_sites(services, user)
    summaries = [summarise(services.consumption, site, now) for site in sites]
    title = _renderer(request).gettext(request.state.lang, "My sites")
    return _renderer(request).render(
        request, "sites.html", {"sites": summaries, "title": title, "nav": "sites"}
    )


@router.get("/sites/{site_id}", response_class=HTMLResponse)
def site_page(
    request: Request, site_id: str, user: PageUser, services: ServicesDep
) -> HTMLResponse:
    site = site_for(services, user, site_id, Permission.ALL_CONSUMPTION)
    devices = device_states(services.consumption, site, services.clock())
    rows = [
        {
            "id": d.device.id,
            "kind": d.device.kind,
            "meter_model": d.device.meter_model,
            "online": d.status.online,
            "last_seen": d.status.last_seen,
            "queue_depth": d.status.queue_depth,
            "signal_dbm": d.status.signal_dbm,
        }
        for d in devices
    ]
    return _renderer(request).render(
        request,
        "site_live.html",
        {"site": site, "devices": rows, "title": site.name, "nav": "sites"},
    )


@router.get("/sites/{site_id}/history", response_class=HTMLResponse)
def history_page(
    request: Request,
    *,
    site_id: str,
    user: PageUser,
    services: ServicesDep,
    view: Annotated[View, Query()] = "day",
    date: Annotated[dt.date | None, Query()] = None,
) -> HTMLResponse:
    site = site_for(services, user, site_id, Permission.ALL_CONSUMPTION)
    renderer = _renderer(request)
    lang = request.state.lang
    today = services.clock().astimezone(SOFIA).date()
    period = history_period(view, date or today)
    start, end = period.start_at(SOFIA), period.end_at(SOFIA)
    rows = services.consumption.energy(site.id, start, end, period.group_by, SOFIA)
    total, completeness = period_summary(rows, services.clock())
    query = {
        "period_from": period.first.isoformat(),
        "period_to": period.end.isoformat(),
        "group_by": period.group_by,
        "tz": SOFIA.key,
    }
    phase_urls = {
        meter: " ".join(
            f"/api/v1/devices/{meter}/phases?"
            + urlencode(
                {
                    "period_from": a.isoformat(),
                    "period_to": b.isoformat(),
                    "resolution": period.phase_resolution,
                    "tz": SOFIA.key,
                    "page_size": 5000,
                }
            )
            for a, b in period.phase_chunks()
        )
        for meter in site.meters
    }

    def link(day: dt.date) -> str:
        return f"/sites/{site.id}/history?" + urlencode({"view": view, "date": day.isoformat()})

    return renderer.render(
        request,
        "history.html",
        {
            "site": site,
            "title": renderer.gettext(lang, "Consumption history") + " · " + site.name,
            "nav": "sites",
            "views": [(v, renderer.gettext(lang, _VIEW_LABELS[v])) for v in VIEWS],
            "view": view,
            "day": date or today,
            "group_by": period.group_by,
            "period_label": Formatter(lang).period(
                view, period.first, period.end - dt.timedelta(days=1)
            ),
            "rows": rows,
            "total_kwh": total,
            "completeness": completeness,
            "energy_url": f"/api/v1/sites/{site.id}/consumption?"
            + urlencode({**query, "page_size": 5000}),
            "csv_url": f"/api/v1/sites/{site.id}/consumption.csv?" + urlencode(query),
            "phase_urls": phase_urls,
            "prev_href": link(period.previous_day()),
            "next_href": link(period.end),
        },
    )
