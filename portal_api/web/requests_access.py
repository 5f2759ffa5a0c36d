"""The service-request services over the portal's database, clock, outbox and address."""

from __future__ import annotations

from portal_api.service_requests.myenergy import MyEnergyService
from portal_api.service_requests.workflow import RequestService
from portal_api.web.services import Services

__all__ = ["myenergy_service", "request_service"]


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
