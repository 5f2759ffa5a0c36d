"""Query parameters of the consumption API: instants, zones and page links.

``period_from`` / ``period_to`` are ISO 8601 with an offset, or a bare date,
which means local midnight of that date in the query's zone (decision 0004).
A naive date-time is refused: across a DST change it names two instants.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import Request

from portal_api.consumption.errors import QueryError

__all__ = ["page_links", "parse_instant", "parse_zone"]


def parse_zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise QueryError(f"unknown time zone {name!r}") from None


def parse_instant(name: str, value: str, tz: ZoneInfo) -> dt.datetime:
    """An aware datetime from ISO 8601 with offset, or a date (local midnight in ``tz``)."""
    text = value.strip()
    if len(text) == 10:
        try:
            day = dt.date.fromisoformat(text)
        except ValueError:
            raise QueryError(f"{name}: not an ISO 8601 date or date-time: {value!r}") from None
        return dt.datetime.combine(day, dt.time(), tzinfo=tz)
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        raise QueryError(f"{name}: not an ISO 8601 date or date-time: {value!r}") from None
    if parsed.tzinfo is None:
        raise QueryError(f"{name}: a date-time needs a UTC offset, e.g. 2026-03-29T00:00+02:00")
    return parsed


def page_links(
    request: Request, has_previous: bool, has_next: bool
) -> tuple[str | None, str | None]:
    """Absolute URLs of the previous and next page (same query, other ``page``)."""
    page = int(request.query_params.get("page", "1"))

    def link(number: int) -> str:
        return str(request.url.include_query_params(page=number))

    return (link(page - 1) if has_previous else None, link(page + 1) if has_next else None)
