"""Random tokens (sessions, API tokens, reset links) and how they are stored.

A token is 32 random bytes, URL-safe base64 (``secrets.token_urlsafe(32)``);
the database keeps only its SHA-256, so a leaked table does not hand out live
sessions. A fast hash is right here (unlike passwords): the token has 256 bits
of entropy, nothing to brute-force.
"""

from __future__ import annotations

import hashlib
import secrets

TOKEN_BYTES = 32


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_hash(token: str) -> str:
    """SHA-256 (hex) of a token, the only form stored."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def username_hash(username: str) -> str:
    """SHA-256 (hex) of the normalised username, for login_attempts (never the name)."""
    return hashlib.sha256(normalise_username(username).encode("utf-8")).hexdigest()


def normalise_username(username: str) -> str:
    return username.strip().lower()


__all__ = ["new_token", "normalise_username", "token_hash", "username_hash"]
