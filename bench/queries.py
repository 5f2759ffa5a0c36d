"""Dashboard query latency on a year of one site's data, InfluxDB and SQLite.

The store holds ONE YEAR of 1-minute SDM630 records of one meter (the site's
only meter; 525,600 records of 84 fields) and their rollups: 15-minute, hour,
day and month rows for the meter and the site.

The dashboard's three views are timed, ~50 repetitions each on random days /
months, p50 and p95: a local day of 15-minute values, a local month of days, a
local year of months (all site rows, Europe/Sofia calendar).

Loading must be quick, so the year is written in large batches:

- records: a week of the load model per quarter (January, April, July,
  October; ``bench.records``), repeated over the quarter with the counters
  continuing from minute to minute. Lines are the store's own line protocol
  (``line_protocol`` of the template record, byte for byte; only ``seq`` and the
  counters are substituted), POSTed in 5000-line requests, two in flight.
  Building 525,600 lines with influxdb-client's ``Point`` alone takes minutes;
- rollups: computed once from the year's counters by ingest's rollup functions
  (``energy_intervals``, ``local_buckets``: what ``RollupWriter`` does window
  by window through the store, which took 33-49 s over a year here), the same
  rows written to both stores with ``write_energy``;
- SQLite gets the same records through ``SqliteStore.write_records`` in
  10,000-record transactions, restricted to the counter channels (17 of the 84
  fields), in a thread beside InfluxDB's load: 44 M narrow rows would take
  minutes to load and the dashboard queries read only the energy table.
"""

from __future__ import annotations

import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from bench.ingest import influx_server
from bench.records import minute_records
from edge_agent.logging_setup import configure_logging
from ingest.rollup import (
    DEFAULT_INTERVAL_S,
    BucketUnit,
    CounterReading,
    EnergyInterval,
    bucket_bounds,
    energy_intervals,
    local_buckets,
)
from ingest.store import (
    EnergyKey,
    EnergyRow,
    InfluxConfig,
    InfluxStore,
    SqliteStore,
    TimeSeriesStore,
    schema,
)
from ingest.store.influx import line_protocol
from ingest.store.rows import ENERGY_UNITS
from protocol.codec import Record

DEVICE = "bench-year-m1"
SITE = "bench-year-site"
METER = "sdm630"
TZ = "Europe/Sofia"
YEAR_START = 1_767_218_400  # 2026-01-01 00:00 Europe/Sofia (22:00 UTC the day before)
MINUTES = 365 * 24 * 60  # 525,600
WEEK = 7 * 24 * 60
QUARTER = MINUTES // 4
REPETITIONS = 50
MAX_WH_PER_S = 100_000 / 3600  # ingest's default validation.max_power_w
SQLITE_CHUNK = 10_000
INFLUX_CHUNK = 5_000
TARGET_P95_MS = 100.0


def _templates() -> list[list[Record]]:
    """One week + 1 minute of records per quarter (the extra minute gives the
    counter increment of the week's last minute)."""
    return [
        minute_records(WEEK + 1, seed=11 + q, start=YEAR_START + q * QUARTER * 60) for q in range(4)
    ]


def year_records(templates: list[list[Record]]) -> Iterator[tuple[int, Record, dict[str, int]]]:
    """(minute, template record, counters) for every minute of the year.

    Counters continue: each minute adds the template's increment for that minute.
    """
    running = dict(templates[0][0].counters)
    for m in range(MINUTES):
        t = templates[min(m // QUARTER, 3)]
        i = (m % QUARTER) % WEEK
        yield m, t[i], dict(running)
        for c, value in t[i + 1].counters.items():
            running[c] += value - t[i].counters[c]


def _record(m: int, template: Record, counters: dict[str, int], *, stats: bool = True) -> Record:
    """Minute ``m`` of the year from its template (without stats if not ``stats``)."""
    t = template
    return Record(
        m,
        YEAR_START + m * 60,
        t.period_s,
        t.clock,
        t.samples,
        t.expected,
        t.span,
        stats=dict(t.stats) if stats else {},
        counters=counters,
    )


class _LineMaker:
    """Line protocol of a template record with another seq, ts and counters, fast.

    The template's line comes from the store's own ``line_protocol``; its field
    list is split once and only the varying values are substituted.
    """

    def __init__(self, tags: dict[str, str], measurement: str) -> None:
        self.tags = tags
        self.measurement = measurement
        self._cache: dict[int, tuple[str, list[str], dict[str, int]]] = {}

    def line(self, m: int, template: Record, counters: dict[str, int]) -> str:
        key = id(template)
        cached = self._cache.get(key)
        if cached is None:
            full = line_protocol(
                self.measurement, self.tags, schema.record_fields(template), template.ts
            )
            head, fields, _ = full.split(" ")
            pairs = [p.split("=", 1) for p in fields.split(",")]
            index = {k: n for n, (k, _) in enumerate(pairs)}
            cached = (head, [f"{k}={v}" for k, v in pairs], index)
            self._cache[key] = cached
        head, parts, index = cached
        out = list(parts)
        out[index[schema.F_SEQ]] = f"{schema.F_SEQ}={m}i"
        for c, value in counters.items():
            out[index[c]] = f"{c}={value}i"
        return f"{head} {','.join(out)} {YEAR_START + m * 60}"


def load_influx(store: InfluxStore, templates: list[list[Record]]) -> float:
    """Write the year of records; seconds taken."""
    measurement = schema.measurement_for(60)
    tags = {schema.T_DEVICE: DEVICE, schema.T_SITE: SITE, schema.T_METER: METER}
    maker = _LineMaker(tags, measurement)
    rp = store._rp(measurement)  # the policy write_records would use
    # The fast lines must be the store's own: check one against write_records' builder.
    m, t, c = next(year_records(templates))
    expected = line_protocol(measurement, tags, schema.record_fields(_record(m, t, c)), t.ts)
    if maker.line(m, t, c) != expected:
        raise RuntimeError("fast line protocol differs from the store's")
    started = time.perf_counter()
    # Two requests in flight: while influxd parses one body, this process builds
    # and gzips the next (zlib releases the GIL); the machine's cores both work.
    with ThreadPoolExecutor(max_workers=2) as pool:
        pending: list[Future[None]] = []
        chunk: list[str] = []
        for m, t, c in year_records(templates):
            chunk.append(maker.line(m, t, c))
            if len(chunk) >= INFLUX_CHUNK:
                pending.append(pool.submit(store.http.write, chunk, rp=rp, precision="s"))
                chunk = []
                if len(pending) > 4:  # bounded memory: wait for the oldest
                    pending.pop(0).result()
        pending.append(pool.submit(store.http.write, chunk, rp=rp, precision="s"))
        for future in pending:
            future.result()
    return time.perf_counter() - started


def load_sqlite(store: SqliteStore, templates: list[list[Record]]) -> float:
    """Write the year of records (counter channels only) in big transactions."""
    started = time.perf_counter()
    chunk: list[Record] = []
    for m, t, c in year_records(templates):
        chunk.append(_record(m, t, c, stats=False))
        if len(chunk) >= SQLITE_CHUNK:
            store.write_records(DEVICE, SITE, METER, chunk)
            chunk = []
    store.write_records(DEVICE, SITE, METER, chunk)
    return time.perf_counter() - started


def rollups(templates: list[list[Record]]) -> list[EnergyRow]:
    """The year's meter and site rows, by ingest's rollup functions in one pass.

    The same steps as ``RollupWriter`` (15-minute rows from the import and
    export counters, completeness the lower of the two; hours and days summed
    from them, months from days, Europe/Sofia), on the whole year's readings at
    once instead of recomputing window after window through the store.
    """
    readings: dict[str, list[CounterReading]] = {"e_imp_wh": [], "e_exp_wh": []}
    for m, _, counters in year_records(templates):
        for channel, out in readings.items():
            out.append(CounterReading(YEAR_START + m * 60 + 60, counters[channel]))
    start, end = YEAR_START, YEAR_START + MINUTES * 60
    imp, exp = (
        energy_intervals(readings[c], start, end, DEFAULT_INTERVAL_S, max_wh_per_s=MAX_WH_PER_S)
        for c in ("e_imp_wh", "e_exp_wh")
    )
    rows: list[EnergyRow] = []
    # One meter on the site: the site's rows equal the meter's (sum of one,
    # completeness the minimum of one).
    for key in (EnergyKey("meter", DEVICE), EnergyKey("site", SITE)):
        quarter = [
            EnergyRow(key, "15min", i.start, i.end, i.wh, e.wh, min(i.completeness, e.completeness))
            for i, e in zip(imp, exp, strict=True)
        ]
        rows += quarter
        days: list[EnergyRow] = []
        for unit in ("hour", "day"):
            summed = _sum(key, quarter, unit)
            rows += summed
            days = summed
        rows += _sum(key, days, "month")
    return rows


def _sum(key: EnergyKey, rows: list[EnergyRow], unit: BucketUnit) -> list[EnergyRow]:
    """Local buckets of ``rows`` (as ``RollupWriter._sum``)."""
    imp = local_buckets(
        [EnergyInterval(r.start, r.end, r.import_wh, r.completeness) for r in rows], unit, TZ
    )
    exp = local_buckets(
        [EnergyInterval(r.start, r.end, r.export_wh, r.completeness) for r in rows], unit, TZ
    )
    return [
        EnergyRow(key, unit, b.start, b.end, b.wh, e.wh, b.completeness)
        for b, e in zip(imp, exp, strict=True)
    ]


def all_energy(store: TimeSeriesStore) -> list[EnergyRow]:
    rows: list[EnergyRow] = []
    for key in (EnergyKey("meter", DEVICE), EnergyKey("site", SITE)):
        for unit in ENERGY_UNITS:
            rows += store.energy(key, unit, YEAR_START - 40 * 86400, YEAR_START + 400 * 86400)
    return rows


def _views() -> dict[str, Callable[[random.Random], tuple[str, int, int]]]:
    """The dashboard's views: (unit, start, end) of a random local day/month/year."""
    key_year = (YEAR_START, bucket_bounds(YEAR_START + MINUTES * 60 - 1, "month", TZ)[1])

    def day(rng: random.Random) -> tuple[str, int, int]:
        lo, hi = bucket_bounds(YEAR_START + rng.randrange(MINUTES) * 60, "day", TZ)
        return "15min", lo, hi

    def month(rng: random.Random) -> tuple[str, int, int]:
        lo, hi = bucket_bounds(YEAR_START + rng.randrange(MINUTES) * 60, "month", TZ)
        return "day", lo, hi

    def year(rng: random.Random) -> tuple[str, int, int]:
        return "month", *key_year

    return {"day of 15-min": day, "month of days": month, "year of months": year}


def time_queries(name: str, store: TimeSeriesStore) -> dict[str, float]:
    """p50/p95 per view, in ms; prints them."""
    key = EnergyKey("site", SITE)
    out: dict[str, float] = {}
    expected = {"day of 15-min": (92, 100), "month of days": (28, 31), "year of months": (12, 12)}
    for view, pick in _views().items():
        rng = random.Random(5)
        samples = []
        sizes = set()
        for _ in range(REPETITIONS):
            unit, lo, hi = pick(rng)
            started = time.perf_counter()
            rows = store.energy(key, unit, lo, hi)  # type: ignore[arg-type]
            samples.append((time.perf_counter() - started) * 1000)
            sizes.add(len(rows))
        low, high = expected[view]
        if not all(low <= n <= high for n in sizes):
            raise RuntimeError(f"{name} {view}: unexpected row counts {sorted(sizes)}")
        p50 = statistics.median(samples)
        p95 = statistics.quantiles(samples, n=20)[18]
        print(
            f"  {name:8s} {view:16s} p50 {p50:6.1f} ms  p95 {p95:6.1f} ms "
            f"(rows {min(sizes)}..{max(sizes)}, {REPETITIONS} runs; target p95 < "
            f"{TARGET_P95_MS:.0f} ms)"
        )
        out[view] = p95
    return out


def run() -> dict[str, float]:
    print(f"== dashboard queries on a year of one site ({MINUTES} 1-minute records + rollups) ==")
    started = time.perf_counter()
    templates = _templates()
    print(f"  templates (4 weeks of the load model): {time.perf_counter() - started:.1f} s")
    with tempfile.TemporaryDirectory(prefix="myenergy-bench-queries-") as tmp:
        work = Path(tmp)
        started = time.perf_counter()
        energy = rollups(templates)
        seconds = time.perf_counter() - started
        print(f"  rollups by ingest.rollup ({len(energy)} rows) in {seconds:.1f} s")
        sqlite = SqliteStore(work / "year.sqlite3")
        sqlite.init()
        with influx_server(work) as server:
            influx = InfluxStore(
                InfluxConfig(url=server.url, database="year", max_batch_bytes=16_000_000)
            )
            influx.init()
            # SQLite loads beside InfluxDB: most of InfluxDB's load is influxd's
            # own work, in its own process.
            with ThreadPoolExecutor(max_workers=1) as pool:
                sqlite_load = pool.submit(load_sqlite, sqlite, templates)
                seconds = load_influx(influx, templates)
                print(
                    f"  InfluxDB: year of records loaded in {seconds:.1f} s "
                    f"({MINUTES / seconds:.0f} records/s)"
                )
                seconds = sqlite_load.result()
                print(f"  SQLite: year of records (counters only) loaded in {seconds:.1f} s")
            started = time.perf_counter()
            influx.write_energy(energy)
            sqlite.write_energy(energy)
            print(f"  rollup rows written to both in {time.perf_counter() - started:.1f} s")
            p95_influx = time_queries("InfluxDB", influx)
            influx.close()
        p95_sqlite = time_queries("SQLite", sqlite)
        sqlite.close()
    return {
        "query_p95_influx_ms": max(p95_influx.values()),
        "query_p95_sqlite_ms": max(p95_sqlite.values()),
    }


if __name__ == "__main__":
    configure_logging("WARNING", "console", stream=sys.stderr)
    run()
