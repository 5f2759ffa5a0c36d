"""PIK codes and login identifiers (issue 6, seed 000): drawing and reading a code,
checking "ЕИК/ЕГН" before any lookup.

A PIK is 8 symbols from an alphabet without look-alikes (no 0/O, 1/I), drawn with
``secrets``: 32^8, about 40 bits. That is enough behind argon2, the per-address
throttle and the per-PIK lockout. The identifier's check digits are checked with
python-stdnum (through ``portal_api.domain.identifiers``) before the database is
touched; a foreigner without an EGN enters the birth date as YYMMDD0000 and must
also give the customer number.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from portal_api.accounts.errors import AccountError
from portal_api.db.enums import IdKind
from portal_api.domain.identifiers import IdentifierKeys, hmac_identifier, kinds_matching

__all__ = [
    "PIK_ALPHABET",
    "PIK_LENGTH",
    "LoginIdentifier",
    "generate_pik",
    "looks_foreign",
    "normalise_pik",
    "parse_login_identifier",
]

# No 0/O, 1/I: the code is typed from a printed letter.
PIK_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
PIK_LENGTH = 8
# The kinds a login identifier may be: EGN (LNCh too: a foreigner with a personal
# number), EIK and BULSTAT. FOREIGN_BIRTH is handled apart (it needs the number).
_LOGIN_KINDS = (IdKind.EGN, IdKind.LNCH, IdKind.EIK, IdKind.BULSTAT)


def generate_pik() -> str:
    return "".join(secrets.choice(PIK_ALPHABET) for _ in range(PIK_LENGTH))


def normalise_pik(value: str) -> str:
    """Upper case without spaces or dashes: the letter may be copied with them."""
    return "".join(value.split()).replace("-", "").upper()


@dataclass(frozen=True)
class LoginIdentifier:
    """A login identifier that checked out: the kinds to look up (HMACs, never the number)
    and, for a foreigner's birth date, the customer number that must go with it."""

    hmacs: tuple[tuple[IdKind, str], ...]
    customer_number: str | None


def looks_foreign(identifier: str) -> bool:
    """YYMMDD0000 with a real date: the foreigner's form (the form then asks for the number)."""
    return IdKind.FOREIGN_BIRTH in kinds_matching(identifier)


def parse_login_identifier(
    identifier: str, customer_number: str | None, keys: IdentifierKeys
) -> LoginIdentifier:
    """Check the identifier (and the customer number a foreigner needs) before any lookup.

    Raises ``AccountError("check_identifier")`` for a number whose check digits fail,
    ``AccountError("customer_number_required")`` for YYMMDD0000 without a valid number.
    """
    kinds = kinds_matching(identifier)
    if IdKind.FOREIGN_BIRTH in kinds:
        number = "".join((customer_number or "").split())
        if len(number) != 10 or not number.isdigit():
            raise AccountError("customer_number_required")
        return LoginIdentifier(
            (
                (
                    IdKind.FOREIGN_BIRTH,
                    hmac_identifier(IdKind.FOREIGN_BIRTH, identifier, keys.pepper),
                ),
            ),
            number,
        )
    usable = [kind for kind in _LOGIN_KINDS if kind in kinds]
    if not usable:
        raise AccountError("check_identifier")
    return LoginIdentifier(
        tuple((kind, hmac_identifier(kind, identifier, keys.pepper)) for kind in usable), None
    )
