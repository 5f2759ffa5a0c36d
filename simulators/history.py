"""History backfill: days of one-minute records before the stack's live meters start.

A fresh demo would show an empty portal for hours. So before its agents start,
``myenergy-stack`` gives every demo device N days (default 2) of the records its
module would have uploaded, and feeds them through ingest's real pipeline
(``Pipeline.handle_batch``: decode, validate, store, rollups, device state), so
the 15-minute, hour, day and month rollups exist as they would in production.

The records come from the same load model the live meter uses
(:class:`~simulators.load.LoadModel`, same seed, profile, PV, scale and phases):
``instant_series`` gives the 1-second instants a module polls (each record holds
their mean, min and max over its minute, 60 of 60 samples), and the counters are
one function of time for history and live alike::

    counter(t) = C0 - energy_between(t, M)      t <= M   (history)
    counter(t) = C0 + energy_between(M, t)      t >= M   (the live meter)

where ``M`` is the minute the live meter's load starts at
(:func:`simulators.stack_meters.start_meter` with ``start=M``) and ``C0`` its
counters there (:func:`simulators.stack_meters.meter_load`). History ends
exactly where the meter starts, so the counters join without a step. Each
counter is shown as the meter shows it (truncated to its resolution, float32 or
integer register) and floored to whole units as the agent does, so the joined
series never steps back by a rounding.

Sequence numbers: history takes the next numbers of the device's queue, and the
queue's ``next_seq`` moves past them (:func:`reserve_seqs`), as if the module had
uploaded them itself; ingest's gap tracking then sees one unbroken numbering.
"""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edge_agent.queue import RecordQueue
from hardware.model import TYPES, MeterMap, Point
from hardware.registers import decode_point, encode_point
from hardware.vocabulary import COUNTER
from ingest.pipeline import Message, Pipeline
from protocol import topics
from protocol.codec import encode_batch
from protocol.records import CLOCK_SYNCED, PERIOD_RAW_S, Batch, Record
from simulators.load import LoadModel
from simulators.stack_sites import Site

__all__ = [
    "BATCH_RECORDS",
    "DAY_S",
    "FLOAT_COUNTER_RESOLUTION_WH",
    "HistoryResult",
    "backfill",
    "history_records",
    "reserve_seqs",
    "shown_counter",
]

DAY_S = 86_400
# Records per uplink message, as the agent's default mqtt.batch_max_records.
BATCH_RECORDS = 60
# SimulatedMeter's default resolution of float counter registers.
FLOAT_COUNTER_RESOLUTION_WH = 10.0
_SAMPLES = PERIOD_RAW_S  # a production module polls every second

Progress = Callable[[str, int, int], None]
"""``progress(device_id, records_done, records_total)``."""


def shown_counter(point: Point, value: float, float_resolution_wh: float) -> int:
    """What the agent stores for a counter whose true value is ``value``.

    The meter truncates to its resolution and encodes into its register (float32
    rounding, or an integer register that wraps and saturates), the agent decodes
    and floors to whole units: the same steps as :class:`~simulators.meter.SimulatedMeter`
    and the agent's poller, so history and live readings compare exactly.
    """
    info = TYPES[point.type]
    res = float_resolution_wh if info.is_float else abs(point.scale)
    value = math.floor(value / res + 1e-9) * res
    if info.is_float:
        try:
            regs = encode_point(point, value)
        except ValueError:
            regs = encode_point(point, math.copysign(math.inf, value))
    else:
        raw = round(value / point.scale)
        bits = 16 * info.words
        raw %= 1 << bits
        if info.minimum < 0 and raw > info.maximum:
            raw -= 1 << bits
        raw = min(max(raw, info.minimum), info.maximum)
        regs = encode_point(point, raw * point.scale)
    return math.floor(decode_point(point, regs))


def _site_load(site: Site, start: float) -> LoadModel:
    return LoadModel(
        site.seed, site.profile, site.pv_kw, start=start, scale=site.scale, phases=site.phases
    )


def history_records(
    site: Site,
    end: int,
    days: float,
    end_counters: Mapping[str, float],
    first_seq: int,
    *,
    float_resolution_wh: float = FLOAT_COUNTER_RESOLUTION_WH,
) -> Iterator[list[Record]]:
    """One-minute records of ``site`` from ``end - days`` up to ``end`` (a whole minute), a
    day (or what is left) per list, oldest first; counters end at ``end_counters``."""
    if end % PERIOD_RAW_S:
        raise ValueError(f"history must end on a whole minute, got {end}")
    minutes = round(days * DAY_S / PERIOD_RAW_S)
    if minutes <= 0:
        return
    start = end - minutes * PERIOD_RAW_S
    meter_map: MeterMap = site.meter_map
    counter_points = [p for p in meter_map.points if p.kind == COUNTER]
    instants = [p.channel for p in meter_map.points if p.kind != COUNTER]
    load = _site_load(site, start)
    # Counters at every minute's end, ascending (the model's running sum extends
    # cheaply forward), then at ``end``: the offset that makes them meet C0 there.
    ends = range(start + PERIOD_RAW_S, end + 1, PERIOD_RAW_S)
    raw = [load.counters_at(t) for t in ends]
    at_end = raw[-1]
    shift = {p.channel: end_counters[p.channel] - at_end[p.channel] for p in counter_points}
    seq = first_seq
    per_chunk = DAY_S // PERIOD_RAW_S
    for chunk_start in range(0, minutes, per_chunk):
        n = min(per_chunk, minutes - chunk_start)
        t0 = start + chunk_start * PERIOD_RAW_S
        series = load.instant_series(t0, n * _SAMPLES)
        stats: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        for channel in instants:
            block = series[channel].reshape(n, _SAMPLES)
            stats[channel] = (block.mean(axis=1), block.min(axis=1), block.max(axis=1))
        records = []
        for i in range(n):
            counters = raw[chunk_start + i]
            records.append(
                Record(
                    seq,
                    t0 + i * PERIOD_RAW_S,
                    PERIOD_RAW_S,
                    CLOCK_SYNCED,
                    _SAMPLES,
                    _SAMPLES,
                    1,
                    {
                        ch: (float(mean[i]), float(lo[i]), float(hi[i]))
                        for ch, (mean, lo, hi) in stats.items()
                    },
                    {
                        p.channel: shown_counter(
                            p, max(0.0, counters[p.channel] + shift[p.channel]), float_resolution_wh
                        )
                        for p in counter_points
                    },
                )
            )
            seq += 1
        yield records


def reserve_seqs(queue_path: Path, count: int, max_bytes: int) -> int:
    """Take ``count`` sequence numbers of the device's queue for history; the first one.

    The queue's ``next_seq`` (a never-lowered counter in its ``meta`` table) moves
    past them before the agent opens the queue, so its live records number on after
    the history, and ingest sees one numbering without gaps.
    """
    queue = RecordQueue(queue_path, max_bytes)  # creates or checks the schema
    first = queue.next_seq
    queue.close()
    db = sqlite3.connect(queue_path)
    try:
        with db:
            db.execute("UPDATE meta SET value = ? WHERE key = 'next_seq'", (first + count,))
    finally:
        db.close()
    return first


@dataclass(frozen=True)
class HistoryResult:
    device_id: str
    records: int
    refused: int  # records ingest dead-lettered (0 unless something is wrong)
    first_seq: int


def _messages(device_id: str, records: Sequence[Record]) -> list[Message]:
    topic = topics.uplink(device_id)
    return [
        (topic, encode_batch(Batch(device_id, list(records[i : i + BATCH_RECORDS]), True)), False)
        for i in range(0, len(records), BATCH_RECORDS)
    ]


def backfill(
    pipeline: Pipeline,
    site: Site,
    *,
    end: int,
    days: float,
    end_counters: Mapping[str, float],
    first_seq: int,
    progress: Progress | None = None,
) -> HistoryResult:
    """Feed ``days`` of history of ``site`` through ``pipeline``, a day per batch."""
    total = round(days * DAY_S / PERIOD_RAW_S)
    done = refused = 0
    for records in history_records(site, end, days, end_counters, first_seq):
        outcomes = pipeline.handle_batch(_messages(site.device_id, records))
        stored = sum(o.records for o in outcomes)
        refused += len(records) - stored
        done += len(records)
        if progress is not None:
            progress(site.device_id, done, total)
    return HistoryResult(site.device_id, done, refused, first_seq)
