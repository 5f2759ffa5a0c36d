"""Meter data with known energy, stored through ingest's real rollup code.

Counters rise by ``quarter_wh(q)`` in the quarter-hour starting at ``q`` (and by
``export_wh(q)`` on the export register), so the energy of any interval is known
without the code under test. A quarter-hour is measured (covered) when the
readings at both of its ends exist: records are stamped with the START of their
period and carry the register at its END, so quarter ``q`` is covered when the
records starting at ``q - 900`` and ``q`` were both stored (or, for minute
records, when no minute of it or of the minute before it is missing).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from ingest.rollup_writer import RollupWriter, SiteMeter
from ingest.store import TimeSeriesStore
from protocol.records import CLOCK_SYNCED, Record

SOFIA = ZoneInfo("Europe/Sofia")
UTC = dt.UTC
SITE = "varna-0001"
METER = "me-varna-1"
BASE_WH = 1_000_000


def quarter_wh(q: int) -> int:
    """Imported Wh in the quarter-hour starting at ``q`` (varied, never 0)."""
    return 100 + (q // 900) % 13


def export_wh(q: int) -> int:
    """Exported Wh in the quarter-hour starting at ``q``."""
    return 5 if (q // 900) % 4 == 0 else 0


def local(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> int:
    """Unix seconds of a Europe/Sofia wall-clock time."""
    return int(dt.datetime(year, month, day, hour, minute, tzinfo=SOFIA).timestamp())


def at(ts: int, tz: ZoneInfo = SOFIA) -> dt.datetime:
    return dt.datetime.fromtimestamp(ts, tz)


def stats(seed: int) -> dict[str, tuple[float, float, float]]:
    """Per-phase stats of a record; the means move with ``seed``."""
    out: dict[str, tuple[float, float, float]] = {}
    total = 0.0
    for n in (1, 2, 3):
        p = 1000.0 * n + seed % 50
        total += p
        out[f"p_l{n}_w"] = (p, p - 100, p + 100)
        out[f"u_l{n}_v"] = (230.0 + n, 229.0 + n, 231.0 + n)
        out[f"i_l{n}_a"] = (p / 230.0, p / 231.0, p / 229.0)
        out[f"pf_l{n}"] = (0.9, 0.85, 0.95)
    out["p_total_w"] = (total, total - 300, total + 300)
    out["pf_total"] = (0.9, 0.85, 0.95)
    out["f_hz"] = (50.0, 49.95, 50.05)
    return out


@dataclass
class Loaded:
    """What was written: the quarter-hours measured, for the oracle."""

    covered: set[int]

    def expected(self, start: int, end: int) -> tuple[int | None, int | None, float]:
        """(import Wh, export Wh, completeness) of ``[start, end)``; None for a gap."""
        quarters = [q for q in range(start, end, 900) if q in self.covered]
        if not quarters:
            return None, None, 0.0
        return (
            sum(quarter_wh(q) for q in quarters),
            sum(export_wh(q) for q in quarters),
            len(quarters) * 900 / (end - start),
        )


class Registers:
    """The registers at any instant: cumulative sums of the quarter-hours since ``origin``."""

    def __init__(self, origin: int, end: int) -> None:
        self.imp: dict[int, int] = {}
        self.exp: dict[int, int] = {}
        imp, exp = BASE_WH, 50_000
        for q in range(origin, end + 1800, 900):
            self.imp[q], self.exp[q] = imp, exp
            imp += quarter_wh(q)
            exp += export_wh(q)

    def at(self, t: int) -> dict[str, int]:
        q0 = t - t % 900
        # within a quarter the register rises linearly (whole Wh): the quarter's sum is exact
        part = (t - q0) / 900
        return {
            "e_imp_wh": self.imp[q0] + int(quarter_wh(q0) * part),
            "e_exp_wh": self.exp[q0] + int(export_wh(q0) * part),
        }


def load(
    store: TimeSeriesStore,
    start: int,
    end: int,
    *,
    period_s: int = 900,
    missing: Iterable[tuple[int, int]] = (),
    origin: int | None = None,
) -> Loaded:
    """Records of ``period_s`` covering ``[start, end)`` (plus one before ``start``, so
    ``start`` has a reading), except those starting inside a ``missing`` range;
    then ingest's RollupWriter computes and stores the meter and site rows."""
    origin = start - 900 if origin is None else origin
    registers = Registers(origin, end)
    holes = list(missing)
    records = []
    for seq, ts in enumerate(range(start - period_s, end, period_s)):
        if any(lo <= ts < hi for lo, hi in holes):
            continue
        records.append(
            Record(
                seq,
                ts,
                period_s=period_s,
                clock=CLOCK_SYNCED,
                samples=period_s,
                expected=period_s,
                span=period_s // 60,
                stats=stats(seq),
                counters=registers.at(ts + period_s),
            )
        )
    store.write_records(METER, SITE, "sdm630", records)
    writer = RollupWriter(
        store, lambda site: [SiteMeter(METER, installed_at=0)], max_wh_per_s=100_000 / 3600
    )
    writer.recompute(METER, SITE, [r.ts + r.period_s for r in records])
    readings = {r.ts + r.period_s for r in records}
    covered = set()
    for q in range(start - start % 900, end, 900):
        # covered when every reading from q to q + 900 exists (a gap > 900 s is not spread)
        if all(t in readings for t in range(q, q + 901, period_s)):
            covered.add(q)
    return Loaded(covered)
