"""Bit-level writer and reader, and the three codes of the bit stream.

Bits are packed most significant first; the last byte is padded with zero bits.

* Rice(k) of an unsigned ``u``: ``q = u >> k`` in unary (``q`` one-bits, then a
  zero) followed by the ``k`` low bits of ``u``. Small residuals cost ``k + 1``
  bits. An outlier (``q >= ESCAPE``) is written as ESCAPE one-bits, its bit
  length in 7 bits, then the value itself, so no input can make a code longer
  than ~90 bits, and the reader never loops longer than that.
* gamma(n) of a small unsigned ``n`` (counts, lengths): Elias gamma of ``n + 1``,
  i.e. ``L - 1`` zero-bits then the ``L`` bits of ``n + 1``: 0 is ``1``, 1 is
  ``010``, 2 is ``011``, 3 is ``00100``.
* number(u) of an unsigned ``u`` of any size (anchors, bases): gamma of its bit
  length ``L``, then its ``L - 1`` low bits (the top bit is always 1): 0 costs
  1 bit, 1 costs 3, a 13-bit value 19 (a varint would spend 16).
"""

from protocol.errors import DecodeError

ESCAPE = 16
LENGTH_BITS = 7
MAX_VALUE_BITS = 70  # a ten-byte varint's worth: quantised deltas never need more
MAX_GAMMA_ZEROS = 12  # gamma codes n < 8191: far above any count or length sent


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


def gamma_cost(n: int) -> int:
    """Bits of gamma(n)."""
    return 2 * bit_length(n + 1) - 1


def number_cost(u: int) -> int:
    """Bits of number(u)."""
    length = bit_length(u)
    return gamma_cost(length) + max(length - 1, 0)


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

    def gamma(self, n: int) -> None:
        """Append small unsigned ``n`` in the Elias gamma code of n + 1."""
        length = bit_length(n + 1)
        self.write(0, length - 1)
        self.write(n + 1, length)

    def number(self, u: int) -> None:
        """Append unsigned ``u`` as gamma(bit length) and its low bits."""
        length = bit_length(u)
        if length > MAX_VALUE_BITS:
            raise ValueError("value too large for the bit stream: %d" % u)
        self.gamma(length)
        if length > 1:
            self.write(u - (1 << (length - 1)), length - 1)

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

    def gamma(self, limit: int) -> int:
        """One gamma-coded ``n``; DecodeError when it exceeds ``limit``."""
        zeros = 0
        while not self.read(1):
            zeros += 1
            if zeros > MAX_GAMMA_ZEROS:
                raise DecodeError("gamma code too long in bit stream")
        n = ((1 << zeros) | self.read(zeros)) - 1
        if n > limit:
            raise DecodeError("%d out of range 0..%d in bit stream" % (n, limit))
        return n

    def number(self) -> int:
        """One number()-coded unsigned value."""
        length = self.gamma(MAX_VALUE_BITS)
        if length < 2:
            return length
        return (1 << (length - 1)) | self.read(length - 1)

    def finish(self) -> int:
        """Check the padding is zero bits; return the offset of the first unread byte."""
        if self._acc:
            raise DecodeError("non-zero padding bits")
        return self._pos
