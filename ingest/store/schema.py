"""The time-series schema shared by both stores (docs/storage.md).

One point per record: measurement by record kind, low-cardinality identity as
tags, every value as a field of the same point, the record's period start as
the point's time. A redelivered record has the same measurement, tags and time
and therefore overwrites itself. SQLite mirrors the same names (field names are
its value keys), so the conversion below is the single source of both.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

from ingest.store.rows import StatusRow
from protocol import channels
from protocol.records import PERIOD_COARSE_S, PERIOD_RAW_S, Record

# -- measurements -------------------------------------------------------------
M_RAW = "rec_1m"  # raw 1-minute records
M_COARSE = "rec_15m"  # records the device coarsened to 15 minutes
M_LIVE = "live"  # live samples (seconds apart, short retention)
M_ENERGY = "energy"  # rollup rows (15-minute intervals, local hour/day/month buckets)
M_STATUS = "status"  # the devices' status messages (state, queue, signal, clock, version)

RECORD_MEASUREMENTS: dict[int, str] = {PERIOD_RAW_S: M_RAW, PERIOD_COARSE_S: M_COARSE}
PERIODS: dict[str, int] = {m: p for p, m in RECORD_MEASUREMENTS.items()}

# -- tags (few distinct values each; never values, never timestamps) ------------
T_DEVICE = "device_id"
T_SITE = "site_id"
T_METER = "meter"  # meter model, e.g. "em340"
T_KEY_KIND = "kind"  # energy: meter | site
T_KEY_ID = "key"  # energy: device id or site id
T_UNIT = "unit"  # energy: 15min | hour | day | month

# -- record metadata fields (integers) -----------------------------------------
F_SEQ = "seq"
F_SPAN = "span"
F_CLOCK = "clock"
F_SAMPLES = "samples"
F_EXPECTED = "expected"
META_FIELDS = (F_SEQ, F_SPAN, F_CLOCK, F_SAMPLES, F_EXPECTED)

# -- energy fields --------------------------------------------------------------
F_IMPORT = "import_wh"  # integer
F_EXPORT = "export_wh"  # integer
F_COMPLETENESS = "completeness"  # float 0..1
F_END = "end_s"  # integer unix seconds: local buckets have no fixed length
ENERGY_FIELDS = (F_IMPORT, F_EXPORT, F_COMPLETENESS, F_END)

STAT_SUFFIXES = ("mean", "min", "max")

FieldValue = int | float

# -- status fields: the keys of a device status message the portal shows ----------
# Types are fixed here (InfluxDB fixes a field's type per shard on first write);
# any other key of the message is not stored.
F_STATE = "state"
STATUS_STRINGS = (F_STATE, "clock", "version")
STATUS_INTEGERS = (
    "queue_depth",
    "signal_dbm",
    "live_until",
    "records_dropped",
    "oldest_unsent_age_s",
)
STATUS_FIELDS = STATUS_STRINGS + STATUS_INTEGERS


def status_fields(status: Mapping[str, object]) -> dict[str, str | int]:
    """The stored fields of a status message: known keys only, typed; a null or
    ill-typed value is left out (the field is then absent, as on the wire)."""
    if not isinstance(status.get(F_STATE), str):
        raise ValueError('a status needs a string "state"')
    fields: dict[str, str | int] = {}
    for name in STATUS_STRINGS:
        value = status.get(name)
        if isinstance(value, str):
            fields[name] = value
    for name in STATUS_INTEGERS:
        value = status.get(name)
        if isinstance(value, bool) or not isinstance(value, int | float):
            continue
        if not math.isfinite(value):
            continue  # protocol.codec refuses NaN/inf already; a store must not choke
        fields[name] = round(value)
    return fields


def measurement_for(period_s: int) -> str:
    """The measurement holding records of ``period_s``; ValueError for any other period."""
    try:
        return RECORD_MEASUREMENTS[period_s]
    except KeyError:
        raise ValueError(
            f"period_s {period_s} has no measurement (stored: {sorted(RECORD_MEASUREMENTS)})"
        ) from None


def channel_fields(name: str) -> tuple[str, ...]:
    """Field names of one channel: mean/min/max of an instant, the channel itself for a counter."""
    channel = channels.get(name)
    if channel.kind == channels.COUNTER:
        return (name,)
    return tuple(f"{name}_{suffix}" for suffix in STAT_SUFFIXES)


def record_fields(record: Record) -> dict[str, FieldValue]:
    """The fields of one record's point.

    Types are forced, never inferred from the caller's values: InfluxDB fixes a
    field's type per shard on first write, so a mean that happens to be the
    Python int 230 must still go out as a float, and counters always as integers.
    """
    record.check()
    fields: dict[str, FieldValue] = {
        F_SEQ: int(record.seq),
        F_SPAN: int(record.span),
        F_CLOCK: int(record.clock),
        F_SAMPLES: int(record.samples),
        F_EXPECTED: int(record.expected),
    }
    for name, (mean, low, high) in record.stats.items():
        fields[f"{name}_mean"] = float(mean)
        fields[f"{name}_min"] = float(low)
        fields[f"{name}_max"] = float(high)
    for name, value in record.counters.items():
        fields[name] = int(value)
    return fields


def selected_fields(wanted: Iterable[str] | None) -> tuple[str, ...] | None:
    """Field names for a channel selection (metadata always included); None = all."""
    if wanted is None:
        return None
    names: list[str] = list(META_FIELDS)
    for name in wanted:
        names.extend(channel_fields(name))
    return tuple(names)


def record_from_fields(ts: int, period_s: int, fields: Mapping[str, object]) -> Record:
    """Rebuild a Record from a point's fields (None values = field absent)."""
    present = {k: v for k, v in fields.items() if v is not None}
    stats: dict[str, tuple[float, float, float]] = {}
    counters: dict[str, int] = {}
    for key, value in present.items():
        channel = channels.BY_NAME.get(key)
        if channel is not None and channel.kind == channels.COUNTER:
            counters[key] = int(_number(value))
            continue
        base, _, suffix = key.rpartition("_")
        if suffix == "mean" and base in channels.BY_NAME:
            stats[base] = (
                float(_number(value)),
                float(_number(present.get(f"{base}_min", value))),
                float(_number(present.get(f"{base}_max", value))),
            )
    return Record(
        seq=int(_number(present.get(F_SEQ, 0))),
        ts=ts,
        period_s=period_s,
        clock=int(_number(present.get(F_CLOCK, 0))),
        samples=int(_number(present.get(F_SAMPLES, 0))),
        expected=int(_number(present.get(F_EXPECTED, 0))),
        span=int(_number(present.get(F_SPAN, 1))),
        stats=stats,
        counters=counters,
    )


def _number(value: object) -> int | float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"stored field is not a number: {value!r}")
    return value


def status_row(ts: float, values: Mapping[str, object]) -> StatusRow:
    """A StatusRow from stored values (a row or a point; None = field absent)."""

    def text(name: str) -> str | None:
        value = values.get(name)
        return value if isinstance(value, str) else None

    def integer(name: str) -> int | None:
        value = values.get(name)
        if isinstance(value, bool) or not isinstance(value, int | float):
            return None
        return int(value)

    return StatusRow(
        ts=ts,
        state=text(F_STATE) or "",
        queue_depth=integer("queue_depth"),
        signal_dbm=integer("signal_dbm"),
        clock=text("clock"),
        version=text("version"),
        live_until=integer("live_until"),
        records_dropped=integer("records_dropped"),
        oldest_unsent_age_s=integer("oldest_unsent_age_s"),
    )
