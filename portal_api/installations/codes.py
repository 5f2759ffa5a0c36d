"""One-time provisioning codes: drawing, normalising and hashing (issue 7, clause 1.4).

A code is 10 symbols of the PIK alphabet (no 0/O, 1/I: it is read aloud over the
phone or copied from a work order), drawn with ``secrets``: 32^10, about 50 bits.
Only an HMAC-SHA256 of it is stored, keyed with the portal's pepper, so the row
can be found by the code (no argon2 scan over every open code) and a database
dump alone does not let anyone try the codes offline. Guessing online is bounded
by the throttle in :mod:`portal_api.installations.provisioning`, the 14-day
validity and single use.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets

from portal_api.accounts.pik_codes import PIK_ALPHABET

__all__ = [
    "CODE_ALPHABET",
    "CODE_LENGTH",
    "CODE_VALIDITY",
    "code_hash",
    "format_code",
    "generate_code",
    "normalise_code",
]

CODE_ALPHABET = PIK_ALPHABET
CODE_LENGTH = 10
CODE_VALIDITY = dt.timedelta(days=14)
_LABEL = b"myenergy provisioning code v1:"


def generate_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalise_code(value: str) -> str:
    """Upper case without spaces or dashes (the code is shown as ``ABCDE-FGHJK``);
    cut to a sane length before it is hashed."""
    return "".join(value.split()).replace("-", "").upper()[:64]


def format_code(code: str) -> str:
    """``ABCDEFGHJK`` as ``ABCDE-FGHJK``: two halves are easier to read out."""
    half = len(code) // 2
    return f"{code[:half]}-{code[half:]}"


def code_hash(code: str, pepper: bytes) -> str:
    """HMAC-SHA256 (hex) of the normalised code: the only form stored."""
    return hmac.new(
        pepper, _LABEL + normalise_code(code).encode("utf-8"), hashlib.sha256
    ).hexdigest()
