"""Integer columns and the channel set: how every payload value travels.

A column is a list of integers whose count both sides already know (from the
record count or a presence bitmap). It travels in the bit stream as a header
followed by its values:

    header  2-bit mode, then
    00 ZERO    nothing: every value is 0
    01 SIGNED  k in 4 bits; each value zigzag-mapped (0,-1,1,-2 -> 0,1,2,3), Rice(k)
    10 OFFSET  number(zigzag(base)), k in 4 bits; each value - base, Rice(k)
    11 PACKED  number(zigzag(base)), w in 4 bits; each value - base in exactly w
               bits (w = 0: every value is the base)

The encoder tries the modes and picks the k with the fewest bits (ties: the
order above, then the smaller k), so a column of zeros costs 2 bits whatever its
length, small signed residuals ~k+1 bits a value, a column of positive spreads
does not pay the zigzag sign bit, and an evenly spread one is packed at its bit
width. All choices are integer arithmetic with fixed tie-breaks, so CPython and
MicroPython produce the same bits. A column of length 0 has no header.

The channel set says which channels a payload carries: gamma(B), then B bits,
bit i set when the channel with code WIRE_ORDER[i] is present.
"""

from protocol import channels
from protocol.bits import BitReader, BitWriter, bit_length, number_cost, rice_cost
from protocol.errors import DecodeError
from protocol.varint import unzigzag, zigzag

ZERO = 0
SIGNED = 1
OFFSET = 2
PACKED = 3
K_BITS = 4
MAX_K = (1 << K_BITS) - 1

# Position of each channel code in the channel set bitmap. Frozen: a channel
# added to the vocabulary is appended here (never inserted), so a bitmap means
# the same to every decoder; an older decoder refuses a bit it has no code for.
# fmt: off
WIRE_ORDER = (
    1, 2, 3, 4, 5, 6, 10, 11, 12, 13, 20, 21, 22, 23, 30, 31, 32, 33, 40, 41, 42, 43,
    50, 51, 52, 53, 60, 100, 101, 102, 103, 104, 105, 106, 107, 110, 111,
)
# fmt: on
_POSITION = {}  # type: dict[int, int]
for _i, _code in enumerate(WIRE_ORDER):
    _POSITION[_code] = _i


def _best_k(us: list[int]) -> tuple[int, int]:
    """(bits, k) minimising the Rice cost of the unsigned values ``us``, k <= MAX_K."""
    # The cost is unimodal in k; start near log2 of the mean and walk downhill.
    mean = sum(us) // len(us)
    k = max(0, min(MAX_K, bit_length(mean) - 1))
    bits = 0
    for u in us:
        bits += rice_cost(u, k)
    while k > 0:
        lower = 0
        for u in us:
            lower += rice_cost(u, k - 1)
        if lower > bits:
            break
        k -= 1
        bits = lower
    while k < MAX_K:
        higher = 0
        for u in us:
            higher += rice_cost(u, k + 1)
        if higher >= bits:
            break
        k += 1
        bits = higher
    return bits, k


def _plan(values: list[int]) -> tuple[int, int, int, int]:
    """(bits, mode, k or w, base) of the cheapest encoding of ``values`` (non-empty)."""
    zero = True
    for v in values:
        if v:
            zero = False
            break
    if zero:
        return 2, ZERO, 0, 0
    zz_bits, zz_k = _best_k([zigzag(v) for v in values])
    best = (zz_bits, SIGNED, zz_k, 0)
    base = min(values)
    offsets = [v - base for v in values]
    base_bits = number_cost(zigzag(base))
    off_bits, off_k = _best_k(offsets)
    if off_bits + base_bits < best[0]:
        best = (off_bits + base_bits, OFFSET, off_k, base)
    width = bit_length(max(offsets))
    if width <= MAX_K and width * len(values) + base_bits < best[0]:
        best = (width * len(values) + base_bits, PACKED, width, base)
    return 2 + K_BITS + best[0], best[1], best[2], best[3]


def plan(values: list[int]) -> tuple[int, int, int]:
    """(mode, k or w, base) for the cheapest encoding of ``values`` (non-empty)."""
    _, mode, k, base = _plan(values)
    return mode, k, base


def column_bits(values: list[int]) -> int:
    """Bits write_column() spends on ``values``."""
    return _plan(values)[0] if values else 0


def write_column(bw: BitWriter, values: list[int]) -> None:
    """Append a column (nothing at all for an empty one)."""
    if not values:
        return
    _, mode, k, base = _plan(values)
    bw.write(mode, 2)
    if mode == ZERO:
        return
    if mode != SIGNED:
        bw.number(zigzag(base))
    bw.write(k, K_BITS)
    if mode == SIGNED:
        for v in values:
            bw.rice(zigzag(v), k)
    elif mode == OFFSET:
        for v in values:
            bw.rice(v - base, k)
    else:
        for v in values:
            bw.write(v - base, k)


def read_column(br: BitReader, n: int) -> list[int]:
    """A column of ``n`` values."""
    if not n:
        return []
    mode = br.read(2)
    if mode == ZERO:
        return [0] * n
    base = unzigzag(br.number()) if mode != SIGNED else 0
    k = br.read(K_BITS)
    if mode == SIGNED:
        return [unzigzag(br.rice(k)) for _ in range(n)]
    if mode == OFFSET:
        return [base + br.rice(k) for _ in range(n)]
    return [base + br.read(k) for _ in range(n)]


def write_channel_set(bw: BitWriter, chans: list[channels.Channel]) -> list[channels.Channel]:
    """Append the channel set of ``chans``; they are returned in WIRE_ORDER, the order
    read_channel_set() gives. ValueError for a channel without a wire position."""
    positions = []
    for ch in chans:
        pos = _POSITION.get(ch.code)
        if pos is None:
            raise ValueError("channel %s has no position in columns.WIRE_ORDER" % ch.name)
        positions.append(pos)
    positions.sort()
    size = positions[-1] + 1 if positions else 0
    bw.gamma(size)
    bitmap = 0
    for pos in positions:
        bitmap |= 1 << (size - 1 - pos)
    bw.write(bitmap, size)
    return [channels.BY_CODE[WIRE_ORDER[pos]] for pos in positions]


def read_channel_set(br: BitReader) -> list[channels.Channel]:
    """The channels of a channel set, in WIRE_ORDER; DecodeError for an unknown one."""
    size = br.gamma(255)
    chans = []
    last = -1
    for pos in range(size):
        if br.read(1):
            code = WIRE_ORDER[pos] if pos < len(WIRE_ORDER) else -1
            if code not in channels.BY_CODE:
                raise DecodeError("unknown channel at position %d of the channel set" % pos)
            chans.append(channels.BY_CODE[code])
            last = pos
    if last != size - 1:
        raise DecodeError("channel set longer than its last channel")
    return chans


def write_presence(bw: BitWriter, n: int, rows: list[int]) -> None:
    """Append which of ``n`` records a channel is in: 1, or 0 and an n-bit map (record 0 first)."""
    if len(rows) == n:
        bw.write(1, 1)
        return
    bw.write(0, 1)
    bitmap = 0
    for j in rows:
        bitmap |= 1 << (n - 1 - j)
    bw.write(bitmap, n)


def read_presence(br: BitReader, n: int) -> list[int]:
    """Records a channel is in; inverse of write_presence(). DecodeError for none."""
    if br.read(1):
        return list(range(n))
    bitmap = br.read(n)
    rows = [j for j in range(n) if bitmap >> (n - 1 - j) & 1]
    if not rows:
        raise DecodeError("channel listed but in no record")
    return rows
