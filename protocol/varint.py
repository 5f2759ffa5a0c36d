"""Variable-length integers (LEB128 with zigzag for signed values) and a bounded reader.

Small values dominate the payloads (deltas between consecutive minutes), so a
varint spends one byte on anything in -64..63 and grows only when needed. Every
read is bounds-checked and raises DecodeError: the reader is what keeps garbage
input from escaping as IndexError or from building absurdly large integers.
"""

from protocol.errors import DecodeError

# Quantised values stay below 2**63 in magnitude, so a zigzag delta between two of
# them fits in 65 bits: ten 7-bit groups (70 bits) are plenty, and a longer varint is
# garbage, not a big number.
MAX_VARINT_BYTES = 10
MAX_UVARINT = (1 << (7 * MAX_VARINT_BYTES)) - 1


def zigzag(n: int) -> int:
    """Map a signed integer to an unsigned one: 0, -1, 1, -2, 2 ... -> 0, 1, 2, 3, 4 ..."""
    return n << 1 if n >= 0 else ((-n) << 1) - 1


def unzigzag(z: int) -> int:
    """Inverse of zigzag()."""
    return z >> 1 if not z & 1 else -((z + 1) >> 1)


def put_uvarint(buf: bytearray, n: int) -> None:
    """Append unsigned ``n`` (0 <= n < 2**70) to ``buf``, 7 bits a byte, low group first."""
    if n < 0 or n > MAX_UVARINT:
        raise ValueError("varint out of range: %d" % n)
    while n > 0x7F:
        buf.append((n & 0x7F) | 0x80)
        n >>= 7
    buf.append(n)


def put_svarint(buf: bytearray, n: int) -> None:
    """Append signed ``n`` as a zigzag varint."""
    put_uvarint(buf, zigzag(n))


class Reader:
    """Reads a byte string front to back; every method raises DecodeError past the end."""

    def __init__(self, data: bytes, pos: int = 0) -> None:
        self.data = data
        self.pos = pos

    def remaining(self) -> int:
        """Bytes not read yet."""
        return len(self.data) - self.pos

    def u8(self) -> int:
        """One unsigned byte."""
        if self.pos >= len(self.data):
            raise DecodeError("truncated payload (offset %d)" % self.pos)
        b = self.data[self.pos]
        self.pos += 1
        return b

    def take(self, n: int) -> bytes:
        """The next ``n`` bytes."""
        if n < 0 or self.pos + n > len(self.data):
            raise DecodeError("truncated payload (offset %d, need %d bytes)" % (self.pos, n))
        out = bytes(self.data[self.pos : self.pos + n])
        self.pos += n
        return out

    def uvarint(self) -> int:
        """An unsigned varint of at most MAX_VARINT_BYTES bytes."""
        n = 0
        shift = 0
        for _ in range(MAX_VARINT_BYTES):
            b = self.u8()
            n |= (b & 0x7F) << shift
            if not b & 0x80:
                return n
            shift += 7
        raise DecodeError("varint too long at offset %d" % self.pos)

    def svarint(self) -> int:
        """A zigzag-coded signed varint."""
        return unzigzag(self.uvarint())

    def expect_end(self) -> None:
        """Raise DecodeError when bytes are left over: a payload has exactly one reading."""
        if self.pos != len(self.data):
            raise DecodeError("%d unexpected trailing bytes" % (len(self.data) - self.pos))
