"""Accounts of the portal: passwords (argon2), sessions and API tokens, login
throttling and lockout, password reset, lost-credential requests (clause 5.4),
user administration and the audit log. ``Accounts`` (service.py) is the entry;
PIKs of the Virtual Customer Service Centre (issue 6) are in pik.py.
"""

from portal_api.accounts.errors import AccountError
from portal_api.accounts.service import Accounts
from portal_api.accounts.views import (
    AuthContext,
    CreatedUser,
    CredentialRequestView,
    LoginResult,
    Refusal,
    UserView,
)

__all__ = [
    "AccountError",
    "Accounts",
    "AuthContext",
    "CreatedUser",
    "CredentialRequestView",
    "LoginResult",
    "Refusal",
    "UserView",
]
