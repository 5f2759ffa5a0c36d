"""Clause 6.5, step 2: our energy beside the operator's, per site and period.

6.5 holds the company to data from its equipment deviating from the network
operator's measurements of the site by no more than +/-5 %. ``compare`` puts
the operator's rows beside our energy per (site, period): the operator's rows
inside the period must cover it exactly; the deviation is (ours - operator) /
operator, *relative to the operator's value*; more than 5 % either way flags the
site (exactly 5 % is within). A period whose completeness on our side is below
the threshold (default 99 %), without full operator coverage, or with 0 kWh at
the operator is not judged, and the Decision says why.
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_left
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from portal_api.contracts.domain.decision import Decision, Number, RuleError
from portal_api.contracts.domain.quality_parse import OperatorReading, Period

__all__ = [
    "DEFAULT_MIN_COMPLETENESS",
    "TOLERANCE",
    "OurEnergy",
    "Verdict",
    "compare",
    "flagged_sites",
]

TOLERANCE = Decimal("0.05")  # 6.5: +/-5 %
DEFAULT_MIN_COMPLETENESS = Decimal("0.99")


@dataclass(frozen=True)
class OurEnergy:
    """Our energy for a site and period, with the share of expected data present (0..1)."""

    kwh: Decimal
    completeness: Decimal


class Verdict(StrEnum):
    WITHIN = "within"
    FLAGGED = "flagged"
    NOT_JUDGED = "not_judged"


@dataclass(frozen=True)
class _SiteRows:
    """One site's operator rows sorted by UTC start, with the starts for bisection."""

    rows: tuple[OperatorReading, ...]
    starts: tuple[dt.datetime, ...]
    ends: tuple[dt.datetime, ...]

    @classmethod
    def of(cls, rows: Iterable[OperatorReading]) -> _SiteRows:
        ordered = sorted(rows, key=lambda r: r.period.utc()[0])
        spans = [r.period.utc() for r in ordered]
        return cls(tuple(ordered), tuple(s for s, _ in spans), tuple(e for _, e in spans))

    def inside(self, lo: dt.datetime, hi: dt.datetime) -> list[tuple[OperatorReading, int]]:
        """The rows that lie within ``[lo, hi)``, with their index; log n to find the first."""
        # A 15-minute file judged per row has thousands of periods: no scan of every row.
        first = bisect_left(self.starts, lo)
        last = bisect_left(self.starts, hi, lo=first)
        return [(self.rows[i], i) for i in range(first, last) if self.ends[i] <= hi]


_NO_ROWS = _SiteRows((), (), ())


def _covering(rows: _SiteRows, period: Period) -> tuple[list[OperatorReading], str | None]:
    """The operator's rows inside ``period`` and why they do not cover it exactly (or None)."""
    lo, hi = period.utc()
    found = rows.inside(lo, hi)
    inside = [r for r, _ in found]
    cursor = lo
    for r, i in found:
        start, end = rows.starts[i], rows.ends[i]
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
    sorted_rows = {site: _SiteRows.of(rows) for site, rows in by_site.items()}
    results: list[Decision[Verdict]] = []
    for (site, period), energy in sorted(ours.items(), key=lambda kv: (kv[0][0], kv[0][1].utc())):
        if energy.kwh < 0 or not (0 <= energy.completeness <= 1):
            raise RuleError(f"{site}: energy must be >= 0 and completeness within 0..1")
        rows, gap = _covering(sorted_rows.get(site, _NO_ROWS), period)
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
