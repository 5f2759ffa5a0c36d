"""Recompute and store the energy rollups a write touched, per meter and per site.

After records are stored, ingest recomputes only what their counter readings can
change (``ingest.rollup.affected_intervals``: the span between the stored
readings just before and just after the new ones), from the store's own counter
readings, so a redelivery, a late backfill or a batch arriving out of order all
converge to the same rows. Rows are written with ``write_energy`` (idempotent
on key, unit, start).

Per meter: 15-minute rows from ``e_imp_wh`` and ``e_exp_wh`` (two rollup runs
merged into one ``EnergyRow``; completeness = the lower of the two channels,
since a row is only as complete as its least complete direction; a channel the
meter does not report at all is left out). Local hour and day buckets are summed
from the stored 15-minute rows, months from the stored day rows
(``local_buckets`` weighs completeness by duration), in Europe/Sofia.

Per site: each 15-minute row is the sum over the site's meters; completeness is
the MINIMUM over the meters installed by the interval's end (a meter without a
row counts as 0): the site total is exactly as trustworthy as its worst meter,
and a customer must never see a total that looks complete while a meter is
missing. Site buckets are summed the same way as a meter's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from ingest.rollup import (
    DEFAULT_INTERVAL_S,
    CounterReading,
    EnergyInterval,
    affected_intervals,
    bucket_bounds,
    energy_intervals,
    local_buckets,
    window_readings,
)
from ingest.rollup.calendar import BucketUnit
from ingest.store import EnergyKey, EnergyRow, TimeSeriesStore
from ingest.store.rows import EnergyUnit

IMPORT = "e_imp_wh"
EXPORT = "e_exp_wh"
INTERVAL_S = DEFAULT_INTERVAL_S
# (bucket, the stored rows it is summed from): months from days keeps a month's
# recompute at ~31 rows instead of ~2,900.
_BUCKETS: tuple[tuple[BucketUnit, EnergyUnit], ...] = (
    ("hour", "15min"),
    ("day", "15min"),
    ("month", "day"),
)


@dataclass(frozen=True)
class SiteMeter:
    """A meter of a site, for site sums: its device id and installation instant."""

    device_id: str
    installed_at: int


SiteMeters = Callable[[str], Sequence[SiteMeter]]


def _ceil(ts: int, step: int) -> int:
    return -(-ts // step) * step


class RollupWriter:
    """Recomputes the rollups of one device's new readings, and its site's."""

    def __init__(
        self,
        store: TimeSeriesStore,
        site_meters: SiteMeters,
        *,
        max_wh_per_s: float,
        rollover_wh: int | None = None,
        tz: str = "Europe/Sofia",
        lookback_s: int = 3600,
    ) -> None:
        self.store = store
        self.site_meters = site_meters
        self.max_wh_per_s = max_wh_per_s
        self.rollover_wh = rollover_wh
        self.tz = tz
        self.lookback_s = lookback_s

    def affected_window(self, device_id: str, reading_ts: Sequence[int]) -> tuple[int, int] | None:
        """The aligned ``[start, end)`` of 15-minute intervals new readings can change."""
        lo, hi = min(reading_ts), max(reading_ts)
        starts: list[int] = []
        for channel in (IMPORT, EXPORT):
            stored = self.store.counter_readings(
                device_id, channel, lo - self.lookback_s, hi + self.lookback_s + 1
            )
            for new_ts, before, after in (
                (lo, [r for r in stored if r.ts < lo], [r for r in stored if r.ts > lo]),
                (hi, [r for r in stored if r.ts < hi], [r for r in stored if r.ts > hi]),
            ):
                span = affected_intervals(
                    new_ts, before[-1] if before else None, after[0] if after else None, INTERVAL_S
                )
                starts.extend(span)
        if not starts:
            return None
        start = min(starts)
        end = max(max(starts) + INTERVAL_S, _ceil(hi, INTERVAL_S))
        return start, end

    def recompute(self, device_id: str, site_id: str, reading_ts: Sequence[int]) -> int:
        """Recompute meter and site rows touched by readings at ``reading_ts``; rows written."""
        if not reading_ts:
            return 0
        window = self.affected_window(device_id, reading_ts)
        if window is None:
            return 0
        start, end = window
        written = 0
        meter_rows = self._meter_intervals(device_id, start, end)
        if meter_rows:
            self.store.write_energy(meter_rows)
            written += len(meter_rows)
            written += self._buckets(EnergyKey("meter", device_id), start, end)
        site_rows = self._site_intervals(site_id, start, end)
        if site_rows:
            self.store.write_energy(site_rows)
            written += len(site_rows)
            written += self._buckets(EnergyKey("site", site_id), start, end)
        return written

    # -- 15-minute rows ---------------------------------------------------------

    def _channel(
        self, device_id: str, channel: str, start: int, end: int
    ) -> list[EnergyInterval] | None:
        readings: list[CounterReading] = self.store.counter_readings(
            device_id, channel, start - self.lookback_s, end + self.lookback_s
        )
        if not readings:
            return None  # the meter does not report this direction (here)
        return energy_intervals(
            window_readings(readings, start, end),
            start,
            end,
            INTERVAL_S,
            max_wh_per_s=self.max_wh_per_s,
            rollover_wh=self.rollover_wh,
        )

    def _meter_intervals(self, device_id: str, start: int, end: int) -> list[EnergyRow]:
        imp = self._channel(device_id, IMPORT, start, end)
        exp = self._channel(device_id, EXPORT, start, end)
        if imp is None and exp is None:
            return []
        key = EnergyKey("meter", device_id)
        rows = []
        for i, iv_start in enumerate(range(start, end, INTERVAL_S)):
            parts = [s[i] for s in (imp, exp) if s is not None]
            rows.append(
                EnergyRow(
                    key,
                    "15min",
                    iv_start,
                    iv_start + INTERVAL_S,
                    imp[i].wh if imp is not None else 0,
                    exp[i].wh if exp is not None else 0,
                    min(p.completeness for p in parts),
                )
            )
        return rows

    def _site_intervals(self, site_id: str, start: int, end: int) -> list[EnergyRow]:
        meters = self.site_meters(site_id)
        if not meters:
            return []
        per_meter = {
            m.device_id: {
                r.start: r
                for r in self.store.energy(EnergyKey("meter", m.device_id), "15min", start, end)
            }
            for m in meters
        }
        key = EnergyKey("site", site_id)
        rows = []
        for iv_start in range(start, end, INTERVAL_S):
            iv_end = iv_start + INTERVAL_S
            present = [m for m in meters if m.installed_at < iv_end]
            if not present:
                continue
            got = [per_meter[m.device_id].get(iv_start) for m in present]
            rows.append(
                EnergyRow(
                    key,
                    "15min",
                    iv_start,
                    iv_end,
                    sum(r.import_wh for r in got if r is not None),
                    sum(r.export_wh for r in got if r is not None),
                    min(r.completeness if r is not None else 0.0 for r in got),
                )
            )
        return rows

    # -- local buckets ----------------------------------------------------------

    def _buckets(self, key: EnergyKey, start: int, end: int) -> int:
        """Hour and day buckets from 15-minute rows, then months from day rows."""
        written = 0
        for unit, source in _BUCKETS:
            lo = bucket_bounds(start, unit, self.tz)[0]
            hi = bucket_bounds(end - 1, unit, self.tz)[1]
            rows = self.store.energy(key, source, lo, hi)
            out = self._sum(key, rows, unit)
            if out:
                self.store.write_energy(out)
                written += len(out)
        return written

    def _sum(self, key: EnergyKey, rows: Iterable[EnergyRow], unit: BucketUnit) -> list[EnergyRow]:
        rows = list(rows)
        if not rows:
            return []
        imp = local_buckets(
            [EnergyInterval(r.start, r.end, r.import_wh, r.completeness) for r in rows],
            unit,
            self.tz,
        )
        exp = local_buckets(
            [EnergyInterval(r.start, r.end, r.export_wh, r.completeness) for r in rows],
            unit,
            self.tz,
        )
        target: EnergyUnit = unit
        return [
            EnergyRow(key, target, b.start, b.end, b.wh, e.wh, b.completeness)
            for b, e in zip(imp, exp, strict=True)
        ]
