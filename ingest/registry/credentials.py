"""Device and service passwords: generation, argon2 hashes, Mosquitto hashes.

Every password is generated here (192 random bits) and shown once; the registry
keeps two salted hashes of it and never the plaintext:

- argon2id (argon2-cffi): the registry's own verifier, for anything that checks
  a login against the registry (an EMQX HTTP-auth endpoint, tests).
- Mosquitto's PBKDF2-SHA512 format ``$7$<iterations>$<salt b64>$<hash b64>``,
  exactly what ``mosquitto_passwd`` writes for Mosquitto 2.0, so the password
  file can be rendered later without the plaintext. A salted PBKDF2 hash of a
  192-bit random secret cannot be brute-forced whatever the iteration count,
  so Mosquitto's own default (101) is kept: the broker pays it at every connect,
  and a fleet reconnecting after an outage must not melt the broker's CPU.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

PASSWORD_BYTES = 24  # 192 bits -> 32 URL-safe characters: no ':' or whitespace
MOSQUITTO_ITERATIONS = 101  # mosquitto_passwd 2.0's default for sha512-pbkdf2
MOSQUITTO_SALT_BYTES = 12  # as mosquitto_passwd
_MOSQUITTO_PREFIX = "$7$"

_hasher = PasswordHasher()


def generate_password() -> str:
    """A new random password (URL-safe base64, safe in config files and shells)."""
    return secrets.token_urlsafe(PASSWORD_BYTES)


def argon2_hash(password: str) -> str:
    return _hasher.hash(password)


def argon2_verify(stored: str, password: str) -> bool:
    try:
        return _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def mosquitto_hash(
    password: str, *, salt: bytes | None = None, iterations: int = MOSQUITTO_ITERATIONS
) -> str:
    """The password in Mosquitto 2.0's ``$7$`` (PBKDF2-SHA512) password-file format."""
    salt = secrets.token_bytes(MOSQUITTO_SALT_BYTES) if salt is None else salt
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, iterations)
    b64 = base64.b64encode
    return f"{_MOSQUITTO_PREFIX}{iterations}${b64(salt).decode()}${b64(digest).decode()}"


def mosquitto_verify(stored: str, password: str) -> bool:
    """Check a password against a ``$7$`` hash (the broker's own check, in Python)."""
    try:
        empty, kind, iterations, salt, digest = stored.split("$")
        if empty or kind != "7":
            return False
        expected = base64.b64decode(digest, validate=True)
        actual = hashlib.pbkdf2_hmac(
            "sha512", password.encode(), base64.b64decode(salt, validate=True), int(iterations)
        )
    except ValueError:
        return False
    return hmac.compare_digest(expected, actual)
