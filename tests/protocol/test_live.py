"""Live samples: round trips, golden bytes, validation."""

import pytest

from protocol.codec import MAX_LIVE_SAMPLES, DecodeError, decode_live, encode_live

T0 = 1767225600000


def phases(i: int) -> dict[str, float]:
    return {"p_l1_w": 1200.0 + i, "p_l2_w": 310.0 - 2 * i, "p_l3_w": 2250.0 + (i % 3)}


def test_round_trip_one_per_second() -> None:
    samples = [(T0 + 1000 * i, phases(i)) for i in range(10)]
    dev, out = decode_live(encode_live("me-000123", samples))
    assert dev == "me-000123"
    assert out == samples


def test_golden_bytes() -> None:
    samples = [(T0, phases(0)), (T0 + 1000, phases(1)), (T0 + 2000, phases(2))]
    data = encode_live("me-0042", samples)
    assert data.hex(" ") == (
        "4d 4c 01 00 07 6d 65 2d 30 30 34 32 03 80 d0 ea b6 b7 33 c6 7a 00 38 00 e1 a5 83 60 16"
        " 6c dc 07 0c a6 c0"
    )
    assert decode_live(data) == ("me-0042", samples)


def test_small() -> None:
    """One second of three phase powers: 31 bytes; each further second adds ~2."""
    assert len(encode_live("me-000123", [(T0, phases(0))])) <= 31
    five = [(T0 + 1000 * i, phases(i)) for i in range(5)]
    assert len(encode_live("me-000123", five)) <= 38


def test_quantised_and_sparse() -> None:
    samples = [
        (T0, {"p_l1_w": 1200.4, "f_hz": 50.014}),
        (T0 + 500, {"p_l1_w": 1199.6}),
        (T0 + 250, {"f_hz": 49.986, "e_imp_wh": 123}),  # out of order stamps are kept
    ]
    _dev, out = decode_live(encode_live("me-1", samples, compress=True))
    assert out == [
        (T0, {"p_l1_w": 1200.0, "f_hz": 50.01}),
        (T0 + 500, {"p_l1_w": 1200.0}),
        (T0 + 250, {"f_hz": 49.99, "e_imp_wh": 123}),
    ]


@pytest.mark.parametrize(
    "samples",
    [
        [],
        [(T0, {})] * (MAX_LIVE_SAMPLES + 1),
        [(-1, {})],
        [(1.5, {})],
        [(T0, {"p_l1_w": float("nan")})],
        [(T0, {"nope": 1.0})],
        [(T0, {"e_imp_wh": 1.5})],
        [(T0,)],
        [(T0, [("p_l1_w", 1.0)])],
    ],
)
def test_encode_rejects(samples: list[tuple[int, dict[str, float]]]) -> None:
    with pytest.raises(ValueError):
        encode_live("me-1", samples)


def test_decode_rejects() -> None:
    good = encode_live("me-1", [(T0, phases(0))])
    for bad in (b"MB" + good[2:], good[:-1], good + b"\x00", good[:3] + b"\x02" + good[4:]):
        with pytest.raises(DecodeError):
            decode_live(bad)
