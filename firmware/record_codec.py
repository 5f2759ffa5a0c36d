"""Compact encoding of one Record for the flash store (firmware/store.py).

What is stored is exactly what the wire keeps: every value is quantised to its
channel's wire resolution (``protocol.quant``: 0.1 V, 0.01 A, 1 W, 0.001 ...)
and kept as an integer number of steps. The uplink quantises again when it
encodes a batch, and quantising a value that already is a whole number of steps
gives the same steps back, so nothing the cloud would receive is lost. Float32
would cost 4 bytes a value and still round (an ESP32 build has single-precision
floats); steps as varints cost 1-3 bytes and round-trip exactly.

The store keeps ``seq`` and ``ts`` in its entry header (it needs them without
decoding), so the payload holds the rest, little-endian varints
(``protocol.varint``)::

    uvarint span          uvarint period_s      uvarint clock
    uvarint samples       uvarint expected
    uvarint R             runs of channel codes present (stats and counters
    R x (uvarint gap, uvarint count - 1)      share one code space), ascending:
                          a run starts ``gap`` codes after the previous run's end
    per code, ascending:
      instant channel     svarint mean, svarint mean - min, svarint max - mean
      counter channel     svarint value

A household SDM630 record (23 instant channels, 10 registers) takes about 180
bytes here (bench/firmware_records.py measures it), against ~680 in the edge
agent's SQLite blob (float64 values, one code byte each).
"""

from protocol import channels
from protocol.errors import DecodeError
from protocol.quant import to_float
from protocol.records import Record
from protocol.varint import Reader, put_svarint, put_uvarint

try:
    from typing import Any
except ImportError:
    pass


def encode(record: Record) -> bytearray:
    """The payload for ``record`` (its seq and ts are not included).

    ValueError (from protocol.records) for anything the wire could not carry:
    such a record, stored, would block the uplink forever.
    """
    stats, counters = record.quantised()
    buf = bytearray()
    put_uvarint(buf, record.span)
    put_uvarint(buf, record.period_s)
    put_uvarint(buf, record.clock)
    put_uvarint(buf, record.samples)
    put_uvarint(buf, record.expected)
    values = {}  # type: dict[int, tuple[int, int, int] | int]  # code -> steps
    for name, triple in stats.items():
        values[channels.get(name).code] = triple
    for name, value in counters.items():
        values[channels.get(name).code] = value
    codes = sorted(values)
    # Runs of consecutive codes: a meter's channels come in families (u_l1..l3,
    # p_l1..total, the ten registers), so 33 codes fit in 8 runs, 17 bytes.
    runs = []  # type: list[list[int]]
    for code in codes:
        if runs and runs[-1][0] + runs[-1][1] == code:
            runs[-1][1] += 1
        else:
            runs.append([code, 1])
    put_uvarint(buf, len(runs))
    end = 0
    for start, count in runs:
        put_uvarint(buf, start - end)
        put_uvarint(buf, count - 1)
        end = start + count
    for code in codes:
        v = values[code]
        if isinstance(v, tuple):
            mean, lo, hi = v
            put_svarint(buf, mean)
            put_svarint(buf, mean - lo)
            put_svarint(buf, hi - mean)
        else:
            put_svarint(buf, v)
    return buf


def span_of(payload: "Any") -> int:
    """The record's span, read from the start of its payload (no full decode)."""
    return Reader(payload).uvarint()


def head(payload: "Any") -> tuple[int, int, int]:
    """(span, period_s, clock) from the start of a payload."""
    r = Reader(payload)
    return r.uvarint(), r.uvarint(), r.uvarint()


def decode(payload: "Any", seq: int, ts: int) -> Record:
    """The Record stored as ``payload`` under ``seq``/``ts``; DecodeError if malformed."""
    r = Reader(payload)
    span = r.uvarint()
    period_s = r.uvarint()
    clock = r.uvarint()
    samples = r.uvarint()
    expected = r.uvarint()
    codes = []
    end = 0
    for _ in range(r.uvarint()):
        start = end + r.uvarint()
        count = r.uvarint() + 1
        if start + count > 256:
            raise DecodeError("channel run beyond code 255")
        for code in range(start, start + count):
            codes.append(code)
        end = start + count
    stats = {}
    counters = {}
    for code in codes:
        try:
            ch = channels.by_code(code)
        except KeyError:
            raise DecodeError("unknown channel code %d" % code) from None
        if ch.kind == channels.INSTANT:
            mean = r.svarint()
            lo = mean - r.svarint()
            hi = mean + r.svarint()
            name = ch.name
            stats[name] = (to_float(name, mean), to_float(name, lo), to_float(name, hi))
        else:
            counters[ch.name] = r.svarint()
    r.expect_end()
    return Record(seq, ts, period_s, clock, samples, expected, span, stats, counters)
