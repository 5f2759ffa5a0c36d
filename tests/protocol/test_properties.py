"""Property tests: every valid batch round-trips within resolution; decoders raise
nothing but DecodeError on arbitrary, truncated or mutated bytes."""

import contextlib
import zlib

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from protocol import channels
from protocol.codec import (
    CLOCKS,
    Batch,
    DecodeError,
    Record,
    decode_batch,
    decode_command,
    decode_live,
    decode_status,
    encode_batch,
    encode_live,
)
from protocol.records import MAX_COUNT, MAX_PERIOD_S, MAX_SEQ, MAX_TS

INSTANT = [n for n in channels.NAMES if channels.get(n).kind == channels.INSTANT]
COUNTER = [n for n in channels.NAMES if channels.get(n).kind == channels.COUNTER]

device_ids = st.from_regex(r"\A[a-z0-9-]{3,32}\Z")


def instant_value(name: str) -> st.SearchStrategy[float]:
    ch = channels.get(name)
    return st.floats(min_value=ch.minimum, max_value=ch.maximum, allow_nan=False) | st.integers(
        int(ch.minimum), int(ch.maximum)
    ).map(float)


@st.composite
def records(draw: st.DrawFn) -> Record:
    names = draw(st.lists(st.sampled_from(INSTANT), unique=True, max_size=8))
    stats = {
        n: draw(st.tuples(instant_value(n), instant_value(n), instant_value(n))) for n in names
    }
    counter_names = draw(st.lists(st.sampled_from(COUNTER), unique=True, max_size=3))
    counters = {n: draw(st.integers(0, int(channels.get(n).maximum))) for n in counter_names}
    return Record(
        draw(st.integers(0, MAX_SEQ)),
        draw(st.integers(0, MAX_TS)),
        draw(st.sampled_from([60, 900]) | st.integers(1, MAX_PERIOD_S)),
        draw(st.sampled_from(CLOCKS)),
        draw(st.integers(0, MAX_COUNT)),
        draw(st.integers(0, MAX_COUNT)),
        draw(st.just(1) | st.integers(1, MAX_COUNT)),
        stats,
        counters,
    )


@st.composite
def series(draw: st.DrawFn) -> list[Record]:
    """Consecutive minutes of one meter with a fixed channel set: the common case."""
    n = draw(st.integers(1, 30))
    names = draw(st.lists(st.sampled_from(INSTANT), unique=True, min_size=1, max_size=6))
    seq = draw(st.integers(0, 10**9))
    ts = draw(st.integers(1_500_000_000, 2_000_000_000))
    counter = draw(st.integers(0, 10**12))
    out = []
    for j in range(n):
        stats = {
            nm: draw(st.tuples(instant_value(nm), instant_value(nm), instant_value(nm)))
            for nm in names
        }
        counter += draw(st.integers(0, 5000))
        out.append(Record(seq + j, ts + 60 * j, 60, 0, 60, 60, 1, stats, {"e_imp_wh": counter}))
    return out


batches = st.builds(
    Batch,
    device_ids,
    st.lists(records(), min_size=1, max_size=12) | series(),
    st.booleans(),
)
small_batches = st.builds(
    Batch, device_ids, st.lists(records(), min_size=1, max_size=4), st.booleans()
)


def assert_within_resolution(got: Batch, want: Batch) -> None:
    assert got == want
    for a, b in zip(got.records, want.records, strict=True):
        assert a.counters == b.counters
        assert set(a.stats) == set(b.stats)
        for name, triple in b.stats.items():
            res = channels.get(name).resolution
            for x, y in zip(a.stats[name], triple, strict=True):
                assert abs(x - y) <= res / 2 + 1e-9 * max(1.0, abs(y))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batches, st.sampled_from([None, True, False]))
def test_any_batch_round_trips_within_resolution(batch: Batch, compress: bool | None) -> None:
    assert_within_resolution(decode_batch(encode_batch(batch, compress=compress)), batch)


@settings(max_examples=100, deadline=None)
@given(
    device_ids,
    st.lists(
        st.tuples(
            st.integers(0, (1 << 50) - 1),
            st.dictionaries(st.sampled_from(INSTANT), st.floats(-1e7, 1e7), max_size=6),
        ),
        min_size=1,
        max_size=30,
    ),
)
def test_any_live_payload_round_trips(
    dev: str, samples: list[tuple[int, dict[str, float]]]
) -> None:
    got_dev, got = decode_live(encode_live(dev, samples))
    assert got_dev == dev
    assert [ts for ts, _ in got] == [ts for ts, _ in samples]
    for (_, a), (_, b) in zip(got, samples, strict=True):
        assert set(a) == set(b)
        for name, value in b.items():
            assert abs(a[name] - value) <= channels.get(name).resolution / 2 + 1e-9 * abs(value)


def decodes_or_decode_error(data: bytes) -> None:
    """The decoders' contract: a valid object, or DecodeError - never anything else.

    The binary decoders also wrap any unexpected exception in a DecodeError
    ("malformed ..."): that safety net must never be what caught the bytes.
    """
    try:
        batch = decode_batch(data)
    except DecodeError as exc:
        assert not str(exc).startswith("malformed"), exc
    else:
        encode_batch(batch, compress=False)  # whatever decodes is a valid batch
    try:
        dev, samples = decode_live(data)
    except DecodeError as exc:
        assert not str(exc).startswith("malformed"), exc
    else:
        encode_live(dev, samples)
    for decode in (decode_status, decode_command):
        with contextlib.suppress(DecodeError):
            decode(data)


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=300))
def test_arbitrary_bytes(data: bytes) -> None:
    decodes_or_decode_error(data)


@settings(max_examples=500, deadline=None)
@given(st.sampled_from([b"MB\x01\x00", b"MB\x01\x02", b"ML\x01\x00"]), st.binary(max_size=300))
def test_arbitrary_bodies(header: bytes, body: bytes) -> None:
    decodes_or_decode_error(header + body)
    decodes_or_decode_error(header[:3] + bytes([header[3] | 1]) + zlib.compress(body))


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    if draw(st.booleans()):
        data = bytearray(encode_batch(draw(small_batches), compress=draw(st.booleans())))
    else:
        dev = draw(device_ids)
        n = draw(st.integers(1, 5))
        data = bytearray(encode_live(dev, [(1000 * i, {"p_l1_w": float(i)}) for i in range(n)]))
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["flip", "set", "truncate", "insert", "delete"]))
        if not data:
            break
        i = draw(st.integers(0, len(data) - 1))
        if op == "flip":
            data[i] ^= 1 << draw(st.integers(0, 7))
        elif op == "set":
            data[i] = draw(st.integers(0, 255))
        elif op == "truncate":
            del data[i:]
        elif op == "insert":
            data.insert(i, draw(st.integers(0, 255)))
        else:
            del data[i]
    return bytes(data)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutated_payloads(data: bytes) -> None:
    decodes_or_decode_error(data)


@settings(max_examples=100, deadline=None)
@given(small_batches)
def test_every_truncation_is_refused(batch: Batch) -> None:
    """Every byte of a batch is needed: a cut anywhere is detected, never misread."""
    data = encode_batch(batch, compress=False)
    for cut in range(len(data)):
        try:
            decode_batch(data[:cut])
        except DecodeError:
            continue
        raise AssertionError(f"a {cut}-byte prefix of a {len(data)}-byte batch decoded")
