"""API models of the 6.5 import (POST /api/v1/quality/imports) and their building.

Amounts are strings of the exact Decimal (``"123.456"``): a float would lose the
last Wh. Nothing of an import is stored (docs/contract-rules.md §6.5): the
answer carries the whole result, and ``stored`` says so to API clients.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from portal_api.contracts.app.quality import QualityResult
from portal_api.contracts.domain.decision import Decision, to_json
from portal_api.contracts.domain.quality import ParseError, Verdict

__all__ = [
    "QualityImportOut",
    "QualityLineError",
    "QualityPeriodOut",
    "QualityRefusal",
    "import_out",
    "line_errors",
    "period_out",
]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True)


class QualityLineError(_Model):
    line: int
    message: str
    text: str


class QualityRefusal(_Model):
    """422: the file was refused as a whole; every bad line is listed."""

    detail: str
    errors: list[QualityLineError]


class QualityPeriodOut(_Model):
    """One site and period: the operator's kWh, ours, the deviation and the verdict."""

    site_id: str
    period_start: str
    period_end: str
    operator_kwh: str | None
    our_kwh: str
    completeness: str
    deviation_percent: str | None
    verdict: Verdict
    clause: Literal["6.5"]
    reason_bg: str
    reason_en: str
    explanation: dict[str, Any]


class QualityImportOut(_Model):
    stored: Literal[False] = False
    file_name: str
    sha256: str
    per: Literal["row", "day", "month"]
    readings: int
    periods: int
    flagged: int
    within: int
    not_judged: int
    flagged_sites: list[str]
    results: list[QualityPeriodOut]


def _text(value: object) -> str | None:
    plain = to_json(value)
    return None if plain is None else str(plain)


def period_out(decision: Decision[Verdict]) -> QualityPeriodOut:
    numbers = decision.numbers
    return QualityPeriodOut(
        site_id=str(numbers["site"]),
        period_start=str(to_json(numbers["period_start"])),
        period_end=str(to_json(numbers["period_end"])),
        operator_kwh=_text(numbers.get("operator_kwh")),
        our_kwh=str(to_json(numbers["our_kwh"])),
        completeness=str(to_json(numbers["completeness"])),
        deviation_percent=_text(numbers.get("deviation_percent")),
        verdict=decision.value,
        clause="6.5",
        reason_bg=decision.reason_bg,
        reason_en=decision.reason_en,
        explanation=dict(decision.explain()),
    )


def import_out(result: QualityResult) -> QualityImportOut:
    return QualityImportOut(
        file_name=result.file_name,
        sha256=result.sha256,
        per=result.per,
        readings=result.readings,
        periods=len(result.decisions),
        flagged=result.count(Verdict.FLAGGED),
        within=result.count(Verdict.WITHIN),
        not_judged=result.count(Verdict.NOT_JUDGED),
        flagged_sites=list(result.flagged),
        results=[period_out(d) for d in result.decisions],
    )


def line_errors(errors: tuple[ParseError, ...]) -> list[QualityLineError]:
    return [QualityLineError(line=e.line, message=e.message, text=e.text) for e in errors]
