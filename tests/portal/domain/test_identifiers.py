"""EGN, LNCh, EIK, BULSTAT: checked, normalised, kept secret."""

from __future__ import annotations

import pytest

from portal_api.domain.identifiers import (
    IdentifierError,
    IdKind,
    bulstat13_check_digit,
    decrypt_identifier,
    derive_keys,
    encrypt_identifier,
    hmac_identifier,
    kinds_matching,
    mask,
    validate_identifier,
)

EGN = "7523169263"  # stdnum's example: born 1875-03-16
LNCH = "7111042925"
EIK = "201398872"  # ЕНЕРГО-ПРО Енергийни услуги ЕАД (DOMAIN.md)
BOTH = "7501010004"  # passes the EGN and the LNCh check
BULSTAT = "201398872001" + bulstat13_check_digit("201398872001")  # a branch of it


@pytest.mark.parametrize(
    ("value", "kind", "normal"),
    [
        (EGN, IdKind.EGN, EGN),
        ("752 316 9263", IdKind.EGN, EGN),
        (LNCH, IdKind.LNCH, LNCH),
        (EIK, IdKind.EIK, EIK),
        ("BG 201 398 872", IdKind.EIK, EIK),
        (BULSTAT, IdKind.BULSTAT, BULSTAT),
    ],
)
def test_valid_identifiers_are_recognised_and_normalised(
    value: str, kind: IdKind, normal: str
) -> None:
    found = validate_identifier(value)
    assert (found.kind, found.value) == (kind, normal)
    assert validate_identifier(value, kind).value == normal


@pytest.mark.parametrize(
    "value",
    ["7523169264", "7111042926", "201398873", "2013988720010"],
)
def test_wrong_check_digits_are_refused(value: str) -> None:
    with pytest.raises(IdentifierError):
        validate_identifier(value)


def test_bulstat_check_digit_follows_domain_md() -> None:
    # digits 9..12 = 2,0,0,1: 2*2 + 7*0 + 3*0 + 5*1 = 9 (mod 11)
    assert bulstat13_check_digit("201398872001") == "9"
    # 2,0,2,0: 4 + 6 = 10 -> weights 4,9,5,7: 8 + 10 = 18 = 7 (mod 11)
    assert bulstat13_check_digit("201398872020") == "7"
    # 10 with both sets of weights -> 0
    twice = next(
        f"20139887{a}{b}{c}{d}"
        for a in "0123456789"
        for b in "0123456789"
        for c in "0123456789"
        for d in "0123456789"
        if (2 * int(a) + 7 * int(b) + 3 * int(c) + 5 * int(d)) % 11 == 10
        and (4 * int(a) + 9 * int(b) + 5 * int(c) + 7 * int(d)) % 11 == 10
    )
    assert bulstat13_check_digit(twice) == "0"
    # the first nine digits must be a valid EIK too
    with pytest.raises(IdentifierError):
        validate_identifier("2013988730019", IdKind.BULSTAT)


def test_a_number_valid_as_egn_and_lnch_needs_its_kind() -> None:
    with pytest.raises(IdentifierError) as info:
        validate_identifier(BOTH)
    assert "ЕГН" in info.value.message_bg and "LNCh" in info.value.message_en
    assert validate_identifier(BOTH, "lnch").kind is IdKind.LNCH
    assert set(kinds_matching(BOTH)) >= {IdKind.EGN, IdKind.LNCH}


def test_errors_are_bulgarian_then_english() -> None:
    with pytest.raises(IdentifierError) as info:
        validate_identifier("12345")
    text = str(info.value)
    assert text.index("Въведете") < text.index("Enter")
    with pytest.raises(IdentifierError, match=r"Невалиден ЕИК\. / Invalid EIK\."):
        validate_identifier("201398873", IdKind.EIK)
    with pytest.raises(IdentifierError, match="Unknown kind"):
        validate_identifier(EIK, "passport")


def test_foreign_birth_date_form_of_seed_000() -> None:
    assert validate_identifier("8512310000", "foreign_birth").kind is IdKind.FOREIGN_BIRTH
    with pytest.raises(IdentifierError):
        validate_identifier("8513310000", "foreign_birth")  # month 13
    with pytest.raises(IdentifierError):
        validate_identifier("8512310001", "foreign_birth")


def test_repr_never_shows_the_number() -> None:
    assert EGN not in repr(validate_identifier(EGN))
    assert mask(EGN) == "••••••9263"


def test_hmac_is_stable_peppered_and_kind_specific() -> None:
    keys = derive_keys("s" * 40)
    other = derive_keys("t" * 40)
    a = hmac_identifier(IdKind.EGN, EGN, keys.pepper)
    assert a == hmac_identifier("egn", "752-316-9263", keys.pepper)
    assert len(a) == 64 and EGN not in a
    assert a != hmac_identifier(IdKind.EGN, EGN, other.pepper)
    assert hmac_identifier(IdKind.EGN, BOTH, keys.pepper) != hmac_identifier(
        IdKind.LNCH, BOTH, keys.pepper
    )


def test_fernet_round_trip_and_wrong_key() -> None:
    keys = derive_keys("s" * 40)
    token = encrypt_identifier(EGN, keys.fernet_key)
    assert EGN not in token
    assert decrypt_identifier(token, keys.fernet_key) == EGN
    with pytest.raises(IdentifierError):
        decrypt_identifier(token, derive_keys("t" * 40).fernet_key)
    assert "s" * 40 not in repr(keys)
