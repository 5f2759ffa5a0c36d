"""Euro amounts as Bulgarian users type them into forms."""

from __future__ import annotations

from decimal import Decimal

import pytest

from portal_api.web.form_money import euro_from_form


@pytest.mark.parametrize(
    ("typed", "amount"),
    [
        ("14,90", Decimal("14.90")),
        ("14.90", Decimal("14.90")),
        (" 1 234,50 ", Decimal("1234.50")),
        ("1\u00a0234,5", Decimal("1234.5")),
        ("0", Decimal("0")),
    ],
)
def test_amounts_are_read_to_the_cent(typed: str, amount: Decimal) -> None:
    assert euro_from_form(typed) == amount


@pytest.mark.parametrize("typed", ["", "abc", "-1", "14,905", "NaN", "Infinity", "1,2,3"])
def test_what_is_not_an_amount_in_whole_cents_is_refused(typed: str) -> None:
    assert euro_from_form(typed) is None
