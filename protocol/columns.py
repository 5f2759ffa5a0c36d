"""Packed integer columns and the channel table: how every payload value travels.

A column is a list of integers whose count both sides already know (from the
record count or a presence bitmap). It is described by a header in the byte
directory and its values sit in the shared bit stream:

    header byte = mode << 6 | k
    mode 0 ZIGZAG  values zigzag-mapped (0,-1,1,-2 -> 0,1,2,3), Rice(k) each
    mode 1 OFFSET  svarint base follows the header; value - base, Rice(k) each
    mode 2 CONST   svarint value follows the header; k = 0; no bits at all
    mode 3 PACKED  svarint base follows the header; value - base in exactly k
                   bits (1 <= k <= 63)

The encoder tries the modes and picks the k that minimises the bits, so a
column of identical values costs two bytes whatever its length, a column of
small signed deltas costs ~k+1 bits a value, a column of positive spreads
(max - mean) does not pay the zigzag sign bit, and an evenly spread one is
packed at its bit width. A column of zero values has no header at all. All
choices are integer arithmetic with fixed tie-breaks, so CPython and
MicroPython produce the same bytes.
"""

from protocol import channels
from protocol.bits import BitReader, BitWriter, bit_length, rice_cost
from protocol.errors import DecodeError
from protocol.varint import Reader, put_svarint, put_uvarint, unzigzag, zigzag

ZIGZAG = 0
OFFSET = 1
CONST = 2
PACKED = 3
MAX_K = 63


def _best_k(us: list[int]) -> tuple[int, int]:
    """(bits, k) minimising the Rice cost of the unsigned values ``us``."""
    # The cost is unimodal in k; start near log2 of the mean and walk downhill.
    mean = sum(us) // len(us)
    k = max(0, min(MAX_K, bit_length(mean) - 1))
    bits = sum(rice_cost(u, k) for u in us)
    while k > 0:
        lower = sum(rice_cost(u, k - 1) for u in us)
        if lower > bits:
            break
        k -= 1
        bits = lower
    while k < MAX_K:
        higher = sum(rice_cost(u, k + 1) for u in us)
        if higher >= bits:
            break
        k += 1
        bits = higher
    return bits, k


def _svarint_bits(n: int) -> int:
    z = zigzag(n)
    nbytes = 1
    while z > 0x7F:
        z >>= 7
        nbytes += 1
    return 8 * nbytes


def plan(values: list[int]) -> tuple[int, int, int]:
    """(mode, k, base) for the cheapest encoding of ``values`` (non-empty)."""
    first = values[0]
    if all(v == first for v in values):
        return CONST, 0, first
    zz_bits, zz_k = _best_k([zigzag(v) for v in values])
    base = min(values)
    offsets = [v - base for v in values]
    off_bits, off_k = _best_k(offsets)
    width = bit_length(max(offsets))
    base_bits = _svarint_bits(base)
    best = (zz_bits, ZIGZAG, zz_k, 0)
    if off_bits + base_bits < best[0]:
        best = (off_bits + base_bits, OFFSET, off_k, base)
    if width <= MAX_K and width * len(values) + base_bits < best[0]:
        best = (width * len(values) + base_bits, PACKED, width, base)
    return best[1], best[2], best[3]


def put_header(buf: bytearray, column_plan: tuple[int, int, int]) -> None:
    """Append the column's header (and base) to the byte directory."""
    mode, k, base = column_plan
    buf.append(mode << 6 | k)
    if mode != ZIGZAG:
        put_svarint(buf, base)


def put_values(bw: BitWriter, values: list[int], column_plan: tuple[int, int, int]) -> None:
    """Append the column's values to the bit stream."""
    mode, k, base = column_plan
    if mode == ZIGZAG:
        for v in values:
            bw.rice(zigzag(v), k)
    elif mode == OFFSET:
        for v in values:
            bw.rice(v - base, k)
    elif mode == PACKED:
        for v in values:
            bw.write(v - base, k)


def read_header(reader: Reader) -> tuple[int, int, int]:
    """A column header from the byte directory."""
    h = reader.u8()
    mode = h >> 6
    k = h & 0x3F
    if mode == ZIGZAG:
        return mode, k, 0
    if mode == CONST and k:
        raise DecodeError("constant column with k=%d" % k)
    if mode == PACKED and not k:
        raise DecodeError("packed column of width 0")
    return mode, k, reader.svarint()


def read_values(br: BitReader, n: int, column_plan: tuple[int, int, int]) -> list[int]:
    """``n`` values of a column from the bit stream."""
    mode, k, base = column_plan
    if mode == CONST:
        return [base] * n
    if mode == ZIGZAG:
        return [unzigzag(br.rice(k)) for _ in range(n)]
    if mode == PACKED:
        return [base + br.read(k) for _ in range(n)]
    return [base + br.rice(k) for _ in range(n)]


class ColumnWriter:
    """Collects columns: headers go to the byte directory, values to one bit stream."""

    def __init__(self, directory: bytearray) -> None:
        self.directory = directory
        self.bits = BitWriter()

    def add(self, values: list[int]) -> None:
        """Add one column (nothing at all for an empty one)."""
        if not values:
            return
        p = plan(values)
        put_header(self.directory, p)
        put_values(self.bits, values, p)


class ColumnReader:
    """Reads columns announced in the directory once the bit stream's start is known.

    Decoding goes in two passes because the bit stream follows the whole
    directory: ``header(n)`` records each column's header while the directory is
    parsed; ``values()`` then reads every announced column from the bit stream.
    """

    def __init__(self, reader: Reader) -> None:
        self.reader = reader
        self.plans = []  # type: list[tuple[int, int, tuple[int, int, int]]]

    def header(self, n: int) -> int:
        """Read the header of a column of ``n`` values; returns its index for values()."""
        index = len(self.plans)
        p = read_header(self.reader) if n else (CONST, 0, 0)
        self.plans.append((index, n, p))
        return index

    def values(self) -> list[list[int]]:
        """All announced columns, in order; consumes the rest of the payload."""
        br = BitReader(self.reader.data, self.reader.pos)
        out = [read_values(br, n, p) for _, n, p in self.plans]
        self.reader.pos = br.finish()
        self.reader.expect_end()
        return out


def put_presence(buf: bytearray, n: int, channel_rows: list[list[int]]) -> None:
    """Append the presence section for channels present in ``channel_rows`` of ``n`` rows.

    One byte 0 when every channel is in every row (the usual case: no bitmaps at
    all), else byte 1 and one LSB-first bitmap of ceil(n/8) bytes per channel.
    """
    if all(len(rows) == n for rows in channel_rows):
        buf.append(0)
        return
    buf.append(1)
    for rows in channel_rows:
        bitmap = bytearray((n + 7) // 8)
        for j in rows:
            bitmap[j >> 3] |= 1 << (j & 7)
        buf.extend(bitmap)


def read_presence(reader: Reader, n: int, n_channels: int) -> list[list[int]]:
    """Rows each of ``n_channels`` channels is present in; inverse of put_presence()."""
    mode = reader.u8()
    if mode == 0:
        return [list(range(n)) for _ in range(n_channels)]
    if mode != 1:
        raise DecodeError("bad presence mode %d" % mode)
    out = []
    for _ in range(n_channels):
        bitmap = reader.take((n + 7) // 8)
        rows = [j for j in range(n) if bitmap[j >> 3] >> (j & 7) & 1]
        if n & 7 and bitmap[-1] >> (n & 7):
            raise DecodeError("presence bitmap has bits beyond the row count")
        if not rows:
            raise DecodeError("channel listed but in no row")
        out.append(rows)
    return out


def put_channel_table(
    buf: bytearray, n: int, chans: list[channels.Channel], rows: list[list[int]]
) -> None:
    """Append the channel table: count, codes (ascending), presence of each in ``n`` rows."""
    put_uvarint(buf, len(chans))
    for ch in chans:
        buf.append(ch.code)
    put_presence(buf, n, rows)


def read_channel_table(r: Reader, n: int) -> list[tuple[channels.Channel, list[int]]]:
    """Channel count, codes (strictly ascending, all known) and presence; DecodeError if bad."""
    n_channels = r.uvarint()
    if n_channels > len(channels.NAMES):
        raise DecodeError("%d channels, the vocabulary has %d" % (n_channels, len(channels.NAMES)))
    chans = []
    last_code = -1
    for _ in range(n_channels):
        code = r.u8()
        if code <= last_code:
            raise DecodeError("channel codes not in ascending order at code %d" % code)
        last_code = code
        try:
            chans.append(channels.by_code(code))
        except KeyError:
            raise DecodeError("unknown channel code %d" % code) from None
    rows = read_presence(r, n, n_channels)
    # No zip(strict=...) on MicroPython; the lengths are equal by construction.
    return [(chans[i], rows[i]) for i in range(n_channels)]
