"""The one error of the consumption read side a caller must answer (HTTP 400/422)."""

from __future__ import annotations


class QueryError(ValueError):
    """A consumption or phases query the service refuses; the message says why (English,
    for the API's ``detail``; the web layer may translate it)."""


__all__ = ["QueryError"]
