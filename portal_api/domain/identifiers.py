"""Bulgarian personal and company identifiers: check, normalise, keep secret.

EGN (``stdnum.bg.egn``: check digit and birth date), LNCh (``stdnum.bg.pnf``),
EIK of 9 digits (``stdnum.bg.vat``'s legal-entity check digit) come from
python-stdnum. The 13-digit BULSTAT of a branch is the one form stdnum lacks
(python-stdnum 2.2 ``bg.vat`` takes 9 or 10 digits only), so its second check
digit is computed here, as /work/shared/DOMAIN.md describes. A foreigner without
an EGN logs in with the birth date as ``YYMMDD0000`` (seed 000, "foreign_birth").

A 10-digit number may pass both the EGN and the LNCh check: then the kind must
be stated, because the two belong to different people.

Personal numbers are personal data: the database keeps an HMAC (lookups, with a
server-side pepper) and a Fernet ciphertext (staff display), never the clear
value; both keys derive from the portal's secret key (:func:`derive_keys`).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
from dataclasses import dataclass
from enum import StrEnum

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from stdnum.bg import egn, pnf, vat


class IdKind(StrEnum):
    EGN = "egn"  # natural person, Bulgarian citizen
    LNCH = "lnch"  # personal number of a foreigner (ЛНЧ)
    EIK = "eik"  # legal entity or sole trader, 9 digits
    BULSTAT = "bulstat"  # a branch, 13 digits
    FOREIGN_BIRTH = "foreign_birth"  # YYMMDD0000: a foreigner without EGN (seed 000)


_LABELS = {
    IdKind.EGN: ("ЕГН", "EGN"),
    IdKind.LNCH: ("ЛНЧ", "LNCh"),
    IdKind.EIK: ("ЕИК", "EIK"),
    IdKind.BULSTAT: ("код по БУЛСТАТ", "BULSTAT"),
    IdKind.FOREIGN_BIRTH: ("дата на раждане (ГГММДД0000)", "birth date (YYMMDD0000)"),
}


class IdentifierError(ValueError):
    """An identifier that does not check out; the message is Bulgarian, then English."""

    def __init__(self, message_bg: str, message_en: str) -> None:
        self.message_bg = message_bg
        self.message_en = message_en
        super().__init__(f"{message_bg} / {message_en}")


@dataclass(frozen=True)
class Identifier:
    """A checked identifier in its normal form (digits only)."""

    kind: IdKind
    value: str

    def __repr__(self) -> str:
        # Never print the number itself: reprs end up in logs and tracebacks.
        return f"Identifier(kind={self.kind.value!r}, value=<{len(self.value)} digits>)"


def _digits(value: str) -> str:
    cleaned = "".join(value.split()).replace("-", "").replace(".", "")
    if cleaned.upper().startswith("BG"):
        cleaned = cleaned[2:]
    return cleaned


def _invalid(kind: IdKind) -> IdentifierError:
    bg, en = _LABELS[kind]
    return IdentifierError(f"Невалиден {bg}.", f"Invalid {en}.")


def bulstat13_check_digit(first12: str) -> str:
    """The 13th digit of a BULSTAT: digits 9-12 weighted 2,7,3,5 mod 11; on 10 the
    weights 4,9,5,7; on 10 again 0 (not in python-stdnum 2.2)."""
    tail = [int(c) for c in first12[8:12]]
    check = sum(w * d for w, d in zip((2, 7, 3, 5), tail, strict=True)) % 11
    if check == 10:
        check = sum(w * d for w, d in zip((4, 9, 5, 7), tail, strict=True)) % 11
    return str(check % 10)


def _valid_birth_date(yymmdd: str) -> bool:
    year, month, day = int(yymmdd[:2]), int(yymmdd[2:4]), int(yymmdd[4:6])
    for century in (1900, 2000):
        try:
            dt.date(century + year, month, day)
        except ValueError:
            continue
        return True
    return False


def _check(kind: IdKind, digits: str) -> bool:
    if not digits.isdigit():
        return False
    match kind:
        case IdKind.EGN:
            return len(digits) == 10 and egn.is_valid(digits)
        case IdKind.LNCH:
            return len(digits) == 10 and pnf.is_valid(digits)
        case IdKind.EIK:
            return len(digits) == 9 and vat.is_valid(digits)
        case IdKind.BULSTAT:
            return (
                len(digits) == 13
                and vat.is_valid(digits[:9])
                and digits[12] == bulstat13_check_digit(digits[:12])
            )
        case IdKind.FOREIGN_BIRTH:
            return len(digits) == 10 and digits.endswith("0000") and _valid_birth_date(digits)


def validate_identifier(value: str, kind: IdKind | str | None = None) -> Identifier:
    """Check ``value`` as ``kind`` (or guess the kind from its length) and normalise it.

    Raises :class:`IdentifierError`; for a 10-digit number valid both as EGN and
    as LNCh without a stated kind, the error asks for the kind.
    """
    digits = _digits(value)
    if kind is not None:
        try:
            stated = IdKind(kind)
        except ValueError:
            raise IdentifierError(
                "Непознат вид идентификатор.", "Unknown kind of identifier."
            ) from None
        if not _check(stated, digits):
            raise _invalid(stated)
        return Identifier(stated, digits)
    if not digits.isdigit() or len(digits) not in (9, 10, 13):
        raise IdentifierError(
            "Въведете ЕГН, ЛНЧ (10 цифри), ЕИК (9 цифри) или БУЛСТАТ (13 цифри).",
            "Enter an EGN, LNCh (10 digits), EIK (9 digits) or BULSTAT (13 digits).",
        )
    if len(digits) == 9:
        return validate_identifier(digits, IdKind.EIK)
    if len(digits) == 13:
        return validate_identifier(digits, IdKind.BULSTAT)
    candidates = [k for k in (IdKind.EGN, IdKind.LNCH) if _check(k, digits)]
    if len(candidates) == 2:
        raise IdentifierError(
            "Номерът е валиден и като ЕГН, и като ЛНЧ: посочете кое е.",
            "The number is valid both as an EGN and as an LNCh: state which it is.",
        )
    if not candidates:
        raise IdentifierError("Невалиден ЕГН или ЛНЧ.", "Invalid EGN or LNCh.")
    return Identifier(candidates[0], digits)


def kinds_matching(value: str) -> list[IdKind]:
    """Every kind ``value`` is valid as (a login form that does not ask for the kind
    looks up each of them)."""
    digits = _digits(value)
    return [kind for kind in IdKind if _check(kind, digits)]


# --- keeping them secret ---------------------------------------------------------


@dataclass(frozen=True)
class IdentifierKeys:
    """The HMAC pepper (lookups) and the Fernet key (staff display) of identifiers."""

    pepper: bytes
    fernet_key: bytes

    def __repr__(self) -> str:
        return "IdentifierKeys(<secret>)"


def _hkdf(secret: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(secret)


def derive_keys(secret_key: str) -> IdentifierKeys:
    """Two independent keys from the portal's secret key (HKDF-SHA256, distinct labels):
    a leaked ciphertext key does not give the pepper, nor the other way round."""
    secret = secret_key.encode("utf-8")
    pepper = _hkdf(secret, b"myenergy-portal identifier hmac v1")
    fernet_key = base64.urlsafe_b64encode(_hkdf(secret, b"myenergy-portal identifier fernet v1"))
    return IdentifierKeys(pepper=pepper, fernet_key=fernet_key)


def hmac_identifier(kind: IdKind | str, value: str, pepper: bytes) -> str:
    """HMAC-SHA256 (hex) of the normalised identifier and its kind: equal inputs give
    equal values (lookups), and without the pepper a dump cannot be brute-forced."""
    message = f"{IdKind(kind).value}:{_digits(value)}".encode("ascii")
    return hmac.new(pepper, message, hashlib.sha256).hexdigest()


def encrypt_identifier(value: str, fernet_key: bytes) -> str:
    """Fernet ciphertext (text) of the normalised identifier."""
    return Fernet(fernet_key).encrypt(_digits(value).encode("ascii")).decode("ascii")


def decrypt_identifier(token: str, fernet_key: bytes) -> str:
    """The clear identifier; raises :class:`IdentifierError` for a foreign or damaged token."""
    try:
        return Fernet(fernet_key).decrypt(token.encode("ascii")).decode("ascii")
    except (InvalidToken, ValueError):
        raise IdentifierError(
            "Идентификаторът не може да бъде разчетен.", "The identifier cannot be decrypted."
        ) from None


def mask(value: str) -> str:
    """For screens that need a hint only: all but the last 4 digits hidden."""
    digits = _digits(value)
    return "•" * max(len(digits) - 4, 0) + digits[-4:]


__all__ = [
    "IdKind",
    "Identifier",
    "IdentifierError",
    "IdentifierKeys",
    "bulstat13_check_digit",
    "decrypt_identifier",
    "derive_keys",
    "encrypt_identifier",
    "hmac_identifier",
    "kinds_matching",
    "mask",
    "validate_identifier",
]
