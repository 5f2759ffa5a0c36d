"""HTTP status and user message of a refused account operation (``AccountError``)."""

from __future__ import annotations

from portal_api.accounts.errors import AccountError

__all__ = ["message_for", "status_for"]

_STATUS = {
    "invalid_credentials": 401,
    "locked": 429,
    "throttled": 429,
    "wrong_password": 400,
    "too_short": 422,
    "too_long": 422,
    "same_as_username": 422,
    "same_as_current": 422,
    "invalid_reset_token": 400,
    "invalid_username": 422,
    "username_taken": 409,
    "invalid_email": 422,
    "customer_required": 422,
    "not_found": 404,
    "not_open": 409,
    "unmatched_request": 409,
    "forbidden": 403,
    "note_too_long": 422,
    "invalid_pik": 401,
    "check_identifier": 422,
    "customer_number_required": 422,
    "invalid_holder": 422,
    "qes_document_required": 422,
    "pik_revoked": 409,
}


def status_for(error: AccountError) -> int:
    return _STATUS.get(error.code, 400)


def message_for(error: AccountError, lang: str) -> str:
    return error.message_en if lang == "en" else error.message_bg
