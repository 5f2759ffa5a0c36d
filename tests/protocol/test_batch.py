"""Record batches: round trips, golden bytes, validation and the size budget."""

from pathlib import Path

import pytest

from protocol import channels, topics
from protocol.bits import BitWriter
from protocol.codec import (
    CLOCK_ESTIMATED,
    CLOCK_SYNCED,
    CLOCK_UNANCHORED,
    MAX_BATCH_RECORDS,
    Batch,
    DecodeError,
    Record,
    decode_batch,
    encode_batch,
)
from tests.protocol.realistic import (
    SDM630_COUNTERS,
    SDM630_INSTANT,
    bytes_per_record,
    mqtt_overhead,
    realistic_batch,
    realistic_records,
    simulator_records,
)

DOC = Path(__file__).resolve().parents[2] / "docs" / "protocol.md"


def golden_batch() -> Batch:
    """The worked example of docs/protocol.md: three minutes, one of them lost."""
    return Batch(
        "me-0042",
        [
            Record(
                1000,
                1767225600,
                60,
                CLOCK_SYNCED,
                60,
                60,
                1,
                {"u_l1_v": (230.1, 229.4, 231.0), "p_total_w": (1520.0, 1380.0, 1710.0)},
                {"e_imp_wh": 5000120},
            ),
            Record(
                1001,
                1767225660,
                60,
                CLOCK_SYNCED,
                60,
                60,
                1,
                {"u_l1_v": (230.3, 229.9, 230.8), "p_total_w": (1604.0, 1490.0, 1800.0)},
                {"e_imp_wh": 5000150},
            ),
            Record(
                1003,
                1767225780,
                60,
                CLOCK_SYNCED,
                58,
                60,
                1,
                {"u_l1_v": (229.8, 229.1, 230.5), "p_total_w": (1498.0, 1402.0, 1655.0)},
                {"e_imp_wh": 5000200},
            ),
        ],
    )


GOLDEN_HEX = (
    "4d 42 01 00 07 6d 65 2d 30 30 34 32 03 e8 07 80 f2 d6 ca 06 02 81 8e 2f 60 3c 0e c0 02 00"
    " 08 70 fd 25 19 8a 06 97 5a 35 f0 2f 28 a9 e2 60 3a c2 40 2f 64 7a 82 bd 09 60"
)


def test_golden_bytes() -> None:
    """Any change of these bytes is a format change: bump the version (docs/protocol.md)."""
    data = encode_batch(golden_batch(), compress=False)
    assert data.hex(" ") == GOLDEN_HEX
    assert decode_batch(bytes.fromhex(GOLDEN_HEX)) == golden_batch()


def test_golden_bytes_are_the_documented_example() -> None:
    doc = " ".join(DOC.read_text().split())
    # The doc prints the example as a hex dump, 16 bytes a line.
    dumped = GOLDEN_HEX.split()
    for i in range(0, len(dumped), 16):
        assert " ".join(dumped[i : i + 16]) in doc


def test_golden_decodes_to_exact_values() -> None:
    b = decode_batch(bytes.fromhex(GOLDEN_HEX))
    assert b.device_id == "me-0042"
    assert not b.historical
    assert [r.seq for r in b.records] == [1000, 1001, 1003]
    r = b.records[2]
    assert r.ts == 1767225780
    assert (r.samples, r.expected) == (58, 60)
    assert r.stats["u_l1_v"] == (229.8, 229.1, 230.5)  # exactly the nearest floats
    assert r.stats["p_total_w"] == (1498.0, 1402.0, 1655.0)
    assert r.counters == {"e_imp_wh": 5000200}
    assert isinstance(r.counters["e_imp_wh"], int)


@pytest.mark.parametrize("size", [1, 2, 15, 30, 60])
@pytest.mark.parametrize("compress", [None, True, False])
def test_realistic_round_trip(size: int, compress: bool | None) -> None:
    batch = realistic_batch(size, seed=size)
    data = encode_batch(batch, compress=compress)
    assert bool(data[3] & 1) == (compress is True)  # auto: the bit stream rarely deflates
    out = decode_batch(data)
    assert out == batch
    for got, want in zip(out.records, batch.records, strict=True):
        for name, triple in want.stats.items():
            res = channels.get(name).resolution
            for a, b in zip(got.stats[name], triple, strict=True):
                assert abs(a - b) <= res / 2 + 1e-9
        assert got.counters == want.counters


def test_encoding_is_deterministic() -> None:
    batch = realistic_batch(30)
    assert encode_batch(batch, compress=False) == encode_batch(batch, compress=False)


def test_historical_flag() -> None:
    batch = realistic_batch(3)
    batch.historical = True
    data = encode_batch(batch, compress=False)
    assert data[3] == 0x02
    assert decode_batch(data).historical


def test_sequence_gaps_reboots_and_clock_quality() -> None:
    records = realistic_records(6)
    records[2].seq += 5  # five records lost in between: a gap ingest can see
    records[3].seq += 5
    records[3].ts += 3600  # an hour without power
    records[4].seq += 5
    records[4].ts += 3600
    records[4].clock = CLOCK_ESTIMATED
    records[5].seq += 5
    records[5].ts = 17  # rebooted without real time: ts is a guess from boot
    records[5].clock = CLOCK_UNANCHORED
    batch = Batch("me-1", records)
    out = decode_batch(encode_batch(batch))
    assert [r.seq for r in out.records] == [r.seq for r in records]
    assert [r.ts for r in out.records] == [r.ts for r in records]
    assert [r.clock for r in out.records] == [0, 0, 0, 0, 1, 2]


def test_coarsened_records_carry_span() -> None:
    records = [
        Record(100 + 15 * i, 1767225600 + 900 * i, 900, CLOCK_SYNCED, 900, 900, 15)
        for i in range(4)
    ]
    records[1].span = 14  # one minute of that quarter was never recorded
    records[1].samples = 840
    for i, r in enumerate(records):
        r.stats = {"p_total_w": (1000.0 + i, 500.0, 3000.0)}
        r.counters = {"e_imp_wh": 10_000 + 250 * i}
    out = decode_batch(encode_batch(Batch("me-1", records)))
    assert out.records == records
    assert [r.span for r in out.records] == [15, 14, 15, 15]
    assert out.records[1].completeness == pytest.approx(840 / 900)


def test_channels_missing_in_some_records() -> None:
    records = realistic_records(10)
    del records[0].stats["u_l1_v"]
    del records[3].stats["p_l2_w"]  # p_total and i_l2 fall back to their default predictors
    del records[4].stats["pf_l3"]
    del records[5].counters["e_imp_wh"]
    records[9].stats = {}
    records[9].counters = {}
    out = decode_batch(encode_batch(Batch("me-1", records)))
    assert out.records == records
    assert "u_l1_v" not in out.records[0].stats
    assert out.records[9].stats == {}


def test_predictors_survive_odd_values() -> None:
    """Zero voltage or power factor, exporting power, min above mean: still exact."""
    r = realistic_records(4)
    r[0].stats["u_l1_v"] = (0.0, 0.0, 0.0)
    r[1].stats["pf_l2"] = (0.0, -0.2, 0.3)
    r[2].stats["p_l3_w"] = (-4200.0, -5000.0, -100.0)  # PV export on L3
    r[2].stats["pf_l3"] = (-0.97, -0.99, -0.9)
    r[3].stats["i_l1_a"] = (5.0, 7.0, 3.0)  # min > mean > max: not ours to judge
    r[3].stats["p_total_w"] = (-30_000_000.0, -30_000_000.0, 30_000_000.0)
    r[3].counters["e_exp_wh"] = 0
    batch = Batch("me-1", r)
    assert decode_batch(encode_batch(batch)) == batch


def test_every_channel_of_the_vocabulary() -> None:
    stats = {}
    counters = {}
    for i, name in enumerate(channels.NAMES):
        ch = channels.get(name)
        if ch.kind == channels.INSTANT:
            v = ch.minimum + (ch.maximum - ch.minimum) * (i % 7) / 7
            stats[name] = (v, ch.minimum, ch.maximum)
        else:
            counters[name] = 10 ** (i % 19)
    records = [Record(1, 2, 60, CLOCK_SYNCED, 1, 1, 1, stats, counters)]
    out = decode_batch(encode_batch(Batch("all", records)))
    assert out.records == records


def test_equality_is_equality_on_the_wire() -> None:
    a = Record(1, 60, stats={"u_l1_v": (230.01, 230.0, 230.04)})
    b = Record(1, 60, stats={"u_l1_v": (229.99, 229.96, 230.0)})
    c = Record(1, 60, stats={"u_l1_v": (230.1, 230.0, 230.0)})
    assert a == b
    assert a != c
    assert a != Record(2, 60, stats=a.stats)
    assert Batch("me-1", [a]) == Batch("me-1", [b])
    assert Batch("me-1", [a]) != Batch("me-1", [a], historical=True)
    assert Batch("me-1", [a]) != Batch("me-2", [a])
    nan = Record(1, 60, stats={"u_l1_v": (float("nan"), 0.0, 0.0)})
    assert nan != a
    assert a != "a record"


def test_completeness() -> None:
    assert Record(1, 0, samples=45, expected=60).completeness == 0.75
    assert Record(1, 0, samples=61, expected=60).completeness == 1.0
    assert Record(1, 0, samples=0, expected=0).completeness == 0.0


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"seq": -1}, "seq"),
        ({"seq": 1.0}, "seq"),
        ({"ts": True}, "ts"),
        ({"period_s": 0}, "period_s"),
        ({"clock": 3}, "clock"),
        ({"clock": False}, "clock"),
        ({"samples": -1}, "samples"),
        ({"span": 0}, "span"),
        ({"stats": {"e_imp_wh": (1.0, 1.0, 1.0)}}, "counter"),
        ({"stats": {"u_l1_v": (1.0, 1.0)}}, "mean, min, max"),
        ({"stats": {"u_l1_v": (float("nan"), 1.0, 1.0)}}, "non-finite"),
        ({"stats": {"volts": (1.0, 1.0, 1.0)}}, "unknown channel"),
        ({"counters": {"e_imp_wh": 1.5}}, "integer"),
        ({"counters": {"u_l1_v": 1}}, "instant"),
        ({"stats": [("u_l1_v", (1.0, 1.0, 1.0))]}, "dict"),
    ],
)
def test_encode_rejects_bad_records(change: dict[str, object], message: str) -> None:
    record = Record(1, 60, 60, CLOCK_SYNCED, 60, 60, 1, {}, {})
    for key, value in change.items():
        setattr(record, key, value)
    with pytest.raises(ValueError, match=message):
        encode_batch(Batch("me-1", [record]))


def test_encode_rejects_bad_batches() -> None:
    with pytest.raises(ValueError, match="device id"):
        encode_batch(Batch("Not/Valid", realistic_records(1)))
    with pytest.raises(ValueError, match=r"1\.\.1440"):
        encode_batch(Batch("me-1", []))
    records = [Record(i, 60 * i) for i in range(MAX_BATCH_RECORDS + 1)]
    with pytest.raises(ValueError, match=r"1\.\.1440"):
        encode_batch(Batch("me-1", records))
    assert len(decode_batch(encode_batch(Batch("me-1", records[:-1]))).records) == 1440


def test_decode_rejects_other_payloads() -> None:
    data = encode_batch(realistic_batch(2), compress=False)
    for bad in (
        b"ML" + data[2:],  # a live payload's magic
        data[:2] + b"\x02" + data[3:],  # version 2
        data + b"\x00",  # trailing byte
        data[:-1],  # truncated
        b"",
    ):
        with pytest.raises(DecodeError):
            decode_batch(bad)


def test_decode_refuses_absurd_counts() -> None:
    head = b"MB\x01\x00\x03abc"
    with pytest.raises(DecodeError, match="record count"):
        decode_batch(head + b"\x80\x80\x80\x80\x04" + b"\x00" * 20)  # 2**30 records
    with pytest.raises(DecodeError, match="record count"):
        decode_batch(head + b"\x00" + b"\x00" * 20)  # none
    # 1440 records of default record columns and a channel set of 255 positions:
    # refused at the first position the vocabulary does not have.
    bw = BitWriter()
    bw.write(0, 14)  # seven ZERO columns
    bw.gamma(255)
    bw.write((1 << 255) - 1, 255)
    with pytest.raises(DecodeError, match="unknown channel"):
        decode_batch(head + b"\xa0\x0b\x00\x00" + bw.finish())


@pytest.fixture(scope="module")
def simulated() -> list[Record]:
    """Two days of the simulator's SDM630 with PV: 23 instant channels, 10 registers."""
    return simulator_records(2 * 1440)


def per_record(records: list[Record], size: int, compress: bool | None = None) -> float:
    total = 0
    for i in range(0, len(records), size):
        total += len(encode_batch(Batch("demo-sdm630-1", records[i : i + size]), compress))
    return total / len(records)


def test_size_budget(simulated: list[Record]) -> None:
    """<= 2 MB per meter per 30 days including MQTT/TLS overhead, uploading every 15
    minutes (Bulgaria's settlement periods): at most 40 B per record at 15 a batch.

    Measured on the simulator's SDM630 (``python -m tests.protocol.realistic`` prints
    the table of docs/protocol.md): ~32.5 / 29.0 / 27.8 B per record at 15 / 30 / 60.
    """
    mqtt15 = mqtt_overhead("demo-sdm630-1") / 15
    payload15 = per_record(simulated, 15)
    assert payload15 < 34
    assert payload15 + mqtt15 < 39
    assert (payload15 + mqtt15) * 30 * 1440 < 1_700_000
    assert per_record(simulated, 30) < 30.5
    assert per_record(simulated, 60) < 29
    assert per_record(simulated, 15, compress=False) < 34  # holds on a device without zlib
    assert len(topics.uplink("me-000123")) == 24


def test_size_budget_on_a_noisier_household() -> None:
    """The synthetic household of realistic.py draws every spread at random (a real
    meter's follow from its samples): more bytes, still within the budget."""
    assert SDM630_INSTANT and SDM630_COUNTERS
    _, total15 = bytes_per_record(15, days=1)
    assert total15 * 30 * 1440 < 2_000_000


def _negated(triple: tuple[float, float, float]) -> tuple[float, float, float]:
    mean, lo, hi = triple
    return (-mean, -hi, -lo)


PHASE_1 = ("u_l1_v", "i_l1_a", "p_l1_w", "q_l1_var", "s_l1_va", "pf_l1")


def test_signed_currents_cost_no_more_than_unsigned() -> None:
    """Some meters (EM340, measuring mode B) sign the current with the power, some
    sign pf with it: an exporting phase then reads negative amps or pf. The
    predictors take the sign convention the previous record showed."""
    records = realistic_records(30, seed=5)
    for r in records:
        r.stats = {name: r.stats[name] for name in PHASE_1}
        r.counters = {}
    importing = encode_batch(Batch("me-1", records))
    for r in records:  # the phase runs the other way: P, Q and a signed I and pf flip
        for name in ("p_l1_w", "q_l1_var", "i_l1_a", "pf_l1"):
            r.stats[name] = _negated(r.stats[name])
    signed = encode_batch(Batch("me-1", records))
    assert decode_batch(signed).records == records
    assert len(signed) <= len(importing) + 2
    # The same export read by a meter with unsigned currents and pf costs no more either.
    for r in records:
        r.stats["i_l1_a"] = _negated(r.stats["i_l1_a"])
        r.stats["pf_l1"] = _negated(r.stats["pf_l1"])
    plain = encode_batch(Batch("me-1", records))
    assert decode_batch(plain).records == records
    assert len(plain) <= len(importing) + 6
