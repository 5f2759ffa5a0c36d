"""Decision.explain(): plain JSON for every value type the domain uses (API, logs, the table).

Decimal is written as its exact string (cents and Wh survive a round trip), dates
in ISO 8601, Fraction as "n/d", enums by value, dataclasses as dicts, tuples and
sets as lists; mapping.explanation stores the same thing (one converter).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum, IntEnum, StrEnum
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from portal_api.contracts.db.mapping import explanation
from portal_api.contracts.domain.decision import Decision, to_json
from portal_api.contracts.domain.interest import LateStatus
from portal_api.contracts.domain.quality import Verdict


class Colour(Enum):
    RED = ("r", 1)


class Level(IntEnum):
    HIGH = 3


class State(StrEnum):
    ACTIVE = "active"


@dataclass(frozen=True)
class Inner:
    amount: Decimal
    on: dt.date
    share: Fraction
    tags: frozenset[str]
    state: State


DECIMALS = st.decimals(allow_nan=False, allow_infinity=False, places=None)
AWARE = st.datetimes(timezones=st.timezones())
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.text(),
    DECIMALS,
    st.dates(),
    AWARE,
    st.datetimes(),
    st.fractions(),
    st.sampled_from([Colour.RED, Level.HIGH, State.ACTIVE, Verdict.FLAGGED]),
)
INNERS = st.builds(
    Inner,
    amount=DECIMALS,
    on=st.dates(),
    share=st.fractions(),
    tags=st.frozensets(st.text(max_size=5), max_size=3),
    state=st.just(State.ACTIVE),
)
VALUES = st.recursive(
    st.one_of(SCALARS, INNERS),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.tuples(inner, inner),
        st.dictionaries(st.text(max_size=5), inner, max_size=3),
    ),
    max_leaves=8,
)


def decision(value: Any, numbers: dict[str, Any]) -> Decision[Any]:
    return Decision(value, "4.4", "причина", "reason", numbers=numbers)


@given(value=VALUES, numbers=st.dictionaries(st.text(max_size=8), SCALARS, max_size=5))
def test_explain_is_plain_json_for_any_domain_value(value: Any, numbers: dict[str, Any]) -> None:
    made = decision(value, numbers)
    plain = made.explain()
    # Strict JSON (no NaN), and nothing json.dumps would need a default= for.
    text = json.dumps(plain, allow_nan=False, ensure_ascii=False)
    assert json.loads(text) == plain
    assert explanation(made) == plain  # the decision table stores the same


@given(amount=DECIMALS)
def test_explain_keeps_decimals_exact(amount: Decimal) -> None:
    plain = json.loads(json.dumps(decision(amount, {"amount": amount}).explain()))
    for written in (plain["value"], plain["numbers"]["amount"]):
        assert isinstance(written, str)
        back = Decimal(written)
        assert back == amount and back.as_tuple() == amount.as_tuple()  # "12.30" stays


@given(moment=AWARE, day=st.dates(), share=st.fractions())
def test_explain_round_trips_dates_and_fractions(
    moment: dt.datetime, day: dt.date, share: Fraction
) -> None:
    plain = json.loads(json.dumps(decision(None, {"at": moment, "on": day, "f": share}).explain()))
    # The instant and its offset as written; compared as fixed offsets because Python
    # calls an ambiguous local time unequal to every other zone's datetime.
    offset = moment.utcoffset()
    assert offset is not None
    assert dt.datetime.fromisoformat(plain["numbers"]["at"]) == moment.replace(
        tzinfo=dt.timezone(offset)
    )
    assert dt.date.fromisoformat(plain["numbers"]["on"]) == day
    assert Fraction(plain["numbers"]["f"]) == share


def test_explain_writes_dataclass_values_as_dicts() -> None:
    status = LateStatus(
        "INV-1", dt.date(2026, 3, 10), 6, True, False, dt.date(2026, 3, 16), dt.date(2026, 4, 25)
    )  # 4.4's value, which explain() used to leave as a dataclass
    assert json.loads(json.dumps(decision(status, {}).explain()))["value"] == {
        "invoice_id": "INV-1",
        "due": "2026-03-10",
        "days_late": 6,
        "suspension_allowed": True,
        "termination_allowed": False,
        "suspension_from": "2026-03-16",
        "termination_from": "2026-04-25",
    }
    inner = Inner(
        Decimal("12.30"), dt.date(2026, 3, 2), Fraction(1, 3), frozenset({"b", "a"}), State.ACTIVE
    )
    plain = decision((inner, Colour.RED, Level.HIGH), {}).explain()
    assert plain["value"] == [
        {
            "amount": "12.30",
            "on": "2026-03-02",
            "share": "1/3",
            "tags": ["a", "b"],
            "state": "active",
        },
        ["r", 1],
        3,
    ]


def test_to_json_refuses_an_unknown_type_instead_of_a_repr() -> None:
    with pytest.raises(TypeError, match="object"):
        to_json(object())
    assert to_json(dt.timedelta(days=1, seconds=5)) == "P1DT5.000000S"
    assert to_json(dt.time(3, 15)) == "03:15:00"
