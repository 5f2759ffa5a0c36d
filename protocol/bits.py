"""Bit-level writer and reader, and the Rice code with an escape used for value columns.

Bits are packed most significant first; the last byte is padded with zero bits.
The Rice code of an unsigned ``u`` with parameter ``k`` is ``q = u >> k`` in unary
(``q`` one-bits, then a zero) followed by the ``k`` low bits of ``u``. Small
residuals cost ``k + 1`` bits, which is why the codec reaches ~4 bytes less per
value than byte-aligned varints. An outlier (``q >= ESCAPE``) is written as
ESCAPE one-bits, its bit length in 7 bits, then the value itself, so no input
can make a code longer than ~90 bits, and the reader never loops longer than that.
"""

from protocol.errors import DecodeError

ESCAPE = 16
LENGTH_BITS = 7
MAX_VALUE_BITS = 70  # a ten-byte varint's worth: quantised deltas never need more


def bit_length(n: int) -> int:
    """Bits needed for non-negative ``n`` (MicroPython's int has no bit_length())."""
    length = 0
    while n > 0xFF:
        n >>= 8
        length += 8
    while n:
        n >>= 1
        length += 1
    return length


def rice_cost(u: int, k: int) -> int:
    """Bits the Rice code with parameter ``k`` spends on unsigned ``u``."""
    q = u >> k
    if q < ESCAPE:
        return q + 1 + k
    return ESCAPE + LENGTH_BITS + bit_length(u)


class BitWriter:
    """Accumulates bits MSB-first into a bytearray."""

    def __init__(self) -> None:
        self.out = bytearray()
        self._acc = 0
        self._n = 0

    def write(self, value: int, nbits: int) -> None:
        """Append the ``nbits`` low bits of ``value`` (0 <= value < 2**nbits)."""
        if nbits <= 0:
            return
        self._acc = (self._acc << nbits) | value
        self._n += nbits
        while self._n >= 8:
            self._n -= 8
            self.out.append((self._acc >> self._n) & 0xFF)
        self._acc &= (1 << self._n) - 1

    def rice(self, u: int, k: int) -> None:
        """Append unsigned ``u`` in the Rice code with parameter ``k``."""
        q = u >> k
        if q < ESCAPE:
            # q ones then a zero, in one call: (2**(q+1) - 2) is q ones and a zero.
            self.write((1 << (q + 1)) - 2, q + 1)
            self.write(u & ((1 << k) - 1), k)
        else:
            length = bit_length(u)
            if length > MAX_VALUE_BITS:
                raise ValueError("value too large for the bit stream: %d" % u)
            self.write((1 << ESCAPE) - 1, ESCAPE)
            self.write(length, LENGTH_BITS)
            self.write(u, length)

    def finish(self) -> bytes:
        """The bytes written so far, the last one padded with zero bits."""
        if self._n:
            self.out.append((self._acc << (8 - self._n)) & 0xFF)
            self._acc = 0
            self._n = 0
        return bytes(self.out)


class BitReader:
    """Reads what BitWriter wrote; DecodeError past the end of the data."""

    def __init__(self, data: bytes, pos: int = 0) -> None:
        self._data = data
        self._pos = pos  # next byte to load
        self._acc = 0
        self._n = 0

    def read(self, nbits: int) -> int:
        """The next ``nbits`` bits as an unsigned integer."""
        while self._n < nbits:
            if self._pos >= len(self._data):
                raise DecodeError("truncated bit stream")
            self._acc = (self._acc << 8) | self._data[self._pos]
            self._pos += 1
            self._n += 8
        self._n -= nbits
        value = self._acc >> self._n
        self._acc &= (1 << self._n) - 1
        return value

    def rice(self, k: int) -> int:
        """One Rice-coded unsigned value with parameter ``k``."""
        q = 0
        while q < ESCAPE and self.read(1):
            q += 1
        if q < ESCAPE:
            return (q << k) | self.read(k)
        length = self.read(LENGTH_BITS)
        if length == 0 or length > MAX_VALUE_BITS:
            raise DecodeError("bad escape length %d in bit stream" % length)
        return self.read(length)

    def finish(self) -> int:
        """Check the padding is zero bits; return the offset of the first unread byte."""
        if self._acc:
            raise DecodeError("non-zero padding bits")
        return self._pos
