"""Quality norm 6.5 API: compare the network operator's measurements with ours (staff).

``POST /quality/imports`` (permission ``quality``: operator, admin) takes the
operator's CSV export as multipart (``file``, optional ``per`` = row | day |
month) and answers the whole comparison: per site and period the operator's
kWh, ours, the deviation in percent, the verdict and clause 6.5, and the flagged
sites; ``?format=csv`` answers the same as CSV. Nothing is stored, so there is
no GET by id (docs/contract-rules.md §6.5); the audit log records the import.
Refusals: 413 over the size limit, 422 with every bad line by number.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from portal_api.contracts.app.quality import MAX_FILE_BYTES, QualityImportError, QualityImports
from portal_api.contracts.app.quality_csv import csv_filename, result_csv
from portal_api.domain.roles import Permission
from portal_api.web.deps import Principal, ServicesDep, client_ip, require
from portal_api.web.quality_upload import read_form, upload_of
from portal_api.web.schemas import Message
from portal_api.web.schemas_quality import (
    QualityImportOut,
    QualityRefusal,
    import_out,
    line_errors,
)

router = APIRouter(tags=["quality"])

QualityPrincipal = Annotated[Principal, Depends(require(Permission.QUALITY))]

_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {
                            "type": "string",
                            "format": "binary",
                            "description": "metering_point;period_start;period_end;kwh "
                            f"(UTF-8 or Windows-1251, at most {MAX_FILE_BYTES} bytes)",
                        },
                        "per": {"type": "string", "enum": ["row", "day", "month"]},
                    },
                }
            }
        },
    }
}


def _refusal(error: QualityImportError) -> JSONResponse:
    body = QualityRefusal(detail=error.message, errors=line_errors(error.errors))
    return JSONResponse(body.model_dump(), status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)


@router.post(
    "/quality/imports",
    response_model=QualityImportOut,
    responses={
        413: {"model": Message},
        422: {"model": QualityRefusal},
        200: {"content": {"text/csv": {}}},
    },
    openapi_extra=_BODY,
    summary="Compare the network operator's measurements with ours (6.5); nothing is stored",
)
async def import_operator_file(
    request: Request,
    principal: QualityPrincipal,
    services: ServicesDep,
    output: Annotated[Literal["json", "csv"], Query(alias="format")] = "json",
    lang: Annotated[Literal["bg", "en"], Query(description="language of the CSV reasons")] = "bg",
) -> Response:
    upload = await upload_of(await read_form(request))
    if upload.problem is not None:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, upload.problem)
    imports = QualityImports(services.sessions, services.consumption, services.clock)
    try:
        # Parsing and the energy queries are blocking work: off the event loop.
        result = await run_in_threadpool(
            imports.run,
            upload.data,
            file_name=upload.file_name,
            per=upload.per,
            actor_user_id=principal.user_id,
            ip=client_ip(request),
        )
    except QualityImportError as error:
        return _refusal(error)
    if output == "csv":
        return Response(
            result_csv(result, lang),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{csv_filename(result)}"'},
        )
    return JSONResponse(import_out(result).model_dump(mode="json"))
