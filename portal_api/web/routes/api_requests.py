"""Customer API of the service requests (issue 6): catalogue, submit, list, read, files.

The catalogue is public (what the seed's page shows anyone). Submitting and
reading are for customers, about their own requests only: another customer's
request number answers 404 exactly like an unknown one; staff have the staff
API (routes/api_requests_staff.py) and get 403 here. A submission is multipart:
the form's fields by name and each document's files as file parts named by the
document's label; it is checked whole and refused (422) with every bad field.

``read_submission`` and ``download`` serve the pages too (routes/pages_requests.py):
the body is bounded before it is parsed and every file part is read at most one
byte past the limit; a download is always an attachment, never sniffed.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, HTTPException, Path, Request, status
from fastapi.responses import JSONResponse, Response
from starlette.datastructures import UploadFile

from portal_api.domain.roles import Role
from portal_api.service_requests.attachments import MAX_BYTES, MAX_FILES, Part
from portal_api.service_requests.catalogue import ServiceKind
from portal_api.service_requests.forms import form_for
from portal_api.service_requests.workflow import AttachmentView, RequestError
from portal_api.web.deps import CurrentPrincipal, Principal, ServicesDep
from portal_api.web.requests_access import request_service, submit_form
from portal_api.web.schemas_requests import (
    MyRequestOut,
    MyRequestSummaryOut,
    RequestRefusalOut,
    ServiceOut,
    catalogue_out,
    error_body,
    request_out,
    summary_out,
)

__all__ = [
    "AttachmentId",
    "RequestNumber",
    "ServiceKindPath",
    "download",
    "read_submission",
    "router",
]

router = APIRouter(tags=["service requests"])

# Path parameters, bounded: anything longer or larger names no request (404 or 422).
RequestNumber = Annotated[str, Path(max_length=32)]
AttachmentId = Annotated[int, Path(ge=1, lt=2**31)]
ServiceKindPath = Annotated[str, Path(max_length=32)]

# Room for the multipart boundaries and the form's text fields beside the files.
FORM_OVERHEAD = 64 * 1024
BODY_MAX = MAX_FILES * MAX_BYTES + FORM_OVERHEAD
_REFUSALS: dict[int | str, dict[str, object]] = {
    404: {"model": RequestRefusalOut},
    413: {"model": RequestRefusalOut},
    422: {"model": RequestRefusalOut},
}


def _too_large() -> HTTPException:
    return HTTPException(
        status.HTTP_413_CONTENT_TOO_LARGE,
        f"At most {MAX_FILES} files of {MAX_BYTES // (1024 * 1024)} MiB each.",
    )


async def read_submission(request: Request) -> tuple[dict[str, str], list[Part]]:
    """The multipart form's text fields and file parts; 413 over the body limit."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > BODY_MAX:
        raise _too_large()
    # One file over the limit is let through so that check_documents names the excess.
    form = await request.form(max_files=MAX_FILES + 1, max_fields=40)
    raw: dict[str, str] = {}
    parts: list[Part] = []
    for name, value in form.multi_items():
        if isinstance(value, UploadFile):
            if not value.filename:
                continue  # a file input left empty
            content = await value.read(MAX_BYTES + 1)
            parts.append(Part(name, value.filename, content))
        elif name not in raw:
            raw[name] = value
    return raw, parts


def _extension(item: AttachmentView) -> str:
    _, dot, ext = item.filename.rpartition(".")
    return "." + ext if dot else ""


def download(item: AttachmentView, content: bytes) -> Response:
    """A stored document as an attachment (never rendered inline, never sniffed)."""
    # Old clients read only ``filename``: a plain ASCII stand-in for a Cyrillic name.
    ascii_name = item.filename if item.filename.isascii() else "document" + _extension(item)
    disposition = f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(item.filename)}"
    return Response(
        content,
        media_type=item.media_type,
        headers={
            "Content-Disposition": disposition,
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "no-store",
        },
    )


def _customer(principal: Principal) -> int:
    if principal.role is not Role.CUSTOMER or principal.customer_id is None:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "Not allowed for this role")
    return principal.customer_id


def customer_only(principal: CurrentPrincipal) -> Principal:
    """Dependency: a customer (403 for staff, who use the staff API)."""
    _customer(principal)
    return principal


Customer = Annotated[Principal, Depends(customer_only)]


def _refused(error: RequestError) -> JSONResponse:
    return JSONResponse(error_body(error), status_code=error.status)


@router.get("/service-catalogue", response_model=list[ServiceOut])
def service_catalogue() -> list[ServiceOut]:
    """The services of the three companies, their steps and (but MyEnergy) their forms."""
    return catalogue_out()


@router.post(
    "/service-requests",
    response_model=MyRequestOut,
    status_code=status.HTTP_201_CREATED,
    responses=_REFUSALS,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": ["kind"],
                        "properties": {
                            "kind": {"type": "string", "enum": [k.value for k in ServiceKind]},
                        },
                        "additionalProperties": True,
                        "description": "The service's form fields by name and its documents "
                        "as file parts named by their label (see /service-catalogue).",
                    }
                }
            },
        }
    },
)
async def submit_request(
    request: Request, principal: Customer, services: ServicesDep
) -> MyRequestOut | JSONResponse:
    """Submit a request for a service (not MyEnergy: that is the MyEnergy order)."""
    customer_id = _customer(principal)
    raw, parts = await read_submission(request)
    kind = raw.get("kind", "")
    try:
        form_for(kind)
    except RequestError:
        return _refused(
            RequestError(
                422,
                "Изберете услуга с формуляр.",
                "Choose a service that has a form.",
                {"kind": ("Няма такава услуга.", "No such service.")},
            )
        )
    try:
        view = await submit_form(
            services,
            customer_id=customer_id,
            actor_user_id=principal.user_id,
            kind=kind,
            raw=raw,
            parts=parts,
        )
    except RequestError as error:
        return _refused(error)
    return request_out(view)


@router.get("/service-requests", response_model=list[MyRequestSummaryOut])
def list_requests(principal: Customer, services: ServicesDep) -> list[MyRequestSummaryOut]:
    """The caller's requests, newest first."""
    return [summary_out(v) for v in request_service(services).for_customer(_customer(principal))]


@router.get("/service-requests/{request_number}", response_model=MyRequestOut, responses=_REFUSALS)
def read_request(
    request_number: RequestNumber, principal: Customer, services: ServicesDep
) -> MyRequestOut | JSONResponse:
    """One of the caller's requests with its timeline and the steps still ahead."""
    try:
        view = request_service(services).one(request_number, customer_id=_customer(principal))
    except RequestError as error:
        return _refused(error)
    return request_out(view)


@router.get(
    "/service-requests/{request_number}/attachments/{attachment_id}",
    response_class=Response,
    responses={
        200: {
            "content": {
                "application/pdf": {},
                "image/jpeg": {},
                "image/png": {},
            },
            "description": "The document, as an attachment.",
        },
        404: {"model": RequestRefusalOut},
    },
)
def request_attachment(
    request_number: RequestNumber,
    attachment_id: AttachmentId,
    principal: Customer,
    services: ServicesDep,
) -> Response:
    """A document of one of the caller's requests."""
    try:
        item, content = request_service(services).attachment(
            request_number, attachment_id, customer_id=_customer(principal)
        )
    except RequestError as error:
        return _refused(error)
    return download(item, content)
