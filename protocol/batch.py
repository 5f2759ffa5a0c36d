"""Binary record batches (topic ``myenergy/v1/<dev>/up``): encode_batch / decode_batch.

Layout (docs/protocol.md has it bit by bit, with a worked example):

    frame     "MB", version 1, flags (frame.py)
    body      device id, uvarint N (records), uvarint first seq, uvarint first ts
              bit stream: the record columns (period, clock, polls, span, gaps);
                  the channel set; then channel by channel, in predict.ORDER,
                  its first residual and its value columns

The body is column-oriented: all N records' values of one quantity sit
together, so each column gets its own Rice parameter fitted to its own spread
(columns.py). Values travel as residuals against predictions (predict.py):
the meter derives most channels from a few measured ones, and the rules redo
that arithmetic, so a derived channel costs about a bit a value. A batch refers
to nothing outside itself (delivery is at least once), so the first record of a
channel is sent as a residual against the same record's sources (or, for a
measured channel, absolutely). ~33 bytes per SDM630 minute record at 15 records
a batch (~29 at 30), before any zlib; zlib is applied on top only when it
makes the payload smaller (it practically never does: the bit stream is dense).
"""

from protocol import channels, predict
from protocol.bits import BitReader, BitWriter
from protocol.columns import (
    column_bits,
    read_channel_set,
    read_column,
    read_presence,
    write_channel_set,
    write_column,
    write_presence,
)
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
from protocol.records import PERIOD_RAW_S, Batch, Record
from protocol.varint import Reader, put_uvarint, unzigzag, zigzag

# One day of 1-minute records. Catch-up sends several batches rather than one
# huge one; the cap keeps a tiny hostile payload from costing the cloud much CPU.
MAX_BATCH_RECORDS = 1440

# A register's step is 10**e (e.g. 10 Wh for a meter counting 0.01 kWh).
MAX_STEP_EXPONENT = 18


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
    bw = BitWriter()
    # Record columns, against the usual values (1-minute records of one poll a
    # second, consecutive seqs and times): a usual batch spends 2 bits on each.
    write_column(bw, [r.period_s - PERIOD_RAW_S for r in records])
    write_column(bw, [r.clock for r in records])
    write_column(bw, [r.expected - r.period_s for r in records])
    write_column(bw, [r.expected - r.samples for r in records])
    write_column(bw, [r.span - 1 for r in records])
    write_column(
        bw, [records[j].seq - records[j - 1].seq - records[j - 1].span for j in range(1, n)]
    )
    write_column(
        bw, [records[j].ts - records[j - 1].ts - records[j - 1].period_s for j in range(1, n)]
    )

    rows = {}  # type: dict[str, list[int]]
    for j in range(n):
        for name in stats[j]:
            rows.setdefault(name, []).append(j)
        for name in counters[j]:
            rows.setdefault(name, []).append(j)
    write_channel_set(bw, [channels.get(name) for name in rows])
    sparse = False
    for present in rows.values():
        if len(present) != n:
            sparse = True
    bw.write(1 if sparse else 0, 1)

    # The encoder predicts from exactly what the decoder will know at that point:
    # the channels earlier in predict.ORDER.
    known = [{} for _ in range(n)]  # type: list[dict[str, tuple[int, int, int]]]
    ends = [r.ts + r.period_s for r in records]
    for name in predict.ORDER:
        if name not in rows:
            continue
        present = rows[name]
        if sparse:
            write_presence(bw, n, present)
        if channels.get(name).kind == channels.INSTANT:
            _put_instant(bw, name, [(stats[j][name], known[j]) for j in present])
        else:
            values = [counters[j][name] for j in present]
            e = _step_exponent(values)
            step = 10**e
            bw.gamma(e)
            reg = predict.Register(name, step)
            residuals = []
            for j in present:
                residuals.append((counters[j][name] - reg.predict(known[j], ends[j])) // step)
                reg.update(counters[j][name], ends[j])
            bw.number(zigzag(residuals[0]))
            write_column(bw, residuals[1:])
    body.extend(bw.finish())
    return pack(MAGIC_BATCH, FLAG_HISTORICAL if batch.historical else 0, bytes(body), compress)


def _put_instant(
    bw: BitWriter,
    name: str,
    series: list[tuple[tuple[int, int, int], dict[str, tuple[int, int, int]]]],
) -> None:
    """Append an instant channel: first mean residual, [follow bit], means, spreads.

    ``series``: (the channel's (mean, min, max), the record's stats known so far)
    for each record that has the channel; the known stats get the channel added.
    """
    sibling = name in predict.SIBLING
    plain = []
    follow = []
    lows = []
    highs = []
    prev = None  # type: dict[str, tuple[int, int, int]] | None
    for triple, row in series:
        m, lo, hi = triple
        plain.append(m - predict.mean(name, prev, row))
        if sibling:
            follow.append(m - predict.mean(name, prev, row, True))
        p_lo, p_hi = predict.spread(name, m, prev, row)
        lows.append(m - lo - p_lo)
        highs.append(hi - m - p_hi)
        row[name] = triple
        prev = row
    bw.number(zigzag(plain[0]))
    means = plain
    if sibling:
        # the encoder's choice for the batch: plain deltas, or following the sibling
        chosen = column_bits(follow[1:]) < column_bits(plain[1:])
        bw.write(1 if chosen else 0, 1)
        if chosen:
            means = follow
    write_column(bw, means[1:])
    write_column(bw, lows + highs)


def _step_exponent(values: list[int]) -> int:
    """The largest e <= MAX_STEP_EXPONENT with 10**e dividing every value (0 if all are 0)."""
    e = 0
    step = 10
    nonzero = False
    for v in values:
        if v:
            nonzero = True
    if not nonzero:
        return 0
    while e < MAX_STEP_EXPONENT:
        for v in values:
            if v % step:
                return e
        e += 1
        step *= 10
    return e


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
    br = BitReader(body, r.pos)
    period = [PERIOD_RAW_S + v for v in read_column(br, n)]
    clock = read_column(br, n)
    expected = read_column(br, n)
    missing = read_column(br, n)
    span = [1 + v for v in read_column(br, n)]
    seq_res = read_column(br, n - 1)
    ts_res = read_column(br, n - 1)
    seqs = [seq0]
    tss = [ts0]
    for j in range(1, n):
        seqs.append(seqs[j - 1] + span[j - 1] + seq_res[j - 1])
        tss.append(tss[j - 1] + period[j - 1] + ts_res[j - 1])
    ends = [tss[j] + period[j] for j in range(n)]

    names = [ch.name for ch in read_channel_set(br)]
    sparse = br.read(1)
    stats = [{} for _ in range(n)]  # type: list[dict[str, tuple[int, int, int]]]
    counters = [{} for _ in range(n)]  # type: list[dict[str, int]]
    for name in sorted(names, key=lambda nm: predict.RANK[nm]):
        present = read_presence(br, n) if sparse else list(range(n))
        k = len(present)
        if channels.get(name).kind == channels.INSTANT:
            first = unzigzag(br.number())
            follow = name in predict.SIBLING and br.read(1) == 1
            means = [first] + read_column(br, k - 1)
            spreads = read_column(br, 2 * k)
            prev = None  # type: dict[str, tuple[int, int, int]] | None
            for i, j in enumerate(present):
                row = stats[j]
                m = means[i] + predict.mean(name, prev, row, follow)
                p_lo, p_hi = predict.spread(name, m, prev, row)
                row[name] = (m, m - spreads[i] - p_lo, m + spreads[k + i] + p_hi)
                prev = row
        else:
            e = br.gamma(MAX_STEP_EXPONENT)
            step = 10**e
            residuals = [unzigzag(br.number())] + read_column(br, k - 1)
            reg = predict.Register(name, step)
            for i, j in enumerate(present):
                value = residuals[i] * step + reg.predict(stats[j], ends[j])
                counters[j][name] = value
                reg.update(value, ends[j])
    if br.finish() != len(body):
        raise DecodeError("%d unexpected trailing bytes" % (len(body) - br.finish()))

    records = []
    for j in range(n):
        rec = Record(
            seqs[j],
            tss[j],
            period[j],
            clock[j],
            period[j] + expected[j] - missing[j],
            period[j] + expected[j],
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
