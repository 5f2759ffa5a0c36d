"""GET /sites/{site_id}/live: server-sent events of the site's live power.

Opening the stream subscribes to the live hub, which asks the site's devices
to stream while anyone watches (decision 0004); closing it lets them lapse.
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, status
from fastapi.responses import Response

from portal_api.live.sse import live_response
from portal_api.web.deps import ServicesDep, SiteConsumptionDep

router = APIRouter(tags=["live"])


@router.get(
    "/sites/{site_id}/live",
    response_class=Response,
    responses={200: {"content": {"text/event-stream": {}}}},
    summary="text/event-stream: a `power` event a second, `status` when a device confirms",
)
async def live(site: SiteConsumptionDep, services: ServicesDep) -> Response:
    devices = site.publishing_devices
    if services.live is None or not devices:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "Live data is not available")
    return live_response(services.live.subscribe(devices))
