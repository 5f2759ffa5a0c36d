"""zlib-format compression on whichever implementation the platform has.

CPython has ``zlib``. MicroPython (v1.21+) has ``deflate.DeflateIO`` instead; its
compressor can be compiled out on small ports, and some builds also ship a
``zlib`` shim without ``decompressobj``. Payloads say in their flags byte
whether the body is compressed, so a device without a compressor simply sends
uncompressed bodies and every decoder still reads them.

Both sides produce and accept the zlib container (RFC 1950: 2-byte header,
deflate data, Adler-32), so either side decodes the other's output. The
compressed bytes themselves differ between implementations and zlib versions:
only uncompressed bodies are byte-for-byte reproducible.
"""

import io

from protocol.errors import DecodeError

try:
    import zlib as _zlib_module

    # MicroPython's zlib shim has no decompressobj, hence no bounded inflate: use
    # deflate directly there.
    _zlib = _zlib_module if hasattr(_zlib_module, "decompressobj") else None
except ImportError:  # a port built without it
    _zlib = None

try:
    import deflate as _deflate  # type: ignore[import-not-found]  # MicroPython only
except ImportError:
    _deflate = None

# MicroPython's compressor keeps a window of 2**wbits bytes in RAM; 1 KiB is enough
# for our column data (matches are short and local) and cheap on a microcontroller.
_MP_WBITS = 10


def available() -> bool:
    """True when this platform can compress (decompression may still be possible)."""
    return _zlib is not None or _deflate is not None


def compress(data: bytes) -> bytes | None:
    """``data`` as a zlib stream, or None when this platform cannot compress."""
    if _zlib is not None:
        return bytes(_zlib.compress(data, 9))
    if _deflate is not None:
        buf = io.BytesIO()
        try:
            stream = _deflate.DeflateIO(buf, _deflate.ZLIB, _MP_WBITS)
            stream.write(data)
            stream.close()
        except Exception:  # compression compiled out of this port: send uncompressed
            return None
        return buf.getvalue()
    return None


def decompress(data: bytes, limit: int) -> bytes:
    """Inflate the zlib stream ``data``; DecodeError if invalid or larger than ``limit``.

    The limit is what stops a decompression bomb: inflation stops one byte past
    it, whatever the stream claims.
    """
    if _zlib is not None:
        try:
            d = _zlib.decompressobj()
            out = d.decompress(data, limit + 1)
        except Exception as exc:  # zlib.error, MemoryError ...: anything is a bad payload
            raise DecodeError("bad compressed body: %s" % exc) from None
        if len(out) > limit:
            raise DecodeError("compressed body inflates beyond %d bytes" % limit)
        if not d.eof:
            raise DecodeError("truncated compressed body")
        if d.unused_data:
            raise DecodeError("trailing bytes after compressed body")
        return bytes(out)
    if _deflate is not None:
        try:
            out = _deflate.DeflateIO(io.BytesIO(data), _deflate.ZLIB).read(limit + 1)
        except Exception as exc:  # OSError, EOFError, MemoryError ...: a bad payload
            raise DecodeError("bad compressed body: %r" % (exc,)) from None
        if len(out) > limit:
            raise DecodeError("compressed body inflates beyond %d bytes" % limit)
        return bytes(out)
    raise DecodeError("compressed body, but this platform has no zlib/deflate")
