"""Reading the 6.5 upload (multipart) within the size limit, for the API and the page.

The limit is checked twice: the declared Content-Length refuses a big file
before a byte of it is read, and the file part itself is read at most one byte
past the limit (a chunked upload declares no length). Starlette spools a file
part to disk above 1 MB, so memory stays bounded either way.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import HTTPException, Request, status
from starlette.datastructures import FormData, UploadFile

from portal_api.contracts.app.quality import GROUPINGS, MAX_FILE_BYTES, Grouping

__all__ = ["FORM_OVERHEAD", "TOO_LARGE", "Upload", "read_form", "upload_of"]

# Room for the multipart boundaries and the small fields beside the file.
FORM_OVERHEAD = 64 * 1024
TOO_LARGE = f"The file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB."


@dataclass(frozen=True)
class Upload:
    """The operator's file and how to group it; ``problem`` (English) when unusable."""

    data: bytes
    file_name: str
    per: Grouping
    problem: str | None = None


def _too_large() -> HTTPException:
    return HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, TOO_LARGE)


async def read_form(request: Request) -> FormData:
    """The request's form; 413 when the declared length is over the limit."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_FILE_BYTES + FORM_OVERHEAD:
        raise _too_large()
    return await request.form(max_files=1, max_fields=10)


async def upload_of(form: FormData) -> Upload:
    """The file part and the ``per`` field; 413 when the file is over the limit."""
    per_raw = form.get("per") or "row"
    per: Grouping = "row"
    for known in GROUPINGS:
        if per_raw == known:
            per = known
    part = form.get("file")
    if not isinstance(part, UploadFile):
        return Upload(b"", "", per, problem="Choose the network operator's CSV file.")
    data = await part.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise _too_large()
    if per_raw != per:
        return Upload(data, part.filename or "", per, problem="Choose how to group the rows.")
    if not data:
        return Upload(data, part.filename or "", per, problem="The file is empty.")
    return Upload(data, part.filename or "operator.csv", per)
