"""Clause 6.5 import: the network operator's measurements against our measured energy.

Staff (permission ``quality``) upload the operator's CSV export; this service
reads it (``domain.quality_parse``), maps each metering point (ИТН) to our site,
reads OUR energy for the same periods from the time-series read side and puts
both side by side (``domain.quality_compare``): one Decision per site and period,
and the sites outside the ±5 % norm.

Nothing of the file is stored (decision in docs/contract-rules.md §6.5): the
portal runs as several stateless instances, there is no table for imports and
this issue adds no migration, so the whole result is the answer to the upload.
A file is compared as a whole or refused as a whole: one unreadable line, an
unknown metering point or a period off the quarter-hour grid refuses the file
with every bad line listed by number. What stays is the audit entry of who
compared which file (its SHA-256), when, and which sites were flagged.

Periods compared (``per``): ``row`` judges each operator row on its own (a
monthly file: each month); ``day`` and ``month`` sum the operator's rows into
Europe/Sofia local days or months (a 15-minute file judged per day, 23 or 25
hours on the DST days), the fairer verdict the rules recommend.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal, Protocol, get_args

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from portal_api.accounts.audit import write_audit
from portal_api.consumption.errors import QueryError
from portal_api.consumption.schemas import EnergyInterval
from portal_api.contracts.domain.dates import SOFIA, UTC
from portal_api.contracts.domain.decision import Decision, RuleError
from portal_api.contracts.domain.quality import (
    OperatorReading,
    OurEnergy,
    ParseError,
    Period,
    Verdict,
    compare,
    decode_operator_export,
    flagged_sites,
    parse_operator_csv,
)
from portal_api.db.models import Site

__all__ = [
    "GROUPINGS",
    "MAX_FILE_BYTES",
    "EnergyReader",
    "FileTooLargeError",
    "Grouping",
    "QualityImportError",
    "QualityImports",
    "QualityResult",
    "compare_operator_file",
]

# A month of quarter-hours for ~100 metering points is about 15 MB; the screen is
# for one site or a few at a time, and a larger file belongs to a batch job.
MAX_FILE_BYTES = 5 * 1024 * 1024
Grouping = Literal["row", "day", "month"]
GROUPINGS: tuple[Grouping, ...] = get_args(Grouping)
GroupBy = Literal["15min", "hour", "day", "month"]
# The longest span one energy query may cover per unit (ConsumptionService's limits
# are 31 days of quarter-hours and 366 days of hours): longer spans go in chunks.
_WH = Decimal("0.001")
_CHUNK = {"15min": dt.timedelta(days=28), "hour": dt.timedelta(days=364)}


class EnergyReader(Protocol):
    """The read side of the time series (``ConsumptionService.energy``)."""

    def energy(
        self,
        site_id: str,
        period_from: dt.datetime,
        period_to: dt.datetime,
        group_by: GroupBy,
        tz: str | None = None,
    ) -> list[EnergyInterval]: ...


class QualityImportError(Exception):
    """The file cannot be compared: a message and the bad lines (each with its number)."""

    def __init__(self, message: str, errors: Sequence[ParseError] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.errors = tuple(errors)


class FileTooLargeError(QualityImportError):
    """The file is over :data:`MAX_FILE_BYTES` (HTTP 413)."""


@dataclass(frozen=True)
class QualityResult:
    """The comparison of one operator file (6.5); ``decisions`` sorted by site and period."""

    file_name: str
    sha256: str
    per: Grouping
    readings: int
    decisions: tuple[Decision[Verdict], ...]
    flagged: tuple[str, ...]

    def count(self, verdict: Verdict) -> int:
        return sum(1 for d in self.decisions if d.value is verdict)


# -- which energy rows fit a period ---------------------------------------------------


def _unit(period: Period) -> GroupBy:
    """The coarsest of our intervals whose bounds fall on the period's bounds."""
    start, end = (t.astimezone(SOFIA) for t in (period.start, period.end))
    if all(t.day == 1 and t.time() == dt.time(0) for t in (start, end)):
        return "month"
    if all(t.time() == dt.time(0) for t in (start, end)):
        return "day"
    utc = period.utc()
    # Sofia's offsets are whole hours: a whole UTC hour is a whole local hour.
    if all(t.minute == 0 and t.second == 0 and t.microsecond == 0 for t in utc):
        return "hour"
    if all(t.minute % 15 == 0 and t.second == 0 and t.microsecond == 0 for t in utc):
        return "15min"
    raise RuleError(
        f"the period {period.start.isoformat()}..{period.end.isoformat()} "
        "does not start and end on a quarter-hour"
    )


def _fetch(
    reader: EnergyReader, site: str, unit: GroupBy, periods: Iterable[Period]
) -> dict[dt.datetime, EnergyInterval]:
    """Our ``unit`` intervals over the span of ``periods``, by UTC start."""
    spans = [p.utc() for p in periods]
    lo, hi = min(s for s, _ in spans), max(e for _, e in spans)
    step = _CHUNK.get(unit)
    out: dict[dt.datetime, EnergyInterval] = {}
    cursor = lo
    while cursor < hi:
        # A chunk bound is a whole number of days after a unit bound: a unit bound too.
        upto = hi if step is None else min(hi, cursor + step)
        for interval in reader.energy(site, cursor, upto, unit, tz="Europe/Sofia"):
            out[interval.interval_start.astimezone(UTC)] = interval
        cursor = upto
    return out


def _our_energy(period: Period, rows: Mapping[dt.datetime, EnergyInterval]) -> OurEnergy:
    """Our imported kWh in ``period`` and the share of it our data cover (0..1)."""
    lo, hi = period.utc()
    kwh = Decimal(0)
    covered = Decimal(0)
    cursor = lo
    while cursor < hi:
        interval = rows.get(cursor)
        if interval is None:  # pragma: no cover - the query lists every interval
            raise RuleError(f"no interval of ours starts at {cursor.isoformat()}")
        end = interval.interval_end.astimezone(UTC)
        seconds = Decimal(int((end - cursor).total_seconds()))
        if interval.import_kwh is not None:
            # str(): the service rounds to whole Wh; Decimal(float) would add noise.
            kwh += Decimal(str(interval.import_kwh))
        covered += Decimal(str(interval.completeness)) * seconds
        cursor = end
    if cursor != hi:  # pragma: no cover - _unit chose intervals nesting in the period
        raise RuleError(f"our intervals overrun the period's end {hi.isoformat()}")
    total = Decimal(int((hi - lo).total_seconds()))
    # Whole Wh: three decimals of kWh, shown the same on every row.
    return OurEnergy(kwh=kwh.quantize(_WH), completeness=min(Decimal(1), covered / total))


# -- the periods to judge -------------------------------------------------------------


def _local_midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(0), SOFIA)


def _grouped(readings: Iterable[OperatorReading], per: Grouping) -> set[Period]:
    """The Sofia days or months the readings start in (``row``: the readings' own)."""
    periods: set[Period] = set()
    for reading in readings:
        if per == "row":
            periods.add(reading.period)
            continue
        day = reading.period.start.astimezone(SOFIA).date()
        if per == "day":
            periods.add(Period(_local_midnight(day), _local_midnight(day + dt.timedelta(1))))
        else:
            first = day.replace(day=1)
            following = (first + dt.timedelta(days=32)).replace(day=1)
            periods.add(Period(_local_midnight(first), _local_midnight(following)))
    return periods


def _site_of(
    readings: Iterable[OperatorReading], sites: Mapping[str, str]
) -> tuple[dict[str, list[OperatorReading]], list[ParseError]]:
    """Readings by our site id; an unknown metering point or an odd period is an error."""
    by_site: dict[str, list[OperatorReading]] = {}
    errors: list[ParseError] = []
    for reading in readings:
        site = sites.get(reading.metering_point)
        if site is None:
            errors.append(
                ParseError(reading.line, f"unknown metering point {reading.metering_point!r}", "")
            )
            continue
        try:
            _unit(reading.period)
        except RuleError as exc:
            errors.append(ParseError(reading.line, str(exc), ""))
            continue
        by_site.setdefault(site, []).append(reading)
    return by_site, errors


# -- the comparison -------------------------------------------------------------------


def compare_operator_file(
    data: bytes,
    *,
    file_name: str,
    sites: Mapping[str, str],
    reader: EnergyReader,
    per: Grouping = "row",
) -> QualityResult:
    """6.5: the file's readings beside our energy; QualityImportError refuses the file.

    ``sites`` maps a metering point (ИТН), or our site id itself, to our site id.
    """
    if len(data) > MAX_FILE_BYTES:
        raise FileTooLargeError(f"the file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB")
    if per not in GROUPINGS:
        raise QualityImportError(f"per must be one of {', '.join(GROUPINGS)}")
    try:
        parsed = parse_operator_csv(decode_operator_export(data))
    except RuleError as exc:
        raise QualityImportError(str(exc)) from None
    by_site, unmapped = _site_of(parsed.readings, sites)
    errors = sorted([*parsed.errors, *unmapped], key=lambda e: e.line)
    if errors:
        raise QualityImportError(f"{len(errors)} line(s) of the file cannot be used", errors)
    if not by_site:
        raise QualityImportError("the file has a header but no data lines")
    ours: dict[tuple[str, Period], OurEnergy] = {}
    for site, readings in sorted(by_site.items()):
        by_unit: dict[GroupBy, list[Period]] = {}
        for period in _grouped(readings, per):
            by_unit.setdefault(_unit(period), []).append(period)
        for unit, periods in by_unit.items():
            try:
                rows = _fetch(reader, site, unit, periods)
            except QueryError as exc:
                raise QualityImportError(f"{site}: our energy cannot be read: {exc}") from None
            for period in periods:
                ours[(site, period)] = _our_energy(period, rows)
    readings_of_sites = [r for rs in by_site.values() for r in rs]
    site_of = {r.metering_point: sites[r.metering_point] for r in readings_of_sites}
    decisions = compare(readings_of_sites, ours, site_of=site_of)
    return QualityResult(
        file_name=file_name,
        sha256=hashlib.sha256(data).hexdigest(),
        per=per,
        readings=len(readings_of_sites),
        decisions=tuple(decisions),
        flagged=tuple(flagged_sites(decisions)),
    )


class QualityImports:
    """The 6.5 import screen's operation: compare a file, audit who did it."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        reader: EnergyReader,
        clock: Callable[[], dt.datetime],
    ) -> None:
        self._sessions = sessions
        self._reader = reader
        self._clock = clock

    def site_index(self) -> dict[str, str]:
        """Metering point (ИТН) -> site id, and each site id -> itself."""
        with self._sessions() as session:
            rows = session.execute(select(Site.id, Site.metering_point)).all()
        index = {site_id: site_id for site_id, _ in rows}
        index.update({point: site_id for site_id, point in rows})
        return index

    def run(
        self,
        data: bytes,
        *,
        file_name: str,
        per: Grouping,
        actor_user_id: int,
        ip: str | None,
    ) -> QualityResult:
        """Compare the file (QualityImportError refuses it) and write the audit entry."""
        result = compare_operator_file(
            data, file_name=file_name, sites=self.site_index(), reader=self._reader, per=per
        )
        with self._sessions.begin() as session:
            write_audit(
                session,
                self._clock(),
                "quality_import",
                actor_user_id=actor_user_id,
                object_type="operator_file",
                object_id=result.sha256[:16],
                ip=ip,
                detail={
                    "clause": "6.5",
                    "file_name": result.file_name[:200],
                    "sha256": result.sha256,
                    "per": result.per,
                    "readings": result.readings,
                    "periods": len(result.decisions),
                    "flagged": result.count(Verdict.FLAGGED),
                    "not_judged": result.count(Verdict.NOT_JUDGED),
                    "flagged_sites": list(result.flagged),
                },
            )
        return result
