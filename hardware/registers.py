"""Register words <-> physical values: pure functions on ints, no I/O.

``decode_point`` turns the registers a point occupies into a value in the channel's unit;
``encode_point`` is its inverse (the simulator builds its register image with it, the
tests use it for round trips). Byte orders are handled by rearranging bytes into the
canonical big-endian layout and letting ``struct`` do the rest.

A float register holding NaN or infinity decodes to NaN: meters use those as "not
available" markers, and the caller (the agent) rejects NaN as implausible rather than
this layer raising in the middle of decoding a whole request.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Sequence

from hardware.model import ORDERS, TYPES, Point

__all__ = ["decode_point", "encode_point", "from_canonical", "to_canonical"]


def _swap_bytes(data: bytes) -> bytes:
    return b"".join(data[i + 1 : i + 2] + data[i : i + 1] for i in range(0, len(data), 2))


def _reverse_words(data: bytes) -> bytes:
    return b"".join(data[i : i + 2] for i in range(len(data) - 2, -2, -2))


def to_canonical(wire: bytes, order: str) -> bytes:
    """Rearrange bytes as they arrived in registers into big-endian (most significant first)."""
    if order == "ABCD":
        return wire
    if order == "CDAB":
        return _reverse_words(wire)
    if order == "BADC":
        return _swap_bytes(wire)
    if order == "DCBA":
        return wire[::-1]
    raise ValueError(f"unknown byte order {order!r} (known: {', '.join(ORDERS)})")


def from_canonical(canonical: bytes, order: str) -> bytes:
    """Inverse of ``to_canonical``; each rearrangement is its own inverse."""
    return to_canonical(canonical, order)


def _check_registers(point: Point, regs: Sequence[int]) -> None:
    if len(regs) != point.words:
        raise ValueError(f"{point}: {point.type} needs {point.words} registers, got {len(regs)}")
    for r in regs:
        if not 0 <= r <= 0xFFFF:
            raise ValueError(f"{point}: register value {r} is not a 16-bit word")


def decode_point(point: Point, regs: Sequence[int]) -> float:
    """The physical value (channel unit, scale applied) held in ``regs``.

    ``regs`` are exactly the point's registers, in address order. Raises ValueError on a
    wrong register count or a value that is not a 16-bit word; returns NaN for a float
    register holding NaN or infinity.
    """
    _check_registers(point, regs)
    info = TYPES[point.type]
    wire = b"".join(struct.pack(">H", r) for r in regs)
    (raw,) = struct.unpack(info.fmt, to_canonical(wire, point.order))
    if info.is_float and not math.isfinite(raw):
        return math.nan
    return float(raw) * point.scale


def encode_point(point: Point, value: float) -> list[int]:
    """The registers that make ``decode_point`` return ``value``.

    Integer types round ``value / scale`` to the nearest raw integer and raise ValueError
    when it does not fit the type (or is not finite). Floats may be NaN or infinite: the
    simulator uses that to play a meter reporting "not available". The inverse is exact
    for every register content of a finite float or an integer within +/-2**53 (beyond
    that a Python float cannot hold every integer).
    """
    info = TYPES[point.type]
    if info.is_float:
        raw_f = value / point.scale if math.isfinite(value) else value
        try:
            canonical = struct.pack(info.fmt, raw_f)
        except OverflowError:
            raise ValueError(f"{point}: {value!r} does not fit a float32") from None
    else:
        if not math.isfinite(value):
            raise ValueError(f"{point}: {value!r} cannot be stored in an integer register")
        raw = round(value / point.scale)
        if not info.minimum <= raw <= info.maximum:
            raise ValueError(
                f"{point}: {value!r} is raw {raw}, outside {point.type} "
                f"[{info.minimum}, {info.maximum}]"
            )
        canonical = struct.pack(info.fmt, raw)
    wire = from_canonical(canonical, point.order)
    return [int.from_bytes(wire[i : i + 2], "big") for i in range(0, len(wire), 2)]
