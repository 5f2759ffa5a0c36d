"""Clause 6.5, step 1: the network operator's export as readings and errors.

The operator's file has one row per metering point and period, monthly or
15-minute: columns ``metering_point``, ``period_start``, ``period_end``, ``kwh``
(Bulgarian headers accepted too), ``;`` or ``,`` separated, decimal comma or
point. Every data line ends up either as a reading or as an error with its line
number: nothing is lost.

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
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from portal_api.contracts.domain.dates import SOFIA, UTC
from portal_api.contracts.domain.decision import RuleError

__all__ = [
    "COLUMNS",
    "OperatorImport",
    "OperatorReading",
    "ParseError",
    "Period",
    "decode_operator_export",
    "parse_operator_csv",
]

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


@dataclass(frozen=True, eq=False)
class Period:
    """A half-open interval ``[start, end)`` of aware datetimes.

    Equal when the instants are equal: Python compares two datetimes of the same
    zone by their wall clock and ignores ``fold``, so the first and the second
    03:00-03:15 of 25 Oct 2026 would otherwise be one period.
    """

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

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Period) and self.utc() == other.utc()

    def __hash__(self) -> int:
        return hash(self.utc())


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


# YYYY-MM-DD or DD.MM.YYYY, optionally " HH:MM[:SS]" (one or two digits, as strptime
# reads them). One regular expression instead of trying strptime formats in turn: a
# 5 MiB file of quarter-hours holds some 180 000 times, and failed strptime calls
# made most of the parsing time.
_MOMENT = re.compile(
    r"^(?:(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})"
    r"|(?P<d2>\d{1,2})\.(?P<m2>\d{1,2})\.(?P<y2>\d{4}))"
    r"(?: (?P<H>\d{1,2}):(?P<M>\d{1,2})(?::(?P<S>\d{1,2}))?)?$",
    re.ASCII,
)


def _parse_moment(raw: str) -> tuple[dt.datetime, bool]:
    """(datetime, date_only); naive unless the text carries an offset."""
    text = raw.strip()
    found = _MOMENT.match(text)
    if found is not None:
        g = found.groupdict()
        try:
            moment = dt.datetime(
                int(g["y"] or g["y2"]),
                int(g["m"] or g["m2"]),
                int(g["d"] or g["d2"]),
                int(g["H"] or 0),
                int(g["M"] or 0),
                int(g["S"] or 0),
            )
        except ValueError:
            raise ValueError(f"time {raw!r} is not a valid date or time") from None
        return moment, g["H"] is None
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
