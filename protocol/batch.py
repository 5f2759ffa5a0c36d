"""Binary record batches (topic ``myenergy/v1/<dev>/up``): encode_batch / decode_batch.

Layout (docs/protocol.md has it byte by byte, with a worked example):

    frame     "MB", version 1, flags (frame.py)
    body      device id
              uvarint N (records), uvarint first seq, uvarint first ts
              directory: headers of the record columns; the channel table
                  (count, codes, presence), then per channel its anchor and
                  value-column headers
              bit stream: every column's values, in directory order

The body is column-oriented: all N records' values of one quantity sit
together, so each column gets its own Rice parameter fitted to its own spread
(columns.py), and residuals against predictions (predict.py) are small. This
reaches ~33 bytes per realistic SDM630 minute record (30 per batch) before any
zlib, so the budget holds on ports that cannot compress; zlib is applied on top only when it
makes the payload smaller (it rarely does: the bit stream is already dense).
"""

from protocol import channels, predict
from protocol.columns import ColumnReader, ColumnWriter, put_channel_table, read_channel_table
from protocol.errors import DecodeError
from protocol.frame import (
    FLAG_HISTORICAL,
    MAGIC_BATCH,
    pack,
    put_device_id,
    read_device_id,
    unpack,
)
from protocol.quant import SCALE
from protocol.records import Batch, Record
from protocol.varint import Reader, put_svarint, put_uvarint

# One day of 1-minute records. Catch-up sends several batches rather than one
# huge one; the cap keeps a tiny hostile payload from costing the cloud much CPU.
MAX_BATCH_RECORDS = 1440


def encode_batch(batch: Batch, compress: bool | None = None) -> bytes:
    """The uplink payload of ``batch``. ValueError if a record cannot go on the wire.

    ``compress``: None (default) compresses when that makes the payload smaller;
    False never compresses, so the bytes are the same on CPython and MicroPython.
    """
    records = list(batch.records)
    n = len(records)
    if not 1 <= n <= MAX_BATCH_RECORDS:
        raise ValueError("a batch holds 1..%d records, got %d" % (MAX_BATCH_RECORDS, n))
    stats = []
    counters = []
    for r in records:
        s, c = r.quantised()
        stats.append(s)
        counters.append(c)

    body = bytearray()
    put_device_id(body, batch.device_id)
    put_uvarint(body, n)
    put_uvarint(body, records[0].seq)
    put_uvarint(body, records[0].ts)
    cols = ColumnWriter(body)
    # Record columns: gaps in seq and ts show up as non-zero residuals; a batch
    # of consecutive minutes costs a couple of bytes per column, whatever N.
    cols.add([r.period_s for r in records])
    cols.add([r.clock for r in records])
    cols.add([r.expected for r in records])
    cols.add([r.expected - r.samples for r in records])
    cols.add([r.span for r in records])
    cols.add([records[j].seq - records[j - 1].seq - records[j - 1].span for j in range(1, n)])
    cols.add([records[j].ts - records[j - 1].ts - records[j - 1].period_s for j in range(1, n)])

    names = set()  # type: set[str]
    for j in range(n):
        names.update(stats[j])
        names.update(counters[j])
    chans = [channels.by_code(code) for code in sorted(channels.get(nm).code for nm in names)]
    rows = []
    for ch in chans:
        table = stats if ch.kind == channels.INSTANT else counters
        rows.append([j for j in range(n) if ch.name in table[j]])
    put_channel_table(body, n, chans, rows)

    for i, ch in enumerate(chans):
        present = rows[i]
        name = ch.name
        prev = None  # type: int | None
        if ch.kind == channels.INSTANT:
            means = []
            lows = []
            highs = []
            for j in present:
                m, lo, hi = stats[j][name]
                means.append(m - predict.mean(name, prev, stats[j]))
                p_lo, p_hi = predict.spread(name, prev, stats[j])
                lows.append(m - lo - p_lo)
                highs.append(hi - m - p_hi)
                prev = m
            put_svarint(body, means[0])
            cols.add(means[1:])
            cols.add(lows)
            cols.add(highs)
        else:
            values = []
            prev_end = 0
            for j in present:
                v = counters[j][name]
                end = records[j].ts + records[j].period_s
                values.append(v - predict.counter(name, prev, stats[j], end - prev_end))
                prev = v
                prev_end = end
            put_svarint(body, values[0])
            cols.add(values[1:])
    body.extend(cols.bits.finish())
    return pack(MAGIC_BATCH, FLAG_HISTORICAL if batch.historical else 0, bytes(body), compress)


def decode_batch(data: bytes) -> Batch:
    """The Batch in an uplink payload; DecodeError (only) for anything malformed."""
    try:
        return _decode(data)
    except DecodeError:
        raise
    except Exception as exc:
        # Safety net: whatever slipped past the checks is still a bad payload to
        # the caller, never a crash of the ingest worker.
        raise DecodeError("malformed batch (%s: %s)" % (type(exc).__name__, exc)) from None


def _decode(data: bytes) -> Batch:
    flags, body = unpack(data, MAGIC_BATCH, FLAG_HISTORICAL)
    r = Reader(body)
    device_id = read_device_id(r)
    n = r.uvarint()
    if not 1 <= n <= MAX_BATCH_RECORDS:
        raise DecodeError("record count %d out of range 1..%d" % (n, MAX_BATCH_RECORDS))
    seq0 = r.uvarint()
    ts0 = r.uvarint()
    cols = ColumnReader(r)
    meta = [cols.header(n) for _ in range(5)] + [cols.header(n - 1) for _ in range(2)]
    layout = {}  # type: dict[str, tuple[list[int], int, list[int]]]
    for ch, present in read_channel_table(r, n):
        anchor = r.svarint()
        k = len(present)
        if ch.kind == channels.INSTANT:
            idx = [cols.header(k - 1), cols.header(k), cols.header(k)]
        else:
            idx = [cols.header(k - 1)]
        layout[ch.name] = (present, anchor, idx)
    v = cols.values()

    period, clock, expected, missing, span = (v[i] for i in meta[:5])
    seq_res, ts_res = v[meta[5]], v[meta[6]]
    seqs = [seq0]
    tss = [ts0]
    for j in range(1, n):
        seqs.append(seqs[j - 1] + span[j - 1] + seq_res[j - 1])
        tss.append(tss[j - 1] + period[j - 1] + ts_res[j - 1])

    stats = [{} for _ in range(n)]  # type: list[dict[str, tuple[int, int, int]]]
    counters = [{} for _ in range(n)]  # type: list[dict[str, int]]
    for name in predict.ORDER:
        if name not in layout:
            continue
        present, anchor, idx = layout[name]
        prev = None  # type: int | None
        if len(idx) == 3:
            means = [anchor] + v[idx[0]]
            lows, highs = v[idx[1]], v[idx[2]]
            for i, j in enumerate(present):
                m = means[i] + predict.mean(name, prev, stats[j])
                p_lo, p_hi = predict.spread(name, prev, stats[j])
                stats[j][name] = (m, m - lows[i] - p_lo, m + highs[i] + p_hi)
                prev = m
        else:
            values = [anchor] + v[idx[0]]
            prev_end = 0
            for i, j in enumerate(present):
                end = tss[j] + period[j]
                c = values[i] + predict.counter(name, prev, stats[j], end - prev_end)
                counters[j][name] = c
                prev = c
                prev_end = end

    records = []
    for j in range(n):
        rec = Record(
            seqs[j],
            tss[j],
            period[j],
            clock[j],
            expected[j] - missing[j],
            expected[j],
            span[j],
            _to_floats(stats[j]),
            counters[j],
        )
        try:
            rec.check()
        except ValueError as exc:
            raise DecodeError("record %d: %s" % (j, exc)) from None
        records.append(rec)
    return Batch(device_id, records, bool(flags & FLAG_HISTORICAL))


def _to_floats(q: dict[str, tuple[int, int, int]]) -> dict[str, tuple[float, float, float]]:
    out = {}
    for name, (m, lo, hi) in q.items():
        s = SCALE[name]
        out[name] = (m / s, lo / s, hi / s)
    return out
