"""On-disk layout of the record queue: SQLite schema and the record payload blob.

Kept apart from the queue's logic so a reader can see the whole file format on one
screen. Changing either the schema or the blob is a format change: bump
:data:`SCHEMA_VERSION` / :data:`PAYLOAD_VERSION` and keep reading the old one.

Payload blob (little-endian), everything of a record that is not a column::

    u8  payload version (1)
    u8  clock flag          u32 samples          u32 expected
    u8  n_stats             u8  n_counters
    n_stats    x (u8 channel code, f64 mean, f64 min, f64 max)
    n_counters x (u8 channel code, i64 value)

Channels are stored by their protocol v1 wire code (``protocol.channels``), which
never changes meaning, and values at full float64 precision: rounding to the
wire resolution is the codec's job, at send time, once.
"""

from __future__ import annotations

import struct

from protocol import channels
from protocol.codec import Record

__all__ = [
    "DDL",
    "PAYLOAD_VERSION",
    "SCHEMA_VERSION",
    "decode_payload",
    "encode_payload",
    "record_from_row",
]

SCHEMA_VERSION = 1
PAYLOAD_VERSION = 1

# meta: small named integers that must survive restarts, above all next_seq,
# which is never lowered, so a seq is never reused even after its row is acked.
# records: seq is the rowid (cheap ordered scans); ts is indexed for the
# coarsener's "is this bucket entirely in this group" check.
DDL = (
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID",
    """CREATE TABLE IF NOT EXISTS records (
        seq INTEGER PRIMARY KEY,
        ts INTEGER NOT NULL,
        period_s INTEGER NOT NULL,
        span INTEGER NOT NULL,
        coarsened INTEGER NOT NULL,
        payload BLOB NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS records_ts ON records (ts)",
)

META_DEFAULTS = {
    "schema_version": SCHEMA_VERSION,
    "next_seq": 1,
    "dropped_records": 0,  # 1-minute records lost to the size limit, ever (sum of spans)
}

_HEAD = struct.Struct("<BBIIBB")
_STAT = struct.Struct("<Bddd")
_COUNTER = struct.Struct("<Bq")


def encode_payload(record: Record) -> bytes:
    """The blob stored for ``record`` (see the module docstring)."""
    parts = [
        _HEAD.pack(
            PAYLOAD_VERSION,
            record.clock,
            record.samples,
            record.expected,
            len(record.stats),
            len(record.counters),
        )
    ]
    for name, (mean, lo, hi) in record.stats.items():
        parts.append(_STAT.pack(channels.get(name).code, mean, lo, hi))
    for name, value in record.counters.items():
        parts.append(_COUNTER.pack(channels.get(name).code, int(value)))
    return b"".join(parts)


def decode_payload(
    blob: bytes,
) -> tuple[int, int, int, dict[str, tuple[float, float, float]], dict[str, int]]:
    """(clock, samples, expected, stats, counters) from a blob; ValueError if malformed."""
    try:
        version, clock, samples, expected, n_stats, n_counters = _HEAD.unpack_from(blob, 0)
        if version != PAYLOAD_VERSION:
            raise ValueError(f"unknown payload version {version}")
        offset = _HEAD.size
        stats = {}
        for _ in range(n_stats):
            code, mean, lo, hi = _STAT.unpack_from(blob, offset)
            stats[channels.by_code(code).name] = (mean, lo, hi)
            offset += _STAT.size
        counters = {}
        for _ in range(n_counters):
            code, value = _COUNTER.unpack_from(blob, offset)
            counters[channels.by_code(code).name] = value
            offset += _COUNTER.size
    except (struct.error, KeyError) as exc:
        raise ValueError(f"malformed record payload: {exc}") from None
    if offset != len(blob):
        raise ValueError("malformed record payload: trailing bytes")
    return clock, samples, expected, stats, counters


def record_from_row(seq: int, ts: int, period_s: int, span: int, payload: bytes) -> Record:
    clock, samples, expected, stats, counters = decode_payload(payload)
    return Record(seq, ts, period_s, clock, samples, expected, span, stats, counters)
