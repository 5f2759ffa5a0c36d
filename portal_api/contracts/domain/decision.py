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
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Generic, TypeVar

__all__ = ["Decision", "Number", "RuleError"]

T = TypeVar("T")
Number = Decimal | int | dt.date | dt.datetime | str | bool | None


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

    def explain(self) -> dict[str, object]:
        """A JSON-able account of the decision (API answers, the audit log)."""

        def plain(v: object) -> object:
            if isinstance(v, Decimal):
                return str(v)
            if isinstance(v, dt.date | dt.datetime):
                return v.isoformat()
            return v

        return {
            "clause": self.clause,
            "allowed": self.allowed,
            "value": plain(self.value),
            "reason": {"bg": self.reason_bg, "en": self.reason_en},
            "numbers": {k: plain(v) for k, v in self.numbers.items()},
        }
