"""What every rule of the contract engine returns: the outcome, the clause, the numbers.

Staff and customers must be able to read *why*: a ``Decision`` names the clause of
the General Terms that applied (e.g. ``"4.4"``, ``"8.1b"``), carries the numbers the
rule used (dates, days, amounts, rates: JSON-able values after :meth:`explain`),
and a short reason in Bulgarian and English. A refusal or an inapplicable rule is
a Decision too (``allowed=False``), never an exception: exceptions are for input
the rule cannot judge (a naive date, a negative amount).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Set
from dataclasses import dataclass, field, fields, is_dataclass
from decimal import Decimal
from enum import Enum
from fractions import Fraction
from typing import Generic, TypeVar
from zoneinfo import ZoneInfo

__all__ = ["Decision", "JsonValue", "Number", "RuleError", "to_json"]

T = TypeVar("T")
Number = Decimal | int | dt.date | dt.datetime | str | bool | None
JsonValue = str | int | float | bool | None | list["JsonValue"] | dict[str, "JsonValue"]


class RuleError(ValueError):
    """The input cannot be judged by the rule (malformed, inconsistent)."""


@dataclass(frozen=True)
class Decision(Generic[T]):
    """``value`` is the rule's result (an amount, a date, a new state, a bool ...)."""

    value: T
    clause: str
    reason_bg: str
    reason_en: str
    allowed: bool = True
    numbers: dict[str, Number] = field(default_factory=dict)

    def explain(self) -> dict[str, JsonValue]:
        """The decision in plain JSON types (API answers, the decision log, the audit log).

        ``json.dumps`` takes it as it is; see :func:`to_json` for how each value
        type is written (Decimal as its exact string, dates in ISO 8601).
        """
        return {
            "clause": self.clause,
            "allowed": self.allowed,
            "value": to_json(self.value),
            "reason": {"bg": self.reason_bg, "en": self.reason_en},
            "numbers": {k: to_json(v) for k, v in self.numbers.items()},
        }


def to_json(value: object) -> JsonValue:
    """``value`` in plain JSON types: the one converter of the contract engine.

    Decimal -> its string (cents stay exact: "12.30", never 12.3 as a float),
    Fraction -> "n/d" (exact), date/datetime/time -> ISO 8601, timedelta -> ISO 8601
    duration, Enum -> its value, a dataclass -> a dict of its fields, a mapping ->
    a dict with string keys, a tuple/list -> a list, a set -> a sorted list.
    Anything else is a TypeError: a new domain type must be added here, never
    slip into the log as an unreadable repr.
    """
    # Order matters: bool is an int, StrEnum is a str, datetime is a date.
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, Enum):
        return to_json(value.value)
    if isinstance(value, str):
        return str(value)  # a str subclass as the plain str
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return value
    if isinstance(value, Decimal | Fraction):
        return str(value)
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return f"P{value.days}DT{value.seconds}.{value.microseconds:06d}S"
    if isinstance(value, ZoneInfo):
        return value.key
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_json(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, Mapping):
        return {_key(k): to_json(v) for k, v in value.items()}
    if isinstance(value, Set):
        return sorted((to_json(v) for v in value), key=str)
    if isinstance(value, list | tuple):
        return [to_json(v) for v in value]
    raise TypeError(f"no JSON form for {type(value).__name__}: add it to decision.to_json")


def _key(key: object) -> str:
    plain = to_json(key)
    return plain if isinstance(plain, str) else str(plain)
