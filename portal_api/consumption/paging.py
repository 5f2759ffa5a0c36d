"""Order and paginate a computed list of intervals (``page`` is 1-based).

The service computes every interval of a period (there are at most a few
thousand), so paging is a slice here, not a query per page; the web layer turns
``has_next``/``has_previous`` into the ``next``/``previous`` URLs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, Literal, TypeVar

from portal_api.consumption.errors import QueryError

T = TypeVar("T")
Order = Literal["asc", "desc"]
MAX_PAGE_SIZE = 5000
DEFAULT_PAGE_SIZE = 100


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of ``count`` items."""

    items: list[T]
    count: int
    page: int
    page_size: int

    @property
    def has_previous(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page * self.page_size < self.count


def paginate(
    items: Sequence[T], page: int = 1, page_size: int = DEFAULT_PAGE_SIZE, order: Order = "asc"
) -> Page[T]:
    """Page ``page`` of ``items`` (ascending as given, or reversed for ``desc``).

    A page past the end is empty, not an error (the count says how many there are).
    """
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise QueryError(f"page_size must be between 1 and {MAX_PAGE_SIZE}")
    if page < 1:
        raise QueryError("page must be 1 or more")
    if order not in ("asc", "desc"):
        raise QueryError("order must be asc or desc")
    ordered = list(items) if order == "asc" else list(reversed(items))
    first = (page - 1) * page_size
    return Page(ordered[first : first + page_size], len(ordered), page, page_size)


__all__ = ["DEFAULT_PAGE_SIZE", "MAX_PAGE_SIZE", "Order", "Page", "paginate"]
