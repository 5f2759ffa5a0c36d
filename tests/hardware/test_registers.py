"""Register words <-> values: literal vectors for every type and order, and round trips.

The literal vectors are worked out by hand (bit patterns written in the comments), so a
decoder that swaps the wrong bytes or words fails here even if encode and decode agree
with each other.
"""

from __future__ import annotations

import math
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hardware.model import ORDERS, TYPES, Point
from hardware.registers import decode_point, encode_point


def pt(type_: str, order: str = "ABCD", scale: float = 1.0) -> Point:
    return Point(
        channel="p_total_w",
        address=0,
        number=1,
        fc=3,
        type=type_,
        order=order,
        scale=scale,
        unit="W",
        kind="instant",
        valid_min=-1e30,
        valid_max=1e30,
    )


# (type, order, registers as read from the wire, raw value before scaling)
VECTORS = [
    # 16-bit: only the byte swap matters
    ("u16", "ABCD", [0x1234], 0x1234),
    ("u16", "CDAB", [0x1234], 0x1234),
    ("u16", "BADC", [0x3412], 0x1234),
    ("u16", "DCBA", [0x3412], 0x1234),
    ("i16", "ABCD", [0xFC25], -987),  # EM340 PF -0.987 x 1000
    ("i16", "BADC", [0x25FC], -987),
    # 32-bit 0x12345678 = 305419896
    ("u32", "ABCD", [0x1234, 0x5678], 0x12345678),
    ("u32", "CDAB", [0x5678, 0x1234], 0x12345678),
    ("u32", "BADC", [0x3412, 0x7856], 0x12345678),
    ("u32", "DCBA", [0x7856, 0x3412], 0x12345678),
    # EM340 style INT32, least significant word first: 2305 -> [2305, 0]
    ("i32", "CDAB", [2305, 0], 2305),
    ("i32", "ABCD", [0, 2305], 2305),
    # -12345 = 0xFFFFCFC7
    ("i32", "ABCD", [0xFFFF, 0xCFC7], -12345),
    ("i32", "CDAB", [0xCFC7, 0xFFFF], -12345),
    ("i32", "BADC", [0xFFFF, 0xC7CF], -12345),
    ("i32", "DCBA", [0xC7CF, 0xFFFF], -12345),
    # float32 230.0 = 0x43660000 (sign 0, exponent 134, mantissa 1.796875)
    ("f32", "ABCD", [0x4366, 0x0000], 230.0),
    ("f32", "CDAB", [0x0000, 0x4366], 230.0),
    ("f32", "BADC", [0x6643, 0x0000], 230.0),
    ("f32", "DCBA", [0x0000, 0x6643], 230.0),
    # float32 -1500.0 = 0xC4BB8000
    ("f32", "ABCD", [0xC4BB, 0x8000], -1500.0),
    ("f32", "CDAB", [0x8000, 0xC4BB], -1500.0),
    # 64-bit 0x00123456789ABCDE: every byte distinct, and below 2**53 so a float holds it
    ("u64", "ABCD", [0x0012, 0x3456, 0x789A, 0xBCDE], 0x00123456789ABCDE),
    ("u64", "CDAB", [0xBCDE, 0x789A, 0x3456, 0x0012], 0x00123456789ABCDE),
    ("u64", "BADC", [0x1200, 0x5634, 0x9A78, 0xDEBC], 0x00123456789ABCDE),
    ("u64", "DCBA", [0xDEBC, 0x9A78, 0x5634, 0x1200], 0x00123456789ABCDE),
    # PM5100 INT64 energy 123456789 Wh = 0x00000000075BCD15
    ("i64", "ABCD", [0x0000, 0x0000, 0x075B, 0xCD15], 123456789),
    # 5 000 000 000 = 0x000000012A05F200, above 2**32 so half-swaps show
    ("i64", "ABCD", [0x0000, 0x0001, 0x2A05, 0xF200], 5_000_000_000),
    ("i64", "CDAB", [0xF200, 0x2A05, 0x0001, 0x0000], 5_000_000_000),
    # -2 = 0xFFFFFFFFFFFFFFFE
    ("i64", "ABCD", [0xFFFF, 0xFFFF, 0xFFFF, 0xFFFE], -2),
    ("i64", "DCBA", [0xFEFF, 0xFFFF, 0xFFFF, 0xFFFF], -2),
]


@pytest.mark.parametrize(("type_", "order", "regs", "raw"), VECTORS)
def test_literal_vectors_decode(type_: str, order: str, regs: list[int], raw: float) -> None:
    assert decode_point(pt(type_, order), regs) == raw


@pytest.mark.parametrize(("type_", "order", "regs", "raw"), VECTORS)
def test_literal_vectors_encode(type_: str, order: str, regs: list[int], raw: float) -> None:
    assert encode_point(pt(type_, order), raw) == regs


def test_every_type_and_order_has_a_literal_vector() -> None:
    covered = {(t, o) for t, o, _, _ in VECTORS}
    for t in ("u32", "i32", "f32", "u64"):
        for o in ORDERS:
            assert (t, o) in covered
    assert {t for t, _, _, _ in VECTORS} == set(TYPES)


def test_scale_is_applied_on_decode_and_removed_on_encode() -> None:
    em340_voltage = pt("i32", "CDAB", 0.1)
    assert decode_point(em340_voltage, [2305, 0]) == pytest.approx(230.5)
    assert encode_point(em340_voltage, 230.5) == [2305, 0]
    kwh_to_wh = pt("f32", "ABCD", 1000.0)
    assert decode_point(kwh_to_wh, [0x4640, 0xE600]) == 12345500.0  # 12345.5 kWh
    assert encode_point(kwh_to_wh, 12345500.0) == [0x4640, 0xE600]


def wire(canonical: bytes, order: str) -> list[int]:
    """Registers carrying big-endian ``canonical`` in ``order`` (written out per case)."""
    a = [canonical[i : i + 2] for i in range(0, len(canonical), 2)]
    if order in ("CDAB", "DCBA"):
        a.reverse()
    if order in ("BADC", "DCBA"):
        a = [w[::-1] for w in a]
    return [int.from_bytes(w, "big") for w in a]


@pytest.mark.parametrize(
    "bits",
    [0x7FC00000, 0xFFC00000, 0x7F800000, 0xFF800000, 0x7F800001],
    ids=["qnan", "-qnan", "inf", "-inf", "snan"],
)
@pytest.mark.parametrize("order", ORDERS)
def test_nan_and_infinite_floats_decode_to_nan(bits: int, order: str) -> None:
    regs = wire(struct.pack(">I", bits), order)
    assert math.isnan(decode_point(pt("f32", order), regs))


def test_nan_can_be_encoded_for_a_float_register() -> None:
    # the simulator uses this to play a meter reporting "not available"
    assert math.isnan(decode_point(pt("f32"), encode_point(pt("f32"), math.nan)))


@pytest.mark.parametrize(
    ("type_", "value", "fragment"),
    [
        ("u16", 65536, "outside u16"),
        ("u16", -1, "outside u16"),
        ("i16", 40000, "outside i16"),
        ("i32", 2**31, "outside i32"),
        ("i64", math.nan, "cannot be stored"),
        ("u32", math.inf, "cannot be stored"),
        ("f32", 1e39, "does not fit a float32"),
    ],
)
def test_encode_refuses_what_the_register_cannot_hold(
    type_: str, value: float, fragment: str
) -> None:
    with pytest.raises(ValueError, match=fragment):
        encode_point(pt(type_), value)


@pytest.mark.parametrize(
    ("regs", "fragment"), [([1], "needs 2 registers"), ([1, 2, 3], "got 3"), ([0, 70000], "word")]
)
def test_decode_refuses_malformed_registers(regs: list[int], fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment):
        decode_point(pt("u32"), regs)


SCALES = st.sampled_from([1.0, 0.1, 0.01, 0.001, 10.0, 100.0, 1000.0])
ORDER = st.sampled_from(ORDERS)
WORD = st.integers(0, 0xFFFF)


@given(st.sampled_from(sorted(TYPES)), ORDER, SCALES, st.data())
def test_registers_round_trip_through_the_value(
    type_: str, order: str, scale: float, data: st.DataObject
) -> None:
    """registers -> value -> registers is the identity for every readable content."""
    p = pt(type_, order, scale)
    regs = data.draw(st.lists(WORD, min_size=p.words, max_size=p.words))
    value = decode_point(p, regs)
    if math.isnan(value):  # NaN/inf payloads collapse to one NaN on purpose
        return
    if not TYPES[type_].is_float and abs(value / scale) > 2**52:
        return  # beyond 2**53 a float cannot hold every integer (documented limit)
    assert encode_point(p, value) == regs


@given(st.sampled_from(["u16", "i16", "u32", "i32", "u64", "i64"]), ORDER, SCALES, st.data())
def test_integer_values_round_trip(
    type_: str, order: str, scale: float, data: st.DataObject
) -> None:
    """value -> registers -> value for every raw integer the type holds (up to 2**53)."""
    info = TYPES[type_]
    raw = data.draw(st.integers(max(info.minimum, -(2**53)), min(info.maximum, 2**53)))
    p = pt(type_, order, scale)
    assert decode_point(p, encode_point(p, raw * scale)) == raw * scale


@given(ORDER, st.floats(width=32, allow_nan=False, allow_infinity=False))
def test_float_values_round_trip(order: str, value: float) -> None:
    p = pt("f32", order)
    assert decode_point(p, encode_point(p, value)) == value
