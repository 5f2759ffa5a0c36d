"""Binary live samples (topic ``myenergy/v1/<dev>/live``): encode_live / decode_live.

Sent at QoS 0 every second or so while someone watches, so each message is
small and self-contained. Same frame and column machinery as the batches:

    frame     "ML", version 1, flags (only COMPRESSED is allowed; normally 0)
    body      device id
              uvarint N (samples), uvarint first ts_ms
              bit stream: ts deltas column; the channel set and presence as in
                  batches; per channel its first value and a column of deltas

A value is quantised to its channel's resolution and delta-coded against the
same channel's previous sample. Live data carries no min/max and no predictors:
it is a picture of the moment, not the record of the meter (batches are).
"""

from protocol import channels
from protocol.bits import BitReader, BitWriter
from protocol.columns import (
    read_channel_set,
    read_column,
    read_presence,
    write_channel_set,
    write_column,
    write_presence,
)
from protocol.errors import DecodeError
from protocol.frame import MAGIC_LIVE, pack, put_device_id, read_device_id, unpack
from protocol.quant import SCALE, channel_kind, quantise
from protocol.varint import Reader, put_uvarint, unzigzag, zigzag

MAX_LIVE_SAMPLES = 600  # ten minutes at 1 Hz; a message normally holds 1-10
MAX_TS_MS = (1 << 50) - 1


def encode_live(
    device_id: str,
    samples: list[tuple[int, dict[str, float]]],
    compress: bool | None = False,
) -> bytes:
    """Payload of ``samples`` = [(ts_ms, {channel: value})]; ValueError if not encodable.

    Not compressed by default: a few samples are smaller than zlib's own overhead.
    """
    n = len(samples)
    if not 1 <= n <= MAX_LIVE_SAMPLES:
        raise ValueError("live payload holds 1..%d samples, got %d" % (MAX_LIVE_SAMPLES, n))
    stamps = []
    values = []  # type: list[dict[str, int]]
    for sample in samples:
        if not isinstance(sample, (tuple, list)) or len(sample) != 2:
            raise ValueError("a live sample is (ts_ms, {channel: value}), got %r" % (sample,))
        ts_ms, readings = sample
        if isinstance(ts_ms, bool) or not isinstance(ts_ms, int) or not 0 <= ts_ms <= MAX_TS_MS:
            raise ValueError("ts_ms must be an integer 0..2**50, got %r" % (ts_ms,))
        if not isinstance(readings, dict):
            raise ValueError("live readings must be a dict, got %r" % (readings,))
        q = {}
        for name, value in readings.items():
            if channel_kind(name) == channels.COUNTER and (
                isinstance(value, bool) or not isinstance(value, int)
            ):
                raise ValueError("counter %s must be an integer, got %r" % (name, value))
            q[name] = quantise(name, value)
        stamps.append(ts_ms)
        values.append(q)

    body = bytearray()
    put_device_id(body, device_id)
    put_uvarint(body, n)
    put_uvarint(body, stamps[0])
    bw = BitWriter()
    write_column(bw, [stamps[j] - stamps[j - 1] for j in range(1, n)])
    names = set()  # type: set[str]
    for q in values:
        names.update(q)
    chans = write_channel_set(bw, [channels.get(nm) for nm in names])
    rows = [[j for j in range(n) if ch.name in values[j]] for ch in chans]
    sparse = False
    for present in rows:
        if len(present) != n:
            sparse = True
    bw.write(1 if sparse else 0, 1)
    for i, ch in enumerate(chans):
        if sparse:
            write_presence(bw, n, rows[i])
        series = [values[j][ch.name] for j in rows[i]]
        bw.number(zigzag(series[0]))
        write_column(bw, [series[i] - series[i - 1] for i in range(1, len(series))])
    body.extend(bw.finish())
    return pack(MAGIC_LIVE, 0, bytes(body), compress)


def decode_live(data: bytes) -> tuple[str, list[tuple[int, dict[str, float]]]]:
    """(device_id, [(ts_ms, {channel: value})]); DecodeError (only) if malformed."""
    try:
        return _decode(data)
    except DecodeError:
        raise
    except Exception as exc:
        raise DecodeError("malformed live payload (%s: %s)" % (type(exc).__name__, exc)) from None


def _decode(data: bytes) -> tuple[str, list[tuple[int, dict[str, float]]]]:
    _, body = unpack(data, MAGIC_LIVE, 0)
    r = Reader(body)
    device_id = read_device_id(r)
    n = r.uvarint()
    if not 1 <= n <= MAX_LIVE_SAMPLES:
        raise DecodeError("sample count %d out of range 1..%d" % (n, MAX_LIVE_SAMPLES))
    ts0 = r.uvarint()
    br = BitReader(body, r.pos)
    stamps = [ts0]
    for d in read_column(br, n - 1):
        stamps.append(stamps[-1] + d)
    out = [(ts, {}) for ts in stamps]  # type: list[tuple[int, dict[str, float]]]
    chans = read_channel_set(br)
    sparse = br.read(1)
    for ch in chans:
        present = read_presence(br, n) if sparse else list(range(n))
        q = unzigzag(br.number())
        deltas = read_column(br, len(present) - 1)
        for i, j in enumerate(present):
            if i:
                q += deltas[i - 1]
            if q >= 1 << 63 or q <= -(1 << 63):
                raise DecodeError("value of %s out of range" % ch.name)
            if ch.kind == channels.COUNTER:
                out[j][1][ch.name] = q
            else:
                out[j][1][ch.name] = q / SCALE[ch.name]
    if br.finish() != len(body):
        raise DecodeError("%d unexpected trailing bytes" % (len(body) - br.finish()))
    for ts in stamps:
        if not 0 <= ts <= MAX_TS_MS:
            raise DecodeError("ts_ms %d out of range" % ts)
    return device_id, out
