"""Staff page of the quality norm 6.5: upload the network operator's file, see the verdicts.

``GET /staff/quality`` shows the upload form; ``POST /staff/quality`` (CSRF,
multipart) compares the file with our measured energy and renders the result
at once, flagged rows marked by a word and a symbol, not by colour alone. The
"download CSV" button posts the same form and gets the result as a file. Nothing
is stored between the two (docs/contract-rules.md §6.5). Permission: quality.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from babel.dates import format_date, format_skeleton
from fastapi import APIRouter, HTTPException, Request, status
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from portal_api.contracts.app.quality import (
    MAX_FILE_BYTES,
    QualityImportError,
    QualityImports,
    QualityResult,
)
from portal_api.contracts.app.quality_csv import csv_filename, result_csv
from portal_api.contracts.domain.decision import Decision
from portal_api.contracts.domain.quality import Verdict
from portal_api.domain.roles import Permission
from portal_api.web.deps import PageUser, Principal, ServicesDep, check_form_csrf, client_ip
from portal_api.web.i18n import N_, Formatter
from portal_api.web.quality_upload import read_form, upload_of
from portal_api.web.render import Renderer

router = APIRouter(include_in_schema=False)

# A month of quarter-hours is 2 976 rows per site: a page that long helps nobody.
MAX_PAGE_ROWS = 1000

_VERDICTS = {
    Verdict.FLAGGED: N_("Outside the norm"),
    Verdict.WITHIN: N_("Within the norm"),
    Verdict.NOT_JUDGED: N_("Not judged"),
}
# The upload's problems (English in quality_upload.py), translated here.
_PROBLEMS = (
    N_("Choose the network operator's CSV file."),
    N_("Choose how to group the rows."),
    N_("The file is empty."),
)


def _renderer(request: Request) -> Renderer:
    renderer: Renderer = request.app.state.renderer
    return renderer


def _t(request: Request, message: str) -> str:
    return _renderer(request).gettext(request.state.lang, message)


def _staff(user: Principal) -> None:
    if not user.can(Permission.QUALITY):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "Not allowed for this role")


def _period_label(start: dt.datetime, end: dt.datetime, fmt: Formatter) -> str:
    """A month, a day, or a day with its times (local): short enough for a table cell."""
    first, last = start.astimezone(fmt.tz), end.astimezone(fmt.tz)
    midnight = dt.time(0)
    if first.time() == last.time() == midnight:
        if first.day == last.day == 1 and (last - first).days in range(28, 32):
            return format_skeleton("yMMMM", first, locale=fmt.locale)
        if (last.date() - first.date()).days == 1:
            return format_date(first, "medium", locale=fmt.locale)
    if first.date() == last.date() or (last.time() == midnight and (last - first).days == 0):
        day = format_date(first, "medium", locale=fmt.locale)
        return f"{day}, {first:%H:%M}–{last:%H:%M}"
    return f"{fmt.datetime(first)} – {fmt.datetime(last)}"


def _short_reason(
    decision: Decision[Verdict], lang: str, start: dt.datetime, end: dt.datetime
) -> str:
    """The reason in the page's language without its "site start..end: " (the row shows them)."""
    reason = decision.reason_bg if lang == "bg" else decision.reason_en
    short = reason.removeprefix(
        f"{decision.numbers['site']} {start.isoformat()}..{end.isoformat()}: "
    )
    return short[:1].upper() + short[1:]


def _row(request: Request, index: int, decision: Decision[Verdict]) -> dict[str, Any]:
    numbers = decision.numbers
    start, end = numbers["period_start"], numbers["period_end"]
    assert isinstance(start, dt.datetime) and isinstance(end, dt.datetime)
    return {
        "anchor": f"period-{index}",
        "site": numbers["site"],
        "period": _period_label(start, end, Formatter(request.state.lang)),
        "operator_kwh": numbers.get("operator_kwh"),
        "our_kwh": numbers["our_kwh"],
        "completeness": numbers["completeness"],
        "deviation": numbers.get("deviation_percent"),
        "verdict": decision.value.value,
        "verdict_label": _t(request, _VERDICTS[decision.value]),
        "reason": _short_reason(decision, request.state.lang, start, end),
    }


def _rows(request: Request, result: QualityResult) -> list[dict[str, Any]]:
    """Every period; a long result only those that need a look (the CSV has them all)."""
    numbered = list(enumerate(result.decisions, start=1))
    if len(numbered) > MAX_PAGE_ROWS:
        numbered = [(i, d) for i, d in numbered if d.value is not Verdict.WITHIN]
    return [_row(request, i, d) for i, d in numbered[:MAX_PAGE_ROWS]]


def _render(
    request: Request,
    *,
    result: QualityResult | None = None,
    error: str | None = None,
    detail: str | None = None,
    line_errors: tuple[tuple[int, str], ...] = (),
    per: str = "row",
    status_code: int = 200,
) -> HTMLResponse:
    context: dict[str, Any] = {
        "title": _t(request, "Quality norm 6.5"),
        "nav": "staff_quality",
        "max_mib": MAX_FILE_BYTES // (1024 * 1024),
        "per": per,
        "result": result,
        "rows": [] if result is None else _rows(request, result),
        "shortened": result is not None and len(result.decisions) > MAX_PAGE_ROWS,
        "max_rows": MAX_PAGE_ROWS,
        "counts": {}
        if result is None
        else {
            v.value: result.count(v) for v in (Verdict.FLAGGED, Verdict.WITHIN, Verdict.NOT_JUDGED)
        },
        "error": error,
        "line_errors": line_errors,
        "detail": detail,
    }
    return _renderer(request).render(
        request, "staff_quality.html", context, status_code=status_code
    )


@router.get("/staff/quality", response_class=HTMLResponse)
def quality_page(request: Request, user: PageUser) -> HTMLResponse:
    _staff(user)
    return _render(request)


@router.post("/staff/quality", response_class=HTMLResponse)
async def quality_import(request: Request, user: PageUser, services: ServicesDep) -> Response:
    _staff(user)
    try:
        form = await read_form(request)
    except HTTPException as exc:
        if exc.status_code != status.HTTP_413_CONTENT_TOO_LARGE:
            raise
        return _too_large(request)
    token = form.get("csrf_token")
    check_form_csrf(request, token if isinstance(token, str) else None)
    try:
        upload = await upload_of(form)
    except HTTPException as exc:
        if exc.status_code != status.HTTP_413_CONTENT_TOO_LARGE:
            raise
        return _too_large(request)
    if upload.problem is not None:
        return _render(request, error=_t(request, upload.problem), per=upload.per, status_code=422)
    imports = QualityImports(services.sessions, services.consumption, services.clock)
    try:
        result = await run_in_threadpool(
            imports.run,
            upload.data,
            file_name=upload.file_name,
            per=upload.per,
            actor_user_id=user.user_id,
            ip=client_ip(request),
        )
    except QualityImportError as exc:
        return _render(
            request,
            error=_t(request, "The file was not compared: fix the lines below and upload it again.")
            if exc.errors
            else _t(request, "The file was not compared."),
            detail=None if exc.errors else exc.message,
            line_errors=tuple((e.line, e.message) for e in exc.errors),
            per=upload.per,
            status_code=422,
        )
    if form.get("format") == "csv":
        return Response(
            result_csv(result, request.state.lang),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{csv_filename(result)}"'},
        )
    return _render(request, result=result, per=upload.per)


def _too_large(request: Request) -> HTMLResponse:
    message = _t(request, "The file is larger than %(n)s MiB.") % {
        "n": MAX_FILE_BYTES // (1024 * 1024)
    }
    return _render(request, error=message, status_code=413)
