"""Password hashing (argon2id via argon2-cffi), the password policy and generated passwords.

Hashes are rehashed at the next successful login when the hasher's parameters
changed (``needs_rehash``), so raising the cost reaches every account without a
reset. ``dummy_verify`` spends the same time when a username does not exist,
so response times do not reveal which accounts exist.
"""

from __future__ import annotations

import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from portal_api.accounts.errors import AccountError

MAX_PASSWORD_LENGTH = 256  # hashing a megabyte of "password" is a denial of service
# No 0/O, 1/l/I: the generated password is typed from an e-mail or a letter.
_ALPHABET = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
GENERATED_LENGTH = 14  # 14 symbols of 57: about 81 bits


class Passwords:
    """Hash and verify passwords with one argon2 parameter set."""

    def __init__(self, hasher: PasswordHasher | None = None) -> None:
        self.hasher = hasher or PasswordHasher()
        self._dummy = self.hasher.hash(secrets.token_urlsafe(16))

    def hash(self, password: str) -> str:
        return self.hasher.hash(password)

    def verify(self, password_hash: str, password: str) -> bool:
        try:
            return self.hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, password_hash: str) -> bool:
        try:
            return self.hasher.check_needs_rehash(password_hash)
        except InvalidHashError:
            return True

    def dummy_verify(self, password: str) -> None:
        """As long as a real verification, for a username that does not exist."""
        self.verify(self._dummy, password)


def check_new_password(
    new: str, *, username: str, min_length: int, current: str | None = None
) -> None:
    """Raise :class:`AccountError` when ``new`` breaks the policy."""
    if len(new) < min_length:
        raise AccountError("too_short", length=min_length)
    if len(new) > MAX_PASSWORD_LENGTH:
        raise AccountError("too_long", length=MAX_PASSWORD_LENGTH)
    if new.strip().lower() == username.strip().lower():
        raise AccountError("same_as_username")
    if current is not None and new == current:
        raise AccountError("same_as_current")


def generate_password(length: int = GENERATED_LENGTH) -> str:
    """A random password for issued credentials (clause 1.6, 5.4)."""
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


__all__ = ["MAX_PASSWORD_LENGTH", "Passwords", "check_new_password", "generate_password"]
