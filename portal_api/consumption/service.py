"""`ConsumptionService`: the portal's read side over ingest's `TimeSeriesStore`.

Energy comes only from the rows ingest's rollups stored for the SITE
(``EnergyKey("site", site_id)``: the sum of its meters, as complete as its
worst meter); it is never recomputed from power. Which stored rows feed a query:

=====================  ==============================  =============================
group_by               in the rollup zone (Sofia)      in any other zone
=====================  ==============================  =============================
15min                  15-minute rows                  15-minute rows
hour / day / month     the stored hour/day/month rows  hour rows when the zone's
                                                       bounds fall on whole UTC hours
                                                       (UTC, Europe/*), else 15-min
week                   day rows (7 per ISO week)       as above
=====================  ==============================  =============================

Every interval of the period is listed (gaps with null energy, completeness 0);
kWh to 3 decimals. A period is widened to whole intervals (``calendar.intervals``).
Per-phase series, the latest values and the device status are read from the
records, live samples and status messages of one device.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from ingest.rollup import DEFAULT_TZ, bucket_bounds
from ingest.store import EnergyKey, TimeSeriesStore
from ingest.store.rows import EnergyUnit
from portal_api.consumption import phases as phase_series
from portal_api.consumption.calendar import GroupBy, Resolution, intervals, zone
from portal_api.consumption.grouping import Summed, sum_rows
from portal_api.consumption.schemas import (
    DeviceStatusView,
    EnergyInterval,
    LatestValues,
    PhaseInterval,
)
from portal_api.consumption.status import DEFAULT_ONLINE_WINDOW_S, status_view
from portal_api.consumption.validation import (
    ENERGY_MAX_DAYS,
    PHASES_MAX_DAYS,
    aware,
    check_group_by,
    check_period,
    check_resolution,
)
from protocol.records import PERIOD_COARSE_S

IMPORT, EXPORT = "e_imp_wh", "e_exp_wh"
LIVE_LOOKBACK_S = 300


def kwh(wh: int | None) -> float | None:
    """Wh as kWh to 3 decimals (exact: the register counts whole Wh)."""
    return None if wh is None else round(wh / 1000, 3)


class ConsumptionService:
    """Energy by interval, per-phase series, latest values and device status."""

    def __init__(
        self,
        store: TimeSeriesStore,
        *,
        default_tz: str = DEFAULT_TZ,
        rollup_tz: str = DEFAULT_TZ,
        online_window_s: float = DEFAULT_ONLINE_WINDOW_S,
    ) -> None:
        """``default_tz``: the zone of a query that names none. ``rollup_tz``: the zone
        ingest rolls local hours/days/months up in (ingest's ``tz``), whose stored
        rows can be served as they are. ``online_window_s``: see status.py."""
        self.store = store
        self.default_tz = zone(default_tz)
        self.rollup_tz = zone(rollup_tz)
        self.online_window_s = online_window_s

    def _zone(self, tz: ZoneInfo | str | None) -> ZoneInfo:
        if tz is None:
            return self.default_tz
        return tz if isinstance(tz, ZoneInfo) else zone(tz)

    # -- energy -------------------------------------------------------------------

    def energy(
        self,
        site_id: str,
        period_from: datetime,
        period_to: datetime,
        group_by: GroupBy | str,
        tz: ZoneInfo | str | None = None,
    ) -> list[EnergyInterval]:
        """Every ``group_by`` interval of ``[period_from, period_to)`` in ``tz``, ascending.

        Raises QueryError for naive times, an empty or too long period, an unknown
        group_by or zone.
        """
        unit = check_group_by(group_by)
        zone_ = self._zone(tz)
        start, end = check_period(
            period_from, period_to, zone_, ENERGY_MAX_DAYS[unit], f"group_by={unit}"
        )
        bounds = intervals(start, end, unit, zone_)
        source = self._source(unit, zone_, bounds)
        rows = self.store.energy(EnergyKey("site", site_id), source, bounds[0][0], bounds[-1][1])
        return [self._interval(s, zone_) for s in sum_rows(rows, bounds)]

    def _source(self, unit: GroupBy, tz: ZoneInfo, bounds: list[tuple[int, int]]) -> EnergyUnit:
        """The coarsest stored rows that nest inside every interval of ``bounds``."""
        if unit == "15min":
            return "15min"
        if tz.key == self.rollup_tz.key:
            return "day" if unit == "week" else unit
        # Stored hours are the rollup zone's local hours; they nest in the other
        # zone's intervals when every bound of those is one of their bounds.
        edges = {t for bound in bounds for t in bound}
        if all(bucket_bounds(t, "hour", self.rollup_tz)[0] == t for t in edges):
            return "hour"
        return "15min"

    @staticmethod
    def _interval(summed: Summed, tz: ZoneInfo) -> EnergyInterval:
        return EnergyInterval(
            interval_start=datetime.fromtimestamp(summed.start, tz),
            interval_end=datetime.fromtimestamp(summed.end, tz),
            import_kwh=kwh(summed.import_wh),
            export_kwh=kwh(summed.export_wh),
            completeness=round(summed.completeness, 4),
        )

    def today_kwh(
        self, site_id: str, now: datetime, tz: ZoneInfo | str | None = None
    ) -> float | None:
        """Imported kWh of the local day of ``now`` so far (15-minute rows started
        before ``now``); None when the day has no rows yet."""
        t = int(aware("now", now).timestamp())
        day_start, _ = bucket_bounds(t, "day", self._zone(tz))
        rows = self.store.energy(EnergyKey("site", site_id), "15min", day_start, t)
        if not rows:
            return None
        return kwh(sum(r.import_wh for r in rows))

    # -- per-phase series and latest values ---------------------------------------

    def phases(
        self,
        device_id: str,
        period_from: datetime,
        period_to: datetime,
        resolution: Resolution | str,
        tz: ZoneInfo | str | None = None,
    ) -> list[PhaseInterval]:
        """Every ``resolution`` interval of ``[period_from, period_to)`` in ``tz``."""
        unit = check_resolution(resolution)
        zone_ = self._zone(tz)
        start, end = check_period(
            period_from, period_to, zone_, PHASES_MAX_DAYS[unit], f"resolution={unit}"
        )
        bounds = intervals(start, end, unit, zone_)
        # A coarsened record starting up to 15 minutes before the first interval
        # may overlap it (1-minute intervals off a quarter-hour).
        records = self.store.records(
            device_id,
            bounds[0][0] - PERIOD_COARSE_S + 1,
            bounds[-1][1],
            channels=phase_series.channels(),
        )
        return phase_series.aggregate(records, bounds, zone_)

    def latest(self, device_id: str) -> LatestValues | None:
        """The newest record's means per phase and the registers at its end (kWh)."""
        record = self.store.latest(device_id)
        if record is None:
            return None
        f_hz = record.stats.get("f_hz")
        return LatestValues(
            device_id=device_id,
            interval_start=datetime.fromtimestamp(record.ts, self.default_tz),
            interval_end=datetime.fromtimestamp(record.ts + record.period_s, self.default_tz),
            l1=phase_series.phase_model(record.stats, "l1"),
            l2=phase_series.phase_model(record.stats, "l2"),
            l3=phase_series.phase_model(record.stats, "l3"),
            total=phase_series.total_model(record.stats),
            f_hz=None if f_hz is None else round(f_hz[0], 2),
            import_kwh=kwh(record.counters.get(IMPORT)),
            export_kwh=kwh(record.counters.get(EXPORT)),
        )

    # -- device status ------------------------------------------------------------

    def device_status(self, device_id: str, now: float) -> DeviceStatusView:
        """Last seen, online, queue depth, signal, clock, version (status.py)."""
        status = self.store.latest_status(device_id)
        record = self.store.latest(device_id)
        record_end = None if record is None else float(record.ts + record.period_s)
        # Live samples only matter while the device streams: the last few minutes
        # (status and records cover the rest, and a stream is ~1 sample a second).
        t = int(now)
        samples = self.store.live(device_id, t - LIVE_LOOKBACK_S, t + 60)
        live = samples[-1][0] / 1000 if samples else None
        return status_view(
            device_id, status, record_end, live, now=now, online_window_s=self.online_window_s
        )


__all__ = ["ConsumptionService", "kwh"]
