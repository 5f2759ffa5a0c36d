"""The uplink data model: Record (one aggregated period of one meter) and Batch.

Plain classes so they run on MicroPython (no dataclasses). Equality is equality
on the wire: two records are equal when they would encode to the same bytes, i.e.
their values quantise to the same resolution steps. That is what tests want
(``decode_batch(encode_batch(b)) == b``) and what ingest means by a duplicate.
"""

from protocol import channels
from protocol.quant import channel_kind, quantise

# How far a record's timestamp can be trusted (docs/protocol.md, "Clock quality"):
CLOCK_SYNCED = 0  # real time, fresh: NTP-synchronised, or recently anchored by `time`
CLOCK_ESTIMATED = 1  # had real time earlier since start, carried forward by the local clock
CLOCK_UNANCHORED = 2  # no real time since start: ts is the device's guess until re-anchored
CLOCKS = (CLOCK_SYNCED, CLOCK_ESTIMATED, CLOCK_UNANCHORED)

PERIOD_RAW_S = 60
PERIOD_COARSE_S = 900

# Wire limits. Far above anything real; they keep a hostile or corrupted payload
# from making the cloud allocate or loop without bound.
MAX_SEQ = (1 << 63) - 1
MAX_TS = (1 << 40) - 1  # unix seconds, year ~36800
MAX_PERIOD_S = 86400
MAX_COUNT = (1 << 32) - 1  # samples, expected, span


def check_int(field: str, value: object, lo: int, hi: int) -> None:
    """ValueError unless ``value`` is an int (not a bool) in lo..hi."""
    # bool is an int on CPython, but True as a sequence number is a bug, not a number.
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError("%s must be an integer, got %r" % (field, value))
    if value < lo or value > hi:
        raise ValueError("%s out of range %d..%d: %d" % (field, lo, hi, value))


class Record:
    """One period (a raw minute, or a coarsened 15 minutes) of one meter.

    ``seq``: per-device record sequence number; a coarsened record carries the
    first seq it covers and ``span`` = how many seqs it covers. ``ts``: UTC unix
    seconds of the period start. ``clock``: one of CLOCK_*. ``samples`` polls that
    contributed out of ``expected``. ``stats``: {instant channel: (mean, min, max)};
    ``counters``: {counter channel: int value at the end of the period}.
    """

    def __init__(  # noqa: PLR0917 - the positional order is the contract (decision 0001)
        self,
        seq: int,
        ts: int,
        period_s: int = PERIOD_RAW_S,
        clock: int = CLOCK_SYNCED,
        samples: int = 0,
        expected: int = 0,
        span: int = 1,
        stats: dict[str, tuple[float, float, float]] | None = None,
        counters: dict[str, int] | None = None,
    ) -> None:
        self.seq = seq
        self.ts = ts
        self.period_s = period_s
        self.clock = clock
        self.samples = samples
        self.expected = expected
        self.span = span
        self.stats = {} if stats is None else stats
        self.counters = {} if counters is None else counters

    @property
    def completeness(self) -> float:
        """samples / expected, capped at 1.0 (0.0 when nothing was expected)."""
        if self.expected <= 0:
            return 0.0
        return min(1.0, self.samples / self.expected)

    def check(self) -> None:
        """Raise ValueError naming the first field that cannot go on the wire."""
        self.quantised()

    def quantised(
        self,
    ) -> tuple[dict[str, tuple[int, int, int]], dict[str, int]]:
        """Check every field; (stats, counters) in resolution steps. ValueError if not encodable."""
        check_int("seq", self.seq, 0, MAX_SEQ)
        check_int("ts", self.ts, 0, MAX_TS)
        check_int("period_s", self.period_s, 1, MAX_PERIOD_S)
        if isinstance(self.clock, bool) or self.clock not in CLOCKS:
            raise ValueError("clock must be one of %r, got %r" % (CLOCKS, self.clock))
        check_int("samples", self.samples, 0, MAX_COUNT)
        check_int("expected", self.expected, 0, MAX_COUNT)
        check_int("span", self.span, 1, MAX_COUNT)
        return self.wire_stats(), self.wire_counters()

    def wire_stats(self) -> dict[str, tuple[int, int, int]]:
        """stats as {channel: (mean, min, max)} in resolution steps; ValueError if not encodable."""
        if not isinstance(self.stats, dict):
            raise ValueError("stats must be a dict, got %r" % (self.stats,))
        out = {}
        for name, triple in self.stats.items():
            if channel_kind(name) != channels.INSTANT:
                raise ValueError("%s is a counter channel, not a stats channel" % name)
            if not isinstance(triple, (tuple, list)) or len(triple) != 3:
                raise ValueError("stats[%s] must be (mean, min, max), got %r" % (name, triple))
            out[name] = (
                quantise(name, triple[0]),
                quantise(name, triple[1]),
                quantise(name, triple[2]),
            )
        return out

    def wire_counters(self) -> dict[str, int]:
        """counters in resolution steps; ValueError if not encodable."""
        if not isinstance(self.counters, dict):
            raise ValueError("counters must be a dict, got %r" % (self.counters,))
        out = {}
        for name, value in self.counters.items():
            if channel_kind(name) != channels.COUNTER:
                raise ValueError("%s is an instant channel, not a counter" % name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValueError("counters[%s] must be an integer, got %r" % (name, value))
            out[name] = quantise(name, value)
        return out

    def _key(self) -> tuple[object, ...]:
        try:
            stats = self.wire_stats()  # type: object
            counters = self.wire_counters()  # type: object
        except ValueError:
            # Not encodable (NaN, unknown channel ...): fall back to plain equality
            # so such records can still be compared, and never equal a valid one.
            stats = ("raw", self.stats)
            counters = ("raw", self.counters)
        return (
            self.seq,
            self.ts,
            self.period_s,
            self.clock,
            self.samples,
            self.expected,
            self.span,
            stats,
            counters,
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Record):
            return NotImplemented
        return self._key() == other._key()

    def __ne__(self, other: object) -> bool:
        # MicroPython does not derive != from __eq__.
        eq = self.__eq__(other)
        return eq if eq is NotImplemented else not eq

    __hash__ = None  # type: ignore[assignment]  # mutable, compared by value

    def __repr__(self) -> str:
        return (
            "Record(seq=%r, ts=%r, period_s=%r, clock=%r, samples=%r, expected=%r, span=%r,"
            " stats=%r, counters=%r)"
            % (
                self.seq,
                self.ts,
                self.period_s,
                self.clock,
                self.samples,
                self.expected,
                self.span,
                self.stats,
                self.counters,
            )
        )


class Batch:
    """Records of one device sent in one uplink message.

    ``historical`` marks a catch-up batch (records buffered while the link was
    down), so the cloud can, e.g., keep live alerts quiet for old data.
    """

    def __init__(self, device_id: str, records: list[Record], historical: bool = False) -> None:
        self.device_id = device_id
        self.records = records
        self.historical = historical

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Batch):
            return NotImplemented
        return (
            self.device_id == other.device_id
            and bool(self.historical) == bool(other.historical)
            and list(self.records) == list(other.records)
        )

    def __ne__(self, other: object) -> bool:
        eq = self.__eq__(other)
        return eq if eq is NotImplemented else not eq

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return "Batch(device_id=%r, records=<%d records>, historical=%r)" % (
            self.device_id,
            len(self.records),
            self.historical,
        )
