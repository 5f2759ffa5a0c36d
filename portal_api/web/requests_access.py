"""The service-request services over the portal's database, clock, outbox and address."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from starlette.concurrency import run_in_threadpool

from portal_api.service_requests.attachments import Part
from portal_api.service_requests.catalogue import ServiceKind
from portal_api.service_requests.forms import submission
from portal_api.service_requests.myenergy import MyEnergyService
from portal_api.service_requests.workflow import RequestService, RequestView
from portal_api.web.i18n import SOFIA
from portal_api.web.services import Services

__all__ = ["myenergy_service", "request_service", "submit_form"]


def request_service(services: Services) -> RequestService:
    """Requests whose e-mails link to the portal's public address (``[http] base_url``)."""
    return RequestService(
        services.sessions,
        services.clock,
        services.config.http.base_url,
    )


def myenergy_service(services: Services) -> MyEnergyService:
    """The online MyEnergy order over the contract engine (its calendar) and the requests."""
    return MyEnergyService(
        services.sessions,
        services.clock,
        services.calendar,
        services.config.http.base_url,
    )


async def submit_form(
    services: Services,
    *,
    customer_id: int,
    actor_user_id: int,
    kind: str,
    raw: Mapping[str, str],
    parts: Sequence[Part],
) -> RequestView:
    """A service's form, its fields and documents checked together against today (Sofia),
    submitted for the customer: the page and the API alike. Raises RequestError."""
    today = services.clock().astimezone(SOFIA).date()
    fields, uploads = submission(kind, raw, parts, today=today)
    return await run_in_threadpool(
        lambda: request_service(services).submit(
            customer_id=customer_id,
            actor_user_id=actor_user_id,
            kind=ServiceKind(kind),
            fields=fields,
            contact_email=str(fields["contact_email"]),
            uploads=uploads,
        )
    )
