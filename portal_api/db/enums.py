"""The closed vocabularies of the portal's tables (docs/decisions/0004).

Stored as VARCHAR with a CHECK constraint (not native ENUM types): adding a
value later is a plain constraint change on both SQLite and PostgreSQL.
"""

from __future__ import annotations

from enum import StrEnum

from portal_api.domain.identifiers import IdKind
from portal_api.domain.roles import Role


class CustomerKind(StrEnum):
    PERSON = "person"  # natural person
    SOLE_TRADER = "sole_trader"
    COMPANY = "company"  # legal entity


class Voltage(StrEnum):
    LV = "LV"
    MV = "MV"
    HV = "HV"


class DeviceKind(StrEnum):
    MODULE = "module"  # communication module
    METER = "meter"  # multimeter


class Language(StrEnum):
    BG = "bg"
    EN = "en"


class SessionKind(StrEnum):
    COOKIE = "cookie"  # page session (myenergy_session cookie, with a CSRF token)
    API = "api"  # bearer token of POST /api/v1/auth/token


class RequestState(StrEnum):
    OPEN = "open"
    FULFILLED = "fulfilled"
    REJECTED = "rejected"


__all__ = [
    "CustomerKind",
    "DeviceKind",
    "IdKind",
    "Language",
    "RequestState",
    "Role",
    "SessionKind",
    "Voltage",
]
