"""The 4-byte frame every binary payload starts with, and its optional compression.

    bytes 0-1  magic: "MB" (0x4D 0x42) record batch, "ML" (0x4D 0x4C) live samples
    byte  2    protocol version, 1
    byte  3    flags: bit 0 COMPRESSED (the body is a zlib stream),
               bit 1 HISTORICAL (batches only), bits 2-7 zero in v1
    bytes 4-   body

Every body then starts with the device id (one length byte, ASCII), so a
payload is self-describing even outside its topic.

The frame itself is never compressed, so a decoder can always tell what it got
and refuse an unknown version or flag before it inflates anything.
"""

from protocol import VERSION
from protocol import compress as _compress
from protocol.errors import DecodeError
from protocol.topics import valid_device_id
from protocol.varint import Reader

MAGIC_BATCH = b"MB"
MAGIC_LIVE = b"ML"
FLAG_COMPRESSED = 0x01
FLAG_HISTORICAL = 0x02
HEADER_BYTES = 4

# A body never needs more (a day of 1-minute records of all 37 channels is
# ~250 KB uncompressed); the limit caps what a hostile payload can make us inflate.
MAX_BODY_BYTES = 1 << 20


def pack(magic: bytes, flags: int, body: bytes, compress: bool | None) -> bytes:
    """Frame ``body``. compress: None = when it makes the payload smaller, True =
    whenever the platform can, False = never (byte-identical on every platform)."""
    if compress is None or compress:
        packed = _compress.compress(body)
        if packed is not None and (compress or len(packed) < len(body)):
            return magic + bytes((VERSION, flags | FLAG_COMPRESSED)) + packed
    return magic + bytes((VERSION, flags)) + body


def unpack(data: bytes, magic: bytes, allowed_flags: int) -> tuple[int, bytes]:
    """(flags, body) of a framed payload; DecodeError for anything not ours."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise DecodeError("payload must be bytes, got %s" % type(data).__name__)
    data = bytes(data)
    if len(data) < HEADER_BYTES:
        raise DecodeError("payload too short (%d bytes)" % len(data))
    if data[0:2] != magic:
        raise DecodeError("wrong magic %r (expected %r)" % (data[0:2], magic))
    if data[2] != VERSION:
        raise DecodeError("unsupported protocol version %d (this decoder reads 1)" % data[2])
    flags = data[3]
    if flags & ~(allowed_flags | FLAG_COMPRESSED):
        raise DecodeError("unknown flags 0x%02x" % flags)
    body = data[HEADER_BYTES:]
    if len(body) > MAX_BODY_BYTES:
        raise DecodeError("payload larger than %d bytes" % MAX_BODY_BYTES)
    if flags & FLAG_COMPRESSED:
        body = _compress.decompress(body, MAX_BODY_BYTES)
    return flags, body


def put_device_id(buf: bytearray, device_id: str) -> None:
    """Append the device id (length byte + ASCII); ValueError if it is not a valid id."""
    if not valid_device_id(device_id):
        raise ValueError("invalid device id %r (3-32 characters of a-z, 0-9, '-')" % (device_id,))
    raw = device_id.encode()
    buf.append(len(raw))
    buf.extend(raw)


def read_device_id(reader: Reader) -> str:
    """The device id at the start of a body; DecodeError unless it is a valid id."""
    raw = reader.take(reader.u8())
    try:
        device_id = raw.decode()
    except Exception:  # UnicodeError (MicroPython) / UnicodeDecodeError (CPython)
        raise DecodeError("device id is not text") from None
    if not valid_device_id(device_id):
        raise DecodeError("invalid device id %r" % (device_id,))
    return device_id
