"""Authorisation entries of the requests_staff routes (issue 6), merged by test_authorisation.py.

Callers in order: anonymous, owner, other customer, operator, installer, admin.

The queue is the service centre's (``service_requests``: operators and admins);
customers and installers get 403, anonymous 401 (API) or the login page. The walk
really calls every route, so nothing it sends moves a request: the page forms it
posts carry no ``assignee`` / ``expected`` (400) and no reason (400); the API
advance names a step the request is not at (409), the reject an empty reason (400),
and the assign only releases the request.

``request_number`` and ``attachment_id`` are shared with the customer's routes and
come from authz_requests.py (the owner's request, made once, and its document): one
area provides both, so the document belongs to the request.
"""

from __future__ import annotations

from tests.portal.web import authz_requests
from tests.portal.web.authz_common import OK, ParamGetter

LOGIN = "login"
assert {"request_number", "attachment_id"} <= authz_requests.PARAMS.keys()

STAFF_API = (401, 403, 403, OK, 403, OK)
STAFF_PAGE = (LOGIN, 403, 403, OK, 403, OK)
_API = "/api/v1/staff/service-requests"
_PAGE = "/staff/requests"

MATRIX: dict[tuple[str, str], tuple[str | int, ...]] = {
    ("GET", _API): STAFF_API,
    ("GET", _API + "/{request_number}"): STAFF_API,
    ("GET", _API + "/{request_number}/attachments/{attachment_id}"): STAFF_API,
    ("POST", _API + "/{request_number}/assign"): STAFF_API,
    ("POST", _API + "/{request_number}/advance"): STAFF_API,
    ("POST", _API + "/{request_number}/reject"): STAFF_API,
    ("GET", _PAGE): STAFF_PAGE,
    ("GET", _PAGE + "/{request_number}"): STAFF_PAGE,
    ("GET", _PAGE + "/{request_number}/attachments/{attachment_id}"): STAFF_PAGE,
    ("POST", _PAGE + "/{request_number}/assign"): STAFF_PAGE,
    ("POST", _PAGE + "/{request_number}/advance"): STAFF_PAGE,
    ("POST", _PAGE + "/{request_number}/reject"): STAFF_PAGE,
}
PARAMS: dict[str, ParamGetter] = {}  # request_number, attachment_id: authz_requests.py
QUERIES: dict[str, str] = {_API: "?state=all&assigned=none"}
BODIES: dict[tuple[str, str], dict[str, object]] = {
    ("POST", _API + "/{request_number}/assign"): {"json": {"assignee": None}},
    ("POST", _API + "/{request_number}/advance"): {"json": {"expected": "connected"}},
    ("POST", _API + "/{request_number}/reject"): {"json": {"reason": "  "}},
}
