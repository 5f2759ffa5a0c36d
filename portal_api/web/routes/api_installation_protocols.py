"""Installation documents API: the CLI uploads the handover protocol (Appendix 2, 1.4.2)
or the statement of findings (Appendix 3, 1.5) and the outcome it records.

Thin: read the multipart form (the PDF within 5 MiB, the outcome as JSON), authorise,
call :class:`portal_api.installations.protocols.InstallationProtocols`, answer. Upload
needs ``installation`` (installer, operator, admin); the list and the download are for
staff with ``contracts_read`` and the contract's own customer (another customer's
contract answers 404 like an unknown one). A refusal of the contract engine is 409
(bad input 400) with the reasons in Bulgarian and English, and nothing is stored.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.datastructures import UploadFile

from portal_api.contracts.app.contracts_common import Actor, ContractAppError
from portal_api.contracts.domain.installation import ImpossibleReason, SignatoryCapacity
from portal_api.domain.roles import Permission
from portal_api.installations.models import ProtocolKind
from portal_api.installations.protocols import (
    MAX_PDF_BYTES,
    InstallationProtocols,
    ProtocolOutcome,
    ProtocolView,
    UploadResult,
)
from portal_api.web.deps import CurrentPrincipal, Principal, ServicesDep, client_ip, require
from portal_api.web.routes.api_contracts import contract_visible
from portal_api.web.schemas_contracts import RefusalOut, error_body
from portal_api.web.services import Services

__all__ = ["router"]

router = APIRouter(tags=["installations"])

Installer = Annotated[Principal, Depends(require(Permission.INSTALLATION))]
_FORM_OVERHEAD = 64 * 1024  # multipart boundaries and the outcome field
_REFUSALS: dict[int | str, dict[str, object]] = {
    400: {"model": RefusalOut},
    404: {"model": RefusalOut},
    409: {"model": RefusalOut},
    413: {"model": RefusalOut},
}


class OutcomeIn(BaseModel):
    """The ``outcome`` part: what the document records (the CLI's JSON)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    client_id: uuid.UUID
    kind: ProtocolKind
    installed_on: dt.date = Field(description="the visit day (installation or finding)")
    protocols_signed_on: dt.date | None = None
    site_id: str = Field(min_length=1, max_length=64)
    technician: str = Field(min_length=1, max_length=200)
    signatory_name: str = Field(default="", max_length=200)
    signatory_capacity: SignatoryCapacity = SignatoryCapacity.CUSTOMER
    signatory_position: str = Field(default="", max_length=200)
    reason: ImpossibleReason | None = None
    note: str = Field(default="", max_length=2000)


class ProtocolOut(BaseModel):
    id: int
    contract_number: str
    kind: ProtocolKind
    client_id: str
    filename: str
    sha256: str
    size: int
    uploaded_at: dt.datetime
    download: str
    outcome: dict[str, object]


class UploadOut(BaseModel):
    created: bool  # false: this client_id was stored before (a retried upload)
    protocol: ProtocolOut
    contract_state: str | None


_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["pdf", "outcome"],
                    "properties": {
                        "pdf": {
                            "type": "string",
                            "format": "binary",
                            "description": f"the signed document (PDF, at most {MAX_PDF_BYTES} "
                            "bytes)",
                        },
                        "outcome": {
                            "type": "string",
                            "description": "JSON: " + ", ".join(OutcomeIn.model_fields),
                        },
                    },
                }
            }
        },
    }
}


def _service(services: Services) -> InstallationProtocols:
    return InstallationProtocols(services.sessions, services.clock, services.calendar)


def _out(view: ProtocolView) -> ProtocolOut:
    return ProtocolOut(
        id=view.id,
        contract_number=view.contract_number,
        kind=view.kind,
        client_id=view.client_id,
        filename=view.filename,
        sha256=view.sha256,
        size=view.size,
        uploaded_at=view.uploaded_at,
        download=(f"/api/v1/contracts/{view.contract_number}/installation-protocols/{view.id}.pdf"),
        outcome=view.outcome,
    )


def _refusal(error: ContractAppError) -> JSONResponse:
    return JSONResponse(error_body(error), status_code=error.status)


def _unprocessable(message: str) -> HTTPException:
    return HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, message)


async def _read_upload(request: Request) -> tuple[bytes, str, OutcomeIn]:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_PDF_BYTES + _FORM_OVERHEAD:
        raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, "The PDF is larger than 5 MiB.")
    try:
        form = await request.form(max_files=1, max_fields=5)
    except Exception as error:  # not multipart at all, or a broken body
        raise _unprocessable("Send multipart/form-data with `pdf` and `outcome`.") from error
    part, raw = form.get("pdf"), form.get("outcome")
    if not isinstance(part, UploadFile) or not isinstance(raw, str):
        raise _unprocessable("Send multipart/form-data with `pdf` and `outcome`.")
    data = await part.read(MAX_PDF_BYTES + 1)
    if len(data) > MAX_PDF_BYTES:
        raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, "The PDF is larger than 5 MiB.")
    try:
        outcome = OutcomeIn.model_validate(json.loads(raw))
    except (ValueError, ValidationError) as error:
        raise _unprocessable(f"The outcome is not valid: {error}") from error
    return data, part.filename or "", outcome


@router.post(
    "/contracts/{contract_number}/installation-protocols",
    status_code=status.HTTP_201_CREATED,
    response_model=UploadOut,
    responses={200: {"model": UploadOut}, **_REFUSALS},
    openapi_extra=_BODY,
    summary="Upload the handover protocol (1.4.2) or the statement of findings (1.5) "
    "and record the installation outcome",
)
async def upload_protocol(
    contract_number: str,
    request: Request,
    principal: Installer,
    services: ServicesDep,
) -> Response:
    data, filename, body = await _read_upload(request)
    outcome = ProtocolOutcome(
        client_id=str(body.client_id),
        kind=body.kind,
        installed_on=body.installed_on,
        protocols_signed_on=body.protocols_signed_on,
        site_id=body.site_id,
        technician=body.technician,
        signatory_name=body.signatory_name,
        signatory_capacity=body.signatory_capacity,
        signatory_position=body.signatory_position,
        reason=body.reason,
        note=body.note,
    )
    try:
        result: UploadResult = await run_in_threadpool(
            _service(services).upload,
            contract_number,
            outcome,
            data,
            filename,
            Actor(principal.user_id, client_ip(request)),
        )
    except ContractAppError as error:
        return _refusal(error)
    state = result.protocol.outcome.get("state")
    answer = UploadOut(
        created=result.created,
        protocol=_out(result.protocol),
        contract_state=None if state is None else str(state),
    )
    return JSONResponse(
        answer.model_dump(mode="json"),
        status_code=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK,
    )


@router.get(
    "/contracts/{contract_number}/installation-protocols",
    response_model=list[ProtocolOut],
    responses=_REFUSALS,
    summary="The installation documents of a contract",
)
def list_protocols(
    contract_number: str, principal: CurrentPrincipal, services: ServicesDep
) -> list[ProtocolOut]:
    contract_visible(services, principal, contract_number)
    try:
        views = _service(services).list(contract_number)
    except ContractAppError:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "Contract not found") from None
    return [_out(view) for view in views]


@router.get(
    "/contracts/{contract_number}/installation-protocols/{protocol_id}.pdf",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}, 404: {"model": RefusalOut}},
    summary="Download one installation document (PDF)",
)
def download_protocol(
    contract_number: str,
    protocol_id: int,
    principal: CurrentPrincipal,
    services: ServicesDep,
    disposition: Literal["attachment", "inline"] = "attachment",
) -> Response:
    contract_visible(services, principal, contract_number)
    try:
        view, content = _service(services).document(contract_number, protocol_id)
    except ContractAppError:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "Protocol not found") from None
    return Response(
        content,
        media_type="application/pdf",
        headers={"Content-Disposition": f'{disposition}; filename="{view.filename}"'},
    )
