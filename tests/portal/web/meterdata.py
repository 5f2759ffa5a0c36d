"""Meter history for the web tests, through ingest's real write path.

One-minute records (per-phase power, voltage, current, power factor and the
import register) are written to the time-series store and rolled up by
ingest's own ``RollupWriter``, exactly as the ingest worker does; a gap in the
minutes makes the affected intervals incomplete.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from ingest.rollup_writer import RollupWriter, SiteMeter
from ingest.store.base import TimeSeriesStore
from protocol.records import PERIOD_RAW_S, Record

SAMPLES_PER_MINUTE = 12


def power_w(ts: int, phase: int) -> float:
    """A smooth day-shaped load per phase: low at night, high in the afternoon."""
    hour = (ts % 86400) / 3600
    return round(400 + 300 * phase + 900 * max(0.0, math.sin((hour - 6) / 24 * 2 * math.pi)), 1)


def minute_records(
    start: int, end: int, *, skip: tuple[int, int] | None = None, first_seq: int = 1
) -> list[Record]:
    """Records for every minute of ``[start, end)`` except those in ``skip``."""
    records = []
    energy_wh = 1_000_000.0
    seq = first_seq
    for ts in range(start, end, PERIOD_RAW_S):
        p = [power_w(ts, k) for k in (1, 2, 3)]
        energy_wh += sum(p) * PERIOD_RAW_S / 3600
        if skip is not None and skip[0] <= ts < skip[1]:
            continue
        stats: dict[str, tuple[float, float, float]] = {}
        for k, value in enumerate(p, start=1):
            stats[f"p_l{k}_w"] = (value, value - 20, value + 20)
            stats[f"u_l{k}_v"] = (230.0 + k, 229.0, 233.0)
            stats[f"i_l{k}_a"] = (round(value / 230, 2), 0.0, 20.0)
            stats[f"pf_l{k}"] = (0.95, 0.9, 0.99)
        stats["p_total_w"] = (sum(p), sum(p) - 60, sum(p) + 60)
        stats["pf_total"] = (0.95, 0.9, 0.99)
        counters = {"e_imp_wh": int(energy_wh), "e_exp_wh": 0}
        records.append(
            Record(
                seq,
                ts,
                PERIOD_RAW_S,
                samples=SAMPLES_PER_MINUTE,
                expected=SAMPLES_PER_MINUTE,
                stats=stats,
                counters=counters,
            )
        )
        seq += 1
    return records


def store_history(
    store: TimeSeriesStore,
    device_id: str,
    site_id: str,
    meter_model: str,
    *,
    records: Iterable[Record],
    installed_at: int,
) -> None:
    """Write ``records`` and their rollups (meter and site) as ingest would."""
    batch = list(records)
    store.write_records(device_id, site_id, meter_model, batch)
    writer = RollupWriter(
        store,
        lambda _site: [SiteMeter(device_id, installed_at)],
        max_wh_per_s=100.0,
    )
    writer.recompute(device_id, site_id, [r.ts for r in batch])
