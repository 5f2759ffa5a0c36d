"""The 6.5 comparison as CSV (RFC 4180, UTF-8 with BOM so spreadsheets read Cyrillic).

One row per site and period, the reason in the language asked for. Amounts are
the exact Decimal strings with a decimal point; text cells that a spreadsheet
would run as a formula get a leading apostrophe.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

from portal_api.contracts.app.quality import QualityResult
from portal_api.contracts.domain.decision import to_json
from portal_api.contracts.domain.quality import Verdict

__all__ = ["HEADER", "csv_filename", "result_csv"]

HEADER = (
    "site_id",
    "period_start",
    "period_end",
    "operator_kwh",
    "our_kwh",
    "completeness",
    "deviation_percent",
    "verdict",
    "clause",
    "reason",
)


def _cell(value: object) -> str:
    plain = to_json(value)
    return "" if plain is None else str(plain)


def _safe(text: str) -> str:
    # A reason or a file name is text: never a formula in the staff's spreadsheet.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _rows(result: QualityResult, lang: str) -> Iterable[list[str]]:
    yield list(HEADER)
    for d in result.decisions:
        n = d.numbers
        yield [
            _safe(_cell(n["site"])),
            _cell(n["period_start"]),
            _cell(n["period_end"]),
            _cell(n.get("operator_kwh")),
            _cell(n["our_kwh"]),
            _cell(n["completeness"]),
            _cell(n.get("deviation_percent")),
            Verdict(d.value).value,
            d.clause,
            _safe(d.reason_bg if lang == "bg" else d.reason_en),
        ]


def result_csv(result: QualityResult, lang: str = "bg") -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerows(_rows(result, lang))
    return "\ufeff" + out.getvalue()


def csv_filename(result: QualityResult) -> str:
    return f"quality-6.5-{result.sha256[:12]}.csv"
