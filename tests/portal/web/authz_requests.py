"""Authorisation entries of the requests routes (issue 6), merged by test_authorisation.py.

Callers in order: anonymous, owner, other customer, operator, installer, admin.

The catalogue is public in the API (what the seed's page tells anyone) and open to
every logged-in user as a page (staff see it read-only). Requesting a service and
reading requests are the customer's, for its own requests only: another customer
gets 404 for the owner's request and document, exactly like an unknown one; staff
have no customer of their own and get 403 (they work the queue on /staff/requests).
The walk's posts carry no fields, so an authorised submission is refused as bad
input (400 page, 422 API) and nothing is created.

``request_number`` and ``attachment_id`` serve the staff area too
(authz_requests_staff.py): the owner's request, made once through the workflow,
and its document.
"""

from __future__ import annotations

from sqlalchemy import select

from portal_api.db.models import User
from portal_api.service_requests.catalogue import ServiceKind
from portal_api.service_requests.models import ServiceRequestAttachmentRow, ServiceRequestRow
from portal_api.service_requests.workflow import RequestService, Upload
from tests.portal.web.authz_common import OK, PUBLIC, ParamGetter
from tests.portal.web.conftest import OWNER, Portal

LOGIN = "login"
WALK_EMAIL = "authz-walk@example.bg"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def walk_request(portal: Portal) -> tuple[str, int]:
    """(number, attachment id) of the owner's request the walk reads (made once)."""
    services = portal.services
    with services.sessions() as session:
        found = session.execute(
            select(ServiceRequestRow.number, ServiceRequestAttachmentRow.id)
            .join(
                ServiceRequestAttachmentRow,
                ServiceRequestAttachmentRow.request_id == ServiceRequestRow.id,
            )
            .where(ServiceRequestRow.contact_email == WALK_EMAIL)
        ).first()
        if found is not None:
            return found[0], found[1]
        owner = session.scalars(select(User).where(User.username == OWNER)).one()
        customer_id, user_id = owner.customer_id, owner.id
    assert customer_id is not None
    view = RequestService(services.sessions, services.clock, portal.url).submit(
        customer_id=customer_id,
        actor_user_id=user_id,
        kind=ServiceKind.SUPPLY_CONTRACT,
        fields={
            "contact_email": WALK_EMAIL,
            "contact_phone": "+359888123456",
            "metering_point": "1234567",
            "settlement": "Варна",
            "address": "ул. Проверка 1",
            "date_from": "2026-03-02",
            "e_invoice": True,
        },
        contact_email=WALK_EMAIL,
        uploads=[Upload("ownership", "walk.pdf", "application/pdf", PDF)],
    )
    return view.number, view.attachments[0].id


CUSTOMER_API = (401, OK, OK, 403, 403, 403)
OWN_API = (401, OK, 404, 403, 403, 403)
CUSTOMER_PAGE = (LOGIN, OK, OK, 403, 403, 403)
OWN_PAGE = (LOGIN, OK, 404, 403, 403, 403)
_API = "/api/v1/service-requests"

MATRIX: dict[tuple[str, str], tuple[str | int, ...]] = {
    # -- API
    ("GET", "/api/v1/service-catalogue"): PUBLIC,
    ("POST", _API): CUSTOMER_API,
    ("GET", _API): CUSTOMER_API,
    ("GET", _API + "/{request_number}"): OWN_API,
    ("GET", _API + "/{request_number}/attachments/{attachment_id}"): OWN_API,
    # -- pages
    ("GET", "/services"): (LOGIN, OK, OK, OK, OK, OK),
    ("GET", "/services/{service_kind}/new"): CUSTOMER_PAGE,
    ("POST", "/services/{service_kind}"): CUSTOMER_PAGE,
    ("GET", "/requests"): CUSTOMER_PAGE,
    ("GET", "/requests/{request_number}"): OWN_PAGE,
    ("GET", "/requests/{request_number}/attachments/{attachment_id}"): OWN_PAGE,
}
PARAMS: dict[str, ParamGetter] = {
    "service_kind": lambda portal: ServiceKind.CONNECT_CONSUMER.value,
    "request_number": lambda portal: walk_request(portal)[0],
    "attachment_id": lambda portal: str(walk_request(portal)[1]),
}
QUERIES: dict[str, str] = {}
BODIES: dict[tuple[str, str], dict[str, object]] = {}
