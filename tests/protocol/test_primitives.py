"""The building blocks: varints, the bit stream, packed columns, quantisation, frame."""

import zlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocol import channels, columns, compress, frame, quant
from protocol.bits import (
    BitReader,
    BitWriter,
    bit_length,
    gamma_cost,
    number_cost,
    rice_cost,
)
from protocol.errors import DecodeError
from protocol.varint import MAX_UVARINT, Reader, put_svarint, put_uvarint, unzigzag, zigzag


@pytest.mark.parametrize(
    ("n", "z"), [(0, 0), (-1, 1), (1, 2), (-2, 3), (2, 4), (-(1 << 63), (1 << 64) - 1)]
)
def test_zigzag(n: int, z: int) -> None:
    assert zigzag(n) == z
    assert unzigzag(z) == n


@pytest.mark.parametrize(
    ("n", "raw"),
    [(0, b"\x00"), (127, b"\x7f"), (128, b"\x80\x01"), (300, b"\xac\x02"), (1 << 63, None)],
)
def test_uvarint(n: int, raw: bytes | None) -> None:
    buf = bytearray()
    put_uvarint(buf, n)
    if raw is not None:
        assert bytes(buf) == raw
    r = Reader(bytes(buf))
    assert r.uvarint() == n
    r.expect_end()


def test_uvarint_limits() -> None:
    with pytest.raises(ValueError):
        put_uvarint(bytearray(), -1)
    with pytest.raises(ValueError):
        put_uvarint(bytearray(), MAX_UVARINT + 1)
    with pytest.raises(DecodeError):
        Reader(b"\x80" * 10 + b"\x01").uvarint()  # eleven bytes
    with pytest.raises(DecodeError):
        Reader(b"\x80\x80").uvarint()  # truncated


def test_reader_bounds() -> None:
    r = Reader(b"\x01\x02")
    assert r.take(2) == b"\x01\x02"
    with pytest.raises(DecodeError):
        r.u8()
    with pytest.raises(DecodeError):
        Reader(b"\x01").take(2)
    with pytest.raises(DecodeError):
        Reader(b"\x01").expect_end()


@given(st.integers(min_value=-(1 << 64), max_value=1 << 64))
def test_svarint_round_trip(n: int) -> None:
    buf = bytearray()
    put_svarint(buf, n)
    assert Reader(bytes(buf)).svarint() == n


@given(st.integers(min_value=0, max_value=1 << 80))
def test_bit_length_matches_cpython(n: int) -> None:
    assert bit_length(n) == n.bit_length()


@given(
    st.lists(
        st.tuples(st.integers(min_value=0, max_value=(1 << 70) - 1), st.integers(0, 63)),
        max_size=50,
    )
)
def test_rice_round_trip_and_cost(items: list[tuple[int, int]]) -> None:
    bw = BitWriter()
    for u, k in items:
        bw.rice(u, k)
    data = bw.finish()
    assert len(data) == (sum(rice_cost(u, k) for u, k in items) + 7) // 8
    br = BitReader(data)
    assert [br.rice(k) for _, k in items] == [u for u, _ in items]
    assert br.finish() == len(data)


def test_bit_reader_rejects_truncation_and_dirty_padding() -> None:
    bw = BitWriter()
    bw.write(0b101, 3)
    data = bw.finish()
    assert data == b"\xa0"
    br = BitReader(data)
    assert br.read(3) == 0b101
    assert br.finish() == 1
    with pytest.raises(DecodeError):
        BitReader(data).read(9)
    br = BitReader(b"\xa1")
    br.read(3)
    with pytest.raises(DecodeError):
        br.finish()


def test_rice_escape_bounds() -> None:
    # 16 ones then a length of 0 or > 70 is garbage, not a huge read.
    with pytest.raises(DecodeError):
        BitReader(b"\xff\xff\x00\x00").rice(0)
    with pytest.raises(DecodeError):
        BitReader(b"\xff\xff\xfe\x00" + b"\x00" * 10).rice(0)


@given(st.lists(st.integers(min_value=0, max_value=8000), max_size=50))
def test_gamma_round_trip_and_cost(items: list[int]) -> None:
    bw = BitWriter()
    for n in items:
        bw.gamma(n)
    data = bw.finish()
    assert len(data) == (sum(gamma_cost(n) for n in items) + 7) // 8
    br = BitReader(data)
    assert [br.gamma(8190) for _ in items] == items
    assert br.finish() == len(data)


@pytest.mark.parametrize(
    ("n", "bits"), [(0, "1"), (1, "010"), (2, "011"), (3, "00100"), (6, "00111"), (7, "0001000")]
)
def test_gamma_code(n: int, bits: str) -> None:
    bw = BitWriter()
    bw.gamma(n)
    assert len(bits) == gamma_cost(n)
    assert bw.finish() == int(bits.ljust(8 * ((len(bits) + 7) // 8), "0"), 2).to_bytes(
        (len(bits) + 7) // 8, "big"
    )


@given(st.lists(st.integers(min_value=0, max_value=(1 << 70) - 1), max_size=50))
def test_number_round_trip_and_cost(items: list[int]) -> None:
    bw = BitWriter()
    for u in items:
        bw.number(u)
    data = bw.finish()
    assert len(data) == (sum(number_cost(u) for u in items) + 7) // 8
    br = BitReader(data)
    assert [br.number() for _ in items] == items
    assert br.finish() == len(data)


def test_number_costs() -> None:
    """Small anchors cost a few bits; a 13-bit one (230.0 V doubled by zigzag) 19."""
    assert [number_cost(u) for u in (0, 1, 2, 3, 4, 4600)] == [1, 3, 4, 4, 7, 19]
    with pytest.raises(ValueError):
        BitWriter().number(1 << 70)


def test_gamma_and_number_limits() -> None:
    with pytest.raises(DecodeError, match="too long"):
        BitReader(b"\x00\x00\xff").gamma(10**9)  # 16 leading zeros
    with pytest.raises(DecodeError, match="out of range"):
        BitReader(b"\x00\x80\x00").gamma(100)  # 255
    with pytest.raises(DecodeError, match="out of range"):
        BitReader(b"\x02\x40\xff\xff").number()  # a 71-bit length


@given(st.lists(st.integers(min_value=-(1 << 64), max_value=1 << 64), min_size=1, max_size=80))
def test_columns_round_trip(values: list[int]) -> None:
    bw = BitWriter()
    columns.write_column(bw, values)
    columns.write_column(bw, [])
    columns.write_column(bw, values[::-1])
    data = bw.finish()
    assert len(data) == (2 * columns.column_bits(values) + 7) // 8
    br = BitReader(data)
    assert columns.read_column(br, len(values)) == values
    assert columns.read_column(br, 0) == []
    assert columns.read_column(br, len(values)) == values[::-1]
    assert br.finish() == len(data)


@pytest.mark.parametrize(
    ("values", "mode"),
    [
        ([0] * 40, columns.ZERO),
        ([7] * 40, columns.PACKED),  # width 0: a constant
        ([0, 1, -1, 2, -2, 0, 1] * 5, columns.SIGNED),
        ([20 + (i * 7) % 5 + (i % 11 == 0) * 40 for i in range(40)], columns.OFFSET),
        ([1000 + (i * 37) % 200 for i in range(40)], columns.PACKED),
    ],
)
def test_plan_picks_the_cheap_mode(values: list[int], mode: int) -> None:
    assert columns.plan(values)[0] == mode


def test_zero_and_constant_columns_cost_a_few_bits_whatever_their_length() -> None:
    assert columns.column_bits([0] * 1000) == 2
    bw = BitWriter()
    columns.write_column(bw, [60] * 1000)
    # 11 PACKED, base number(zigzag(60) = 120) = gamma(7) 0001000 + 111000, width 0000
    assert bw.finish() == bytes([0b11000100, 0b01110000, 0b00000000])
    assert columns.column_bits([60] * 1000) == 2 + 13 + 4


def test_channel_set_round_trip() -> None:
    chans = [channels.get(n) for n in ("f_hz", "u_l1_v", "e_exp_l3_wh", "p_total_w")]
    bw = BitWriter()
    ordered = columns.write_channel_set(bw, chans)
    assert [ch.name for ch in ordered] == ["u_l1_v", "p_total_w", "f_hz", "e_exp_l3_wh"]
    br = BitReader(bw.finish())
    assert columns.read_channel_set(br) == ordered
    bw = BitWriter()
    assert columns.write_channel_set(bw, []) == []
    assert bw.finish() == b"\x80"  # gamma(0)


def test_every_channel_has_a_wire_position() -> None:
    assert sorted(columns.WIRE_ORDER) == sorted(channels.BY_CODE)
    assert len(set(columns.WIRE_ORDER)) == len(columns.WIRE_ORDER)


@pytest.mark.parametrize(
    "data",
    [
        b"\x04\xe0\x00\x00\x00\x00\x80",  # 38 positions, the 38th set: no such channel
        b"\x20",  # 3 positions, none set: longer than its last channel
        b"\x04",  # truncated
    ],
)
def test_channel_set_rejects(data: bytes) -> None:
    with pytest.raises(DecodeError):
        columns.read_channel_set(BitReader(data))


def test_presence_round_trip() -> None:
    bw = BitWriter()
    for rows in ([0, 1, 2, 3, 4, 5, 6, 7, 8, 9], [0, 9], [3]):
        columns.write_presence(bw, 10, rows)
    data = bw.finish()
    # 1 | 0 1000000001 | 0 0001000000
    assert data == bytes([0b10100000, 0b00010000, 0b10000000])
    br = BitReader(data)
    assert [columns.read_presence(br, 10) for _ in range(3)] == [list(range(10)), [0, 9], [3]]


def test_presence_rejects_a_channel_in_no_record() -> None:
    with pytest.raises(DecodeError):
        columns.read_presence(BitReader(b"\x00\x00"), 4)


@pytest.mark.parametrize(
    ("name", "value", "steps"),
    [
        ("u_l1_v", 230.1, 2301),
        ("u_l1_v", 230.14, 2301),
        ("u_l1_v", 230.16, 2302),
        ("i_l1_a", 0.005, 0),  # half-even at the exact half
        ("pf_l1", -0.9876, -988),
        ("p_total_w", -1500.4, -1500),
        ("e_imp_wh", 9_000_000_000_000_000_000, 9_000_000_000_000_000_000),
    ],
)
def test_quantise(name: str, value: float, steps: int) -> None:
    assert quant.quantise(name, value) == steps


def test_dequantised_values_are_the_nearest_floats() -> None:
    assert quant.to_float("u_l1_v", 2301) == 230.1
    assert quant.to_float("pf_l1", -988) == -0.988
    assert quant.to_float("f_hz", 5001) == 50.01


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("u_l1_v", float("nan")),
        ("u_l1_v", float("inf")),
        ("u_l1_v", "230"),
        ("u_l1_v", True),
        ("u_l1_v", None),
        ("e_imp_wh", 1 << 63),
        ("no_such_channel", 1.0),
    ],
)
def test_quantise_rejects(name: str, value: object) -> None:
    with pytest.raises(ValueError):
        quant.quantise(name, value)  # type: ignore[arg-type]


def test_frame_pack_unpack() -> None:
    body = b"hello" * 50
    packed = frame.pack(frame.MAGIC_BATCH, frame.FLAG_HISTORICAL, body, None)
    assert packed[:4] == b"MB\x01\x03"
    assert frame.unpack(packed, frame.MAGIC_BATCH, frame.FLAG_HISTORICAL) == (3, body)
    plain = frame.pack(frame.MAGIC_BATCH, 0, b"xy", None)
    assert plain == b"MB\x01\x00xy"  # compression would only make it bigger


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"MB\x01",
        b"ML\x01\x00",
        b"MB\x02\x00",
        b"MB\x00\x00",
        b"MB\x01\x04",
        b"MB\x01\x80",
        b"MB\x01\x01" + b"not zlib",
        b"MB\x01\x01" + zlib.compress(b"x")[:-1],
        b"MB\x01\x01" + zlib.compress(b"x") + b"junk",
    ],
)
def test_frame_rejects(data: bytes) -> None:
    with pytest.raises(DecodeError):
        frame.unpack(data, frame.MAGIC_BATCH, frame.FLAG_HISTORICAL)


def test_frame_rejects_non_bytes() -> None:
    with pytest.raises(DecodeError):
        frame.unpack("MB\x01\x00", frame.MAGIC_BATCH, 0)  # type: ignore[arg-type]


def test_decompression_bomb_is_refused() -> None:
    bomb = zlib.compress(b"\x00" * (frame.MAX_BODY_BYTES * 8), 9)
    assert len(bomb) < 20_000
    with pytest.raises(DecodeError, match="inflates beyond"):
        frame.unpack(b"MB\x01\x01" + bomb, frame.MAGIC_BATCH, 0)


def test_compress_round_trip() -> None:
    assert compress.available()
    packed = compress.compress(b"abc" * 100)
    assert packed is not None
    assert compress.decompress(packed, 300) == b"abc" * 100
    with pytest.raises(DecodeError):
        compress.decompress(packed, 299)
