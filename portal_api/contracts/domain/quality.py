"""The quality norm of 6.5: our measured energy within ±5 % of the network operator's.

6.5 holds the company to interruptions within 5.1 / 5.2 (``interruptions``) and
to data from its equipment deviating from the network operator's measurements
of the site by no more than +/-5 %. Here:

1. ``parse_operator_csv`` reads the operator's export (one row per metering point
   and period, monthly or 15-minute): columns ``metering_point``,
   ``period_start``, ``period_end``, ``kwh`` (Bulgarian headers accepted too),
   ``;`` or ``,`` separated, decimal comma or point. Every data line ends up
   either as a reading or as an error with its line number: nothing is lost.
2. ``compare`` puts the operator's rows beside our energy per (site, period):
   the operator's rows inside the period must cover it exactly; the deviation
   is (ours - operator) / operator, *relative to the operator's value*; more
   than 5 % either way flags the site. A period whose completeness on our side
   is below the threshold (default 99 %), without full operator coverage, or
   with 0 kWh at the operator is not judged, and the Decision says why.

Times: an offset in a timestamp is used as given; a naive one is Europe/Sofia
local time. A date without a time is local midnight; as ``period_end`` it is
the *last day included* (monthly exports "01.10.2026;31.10.2026"). The hour
repeated when DST ends (03:00-04:00 on 2026-10-25) is read as its first
occurrence, and as the second when the same metering point repeats it; a local
time that does not exist (03:00-04:00 on 2026-03-29) is an error.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import StrEnum

from portal_api.contracts.domain.dates import SOFIA, UTC
from portal_api.contracts.domain.decision import Decision, Number, RuleError

__all__ = [
    "COLUMNS",
    "DEFAULT_MIN_COMPLETENESS",
    "TOLERANCE",
    "OperatorImport",
    "OperatorReading",
    "OurEnergy",
    "ParseError",
    "Period",
    "Verdict",
    "compare",
    "decode_operator_export",
    "flagged_sites",
    "parse_operator_csv",
]

TOLERANCE = Decimal("0.05")  # 6.5: +/-5 %
DEFAULT_MIN_COMPLETENESS = Decimal("0.99")
COLUMNS = ("metering_point", "period_start", "period_end", "kwh")
_ALIASES = {
    "metering_point": "metering_point",
    "metering point": "metering_point",
    "итн": "metering_point",
    "точка на измерване": "metering_point",
    "period_start": "period_start",
    "start": "period_start",
    "начало": "period_start",
    "от": "period_start",
    "period_end": "period_end",
    "end": "period_end",
    "край": "period_end",
    "до": "period_end",
    "kwh": "kwh",
    "energy_kwh": "kwh",
    "квтч": "kwh",
    "количество": "kwh",
    "енергия": "kwh",
}


@dataclass(frozen=True)
class Period:
    """A half-open interval ``[start, end)`` of aware datetimes."""

    start: dt.datetime
    end: dt.datetime

    def __post_init__(self) -> None:
        for value in (self.start, self.end):
            if value.tzinfo is None or value.utcoffset() is None:
                raise RuleError(f"a period needs aware datetimes, got {value!r}")
        if self.end.astimezone(UTC) <= self.start.astimezone(UTC):
            raise RuleError(f"a period ends after it starts: {self.start} .. {self.end}")

    def utc(self) -> tuple[dt.datetime, dt.datetime]:
        return self.start.astimezone(UTC), self.end.astimezone(UTC)


@dataclass(frozen=True)
class OperatorReading:
    metering_point: str
    period: Period
    kwh: Decimal
    line: int


@dataclass(frozen=True)
class ParseError:
    line: int
    message: str
    text: str


@dataclass(frozen=True)
class OperatorImport:
    readings: tuple[OperatorReading, ...]
    errors: tuple[ParseError, ...]


@dataclass(frozen=True)
class OurEnergy:
    """Our energy for a site and period, with the share of expected data present (0..1)."""

    kwh: Decimal
    completeness: Decimal


class Verdict(StrEnum):
    WITHIN = "within"
    FLAGGED = "flagged"
    NOT_JUDGED = "not_judged"


# ---------------------------------------------------------------- parsing


def decode_operator_export(data: bytes) -> str:
    """The text of an export: UTF-8 (with or without BOM), else Windows-1251."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1251")


_NUMBER = re.compile(r"^-?\d+([.,]\d+)?$")


def _parse_kwh(raw: str) -> Decimal:
    text = raw.strip().replace("\u00a0", "").replace(" ", "")
    if not _NUMBER.match(text):
        raise ValueError(
            f"kWh {raw!r} is not a number (one decimal comma or point, no thousands separator)"
        )
    try:
        value = Decimal(text.replace(",", "."))
    except InvalidOperation as exc:  # pragma: no cover - the pattern already guards
        raise ValueError(f"kWh {raw!r} is not a number") from exc
    if value < 0:
        raise ValueError(f"kWh {raw!r} is negative")
    return value


_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%d.%m.%Y %H:%M:%S", "%d.%m.%Y %H:%M")
_DATE_FORMATS = ("%Y-%m-%d", "%d.%m.%Y")


def _parse_moment(raw: str) -> tuple[dt.datetime, bool]:
    """(datetime, date_only); naive unless the text carries an offset."""
    text = raw.strip()
    for fmt in _DATE_FORMATS:
        try:
            return dt.datetime.strptime(text, fmt), True
        except ValueError:
            pass
    for fmt in _FORMATS:
        try:
            return dt.datetime.strptime(text, fmt), False
        except ValueError:
            pass
    try:
        parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(
            f"time {raw!r} is not YYYY-MM-DD[ HH:MM], DD.MM.YYYY[ HH:MM] or ISO 8601"
        ) from None
    return parsed, False


def _exists(naive: dt.datetime, fold: int) -> bool:
    local = naive.replace(tzinfo=SOFIA, fold=fold)
    back = local.astimezone(UTC).astimezone(SOFIA).replace(tzinfo=None)
    return back == naive


def _local(naive: dt.datetime, fold: int) -> dt.datetime:
    if not _exists(naive, fold):
        raise ValueError(f"{naive:%Y-%m-%d %H:%M} does not exist in Europe/Sofia (DST gap)")
    return naive.replace(tzinfo=SOFIA, fold=fold)


def _ambiguous(naive: dt.datetime) -> bool:
    a = naive.replace(tzinfo=SOFIA, fold=0).utcoffset()
    b = naive.replace(tzinfo=SOFIA, fold=1).utcoffset()
    return a != b and _exists(naive, 0) and _exists(naive, 1)


def _header(row: list[str]) -> list[str] | None:
    names = [_ALIASES.get(c.strip().strip("\ufeff").lower()) for c in row]
    if all(n is not None for n in names) and sorted(n for n in names if n) == sorted(COLUMNS):
        return [n for n in names if n]
    return None


def parse_operator_csv(text: str) -> OperatorImport:
    """The operator's export as readings and errors (6.5); raises only for no usable header."""
    lines = text.lstrip("\ufeff").splitlines()
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is None:
        raise RuleError("the operator's file is empty")
    head = lines[first]
    delimiter = ";" if head.count(";") >= head.count(",") and ";" in head else ","
    readings: list[OperatorReading] = []
    errors: list[ParseError] = []
    columns: list[str] | None = None
    seen_naive: dict[tuple[str, dt.datetime], int] = {}
    seen_utc: dict[tuple[str, dt.datetime], int] = {}
    for number, raw in enumerate(lines, start=1):
        row = next(csv.reader([raw], delimiter=delimiter), [])
        if not any(cell.strip() for cell in row):
            continue
        if columns is None:
            columns = _header(row)
            if columns is None:
                raise RuleError(
                    f"line {number}: expected the header {delimiter.join(COLUMNS)} "
                    f"(Bulgarian names accepted), got {raw!r}"
                )
            continue
        if len(row) != len(columns):
            errors.append(ParseError(number, f"{len(row)} fields, expected {len(columns)}", raw))
            continue
        cell = dict(zip(columns, row, strict=True))
        point = cell["metering_point"].strip()
        try:
            if not point:
                raise ValueError("the metering point is empty")
            kwh = _parse_kwh(cell["kwh"])
            start_raw, _ = _parse_moment(cell["period_start"])
            end_raw, end_date_only = _parse_moment(cell["period_end"])
            if start_raw.tzinfo is not None:
                start = start_raw
            else:
                fold = seen_naive.get((point, start_raw), 0) if _ambiguous(start_raw) else 0
                if _ambiguous(start_raw):
                    seen_naive[(point, start_raw)] = fold + 1
                start = _local(start_raw, min(fold, 1))
            if end_raw.tzinfo is not None:
                end = end_raw
            else:
                if end_date_only:
                    end_raw += dt.timedelta(days=1)  # a date-only end is the last day included
                candidates = [
                    _local(end_raw, f)
                    for f in (0, 1)
                    if _exists(end_raw, f)
                    and end_raw.replace(tzinfo=SOFIA, fold=f).astimezone(UTC)
                    > start.astimezone(UTC)
                ]
                if not candidates:
                    _local(end_raw, 0)  # raises for a DST gap
                    raise ValueError("the period ends before it starts")
                end = min(candidates, key=lambda m: m.astimezone(UTC))
            period = Period(start, end)
        except (ValueError, RuleError) as exc:
            errors.append(ParseError(number, str(exc), raw))
            continue
        key = (point, period.start.astimezone(UTC))
        if key in seen_utc:
            errors.append(ParseError(number, f"duplicate of line {seen_utc[key]}", raw))
            continue
        seen_utc[key] = number
        readings.append(OperatorReading(point, period, kwh, number))
    if columns is None:
        raise RuleError("the operator's file has no header line")
    return OperatorImport(tuple(readings), tuple(errors))


# ---------------------------------------------------------------- comparison


def _covering(
    rows: Iterable[OperatorReading], period: Period
) -> tuple[list[OperatorReading], str | None]:
    """The operator's rows inside ``period`` and why they do not cover it exactly (or None)."""
    lo, hi = period.utc()
    inside = sorted(
        (r for r in rows if lo <= r.period.utc()[0] and r.period.utc()[1] <= hi),
        key=lambda r: r.period.utc()[0],
    )
    cursor = lo
    for r in inside:
        start, end = r.period.utc()
        if start > cursor:
            return inside, f"no operator data from {cursor.isoformat()} (gap)"
        if start < cursor:
            return inside, f"operator rows overlap at {start.isoformat()} (line {r.line})"
        cursor = end
    if cursor < hi:
        return inside, f"no operator data from {cursor.isoformat()} to the period's end"
    return inside, None


def compare(
    operator: Iterable[OperatorReading],
    ours: Mapping[tuple[str, Period], OurEnergy],
    *,
    site_of: Mapping[str, str] | None = None,
    min_completeness: Decimal = DEFAULT_MIN_COMPLETENESS,
    tolerance: Decimal = TOLERANCE,
) -> list[Decision[Verdict]]:
    """6.5: one Decision per (site, period) of ours, sorted by site and period.

    ``site_of`` maps the operator's metering point to our site id (identity by
    default: a site *is* a metering point). ``numbers`` carry both energies, the
    deviation in percent (relative to the operator's value) and the completeness.
    """
    by_site: dict[str, list[OperatorReading]] = {}
    for r in operator:
        site = site_of.get(r.metering_point, r.metering_point) if site_of else r.metering_point
        by_site.setdefault(site, []).append(r)
    results: list[Decision[Verdict]] = []
    for (site, period), energy in sorted(ours.items(), key=lambda kv: (kv[0][0], kv[0][1].utc())):
        if energy.kwh < 0 or not (0 <= energy.completeness <= 1):
            raise RuleError(f"{site}: energy must be >= 0 and completeness within 0..1")
        rows, gap = _covering(by_site.get(site, []), period)
        operator_kwh = sum((r.kwh for r in rows), Decimal(0))
        numbers: dict[str, Number] = {
            "site": site,
            "period_start": period.start,
            "period_end": period.end,
            "our_kwh": energy.kwh,
            "completeness": energy.completeness,
            "min_completeness": min_completeness,
            "operator_kwh": operator_kwh if gap is None else None,
            "operator_rows": len(rows),
            "tolerance_percent": tolerance * 100,
        }
        when = f"{site} {period.start.isoformat()}..{period.end.isoformat()}"
        if energy.completeness < min_completeness:
            have, need = f"{energy.completeness * 100:.1f}%", f"{min_completeness * 100:.1f}%"
            results.append(
                _not_judged(
                    when,
                    f"нашите данни са пълни {have} (< {need})",
                    f"our data are {have} complete (< {need})",
                    numbers,
                )
            )
            continue
        if gap is not None:
            results.append(
                _not_judged(
                    when,
                    f"данните на мрежовия оператор не покриват периода: {gap}",
                    f"the operator's data do not cover the period: {gap}",
                    numbers,
                )
            )
            continue
        if operator_kwh == 0:
            results.append(
                _not_judged(
                    when,
                    "мрежовият оператор отчита 0 kWh: относителното отклонение не е определено",
                    "the operator measured 0 kWh: the relative deviation is undefined",
                    numbers,
                )
            )
            continue
        deviation = (energy.kwh - operator_kwh) / operator_kwh
        percent = (deviation * 100).quantize(Decimal("0.01"))
        numbers["deviation_percent"] = percent
        flagged = abs(deviation) > tolerance
        verdict = Verdict.FLAGGED if flagged else Verdict.WITHIN
        results.append(
            Decision(
                value=verdict,
                clause="6.5",
                reason_bg=f"{when}: измерено {energy.kwh} kWh спрямо {operator_kwh} kWh на "
                f"мрежовия оператор, отклонение {percent}% "
                + ("- извън нормата от ±5%." if flagged else "- в нормата от ±5%."),
                reason_en=f"{when}: measured {energy.kwh} kWh against the operator's "
                f"{operator_kwh} kWh, deviation {percent}% "
                + ("- outside the ±5% norm." if flagged else "- within the ±5% norm."),
                allowed=not flagged,
                numbers=numbers,
            )
        )
    return results


def _not_judged(
    when: str, why_bg: str, why_en: str, numbers: dict[str, Number]
) -> Decision[Verdict]:
    return Decision(
        value=Verdict.NOT_JUDGED,
        clause="6.5",
        reason_bg=f"{when}: не се оценява - {why_bg}.",
        reason_en=f"{when}: not judged - {why_en}.",
        numbers=numbers,
    )


def flagged_sites(results: Iterable[Decision[Verdict]]) -> list[str]:
    """The sites with at least one period outside the ±5 % norm (6.5)."""
    return sorted({str(d.numbers["site"]) for d in results if d.value is Verdict.FLAGGED})
