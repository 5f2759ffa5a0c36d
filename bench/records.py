"""Minute records as the agent would make them from a simulated meter, fast.

The benchmarks need a month of 1-minute records. Polling the simulator for that
would take a month (or hours accelerated), so this builds the same records from the
load model's vectorised 1-second series: per minute, mean/min/max of each instant
channel the meter's map provides, counters at the minute's end truncated to the
meter's 10 Wh register step — what ``edge_agent.aggregate`` produces from 60 polls.
"""

from __future__ import annotations

import math

import numpy as np

from hardware.maps import load_map
from protocol import channels
from protocol.codec import CLOCK_SYNCED, Record
from simulators.load import LoadModel

START = 1_780_272_000  # 2026-06-01 00:00 UTC
COUNTER_STEP_WH = 10  # an SDM630's float kWh registers resolve 0.01 kWh


def minute_records(
    minutes: int, *, model: str = "sdm630", seed: int = 7, pv_kw: float = 4.0, start: int = START
) -> list[Record]:
    """``minutes`` consecutive 1-minute records of one simulated meter."""
    meter_map = load_map(model)
    load = LoadModel(seed, pv_kw=pv_kw, start=start)
    instant = [p.channel for p in meter_map.points if p.kind == channels.INSTANT]
    counters = [p.channel for p in meter_map.points if p.kind == channels.COUNTER]
    records: list[Record] = []
    hour = 60
    for h0 in range(0, minutes, hour):
        n = min(hour, minutes - h0)
        t0 = start + h0 * 60
        series = load.instant_series(t0, n * 60)
        shaped = {c: np.asarray(series[c]).reshape(n, 60) for c in instant}
        means = {c: shaped[c].mean(axis=1) for c in instant}
        lows = {c: shaped[c].min(axis=1) for c in instant}
        highs = {c: shaped[c].max(axis=1) for c in instant}
        for m in range(n):
            ts = t0 + m * 60
            end = load.counters_at(ts + 60)
            records.append(
                Record(
                    0,
                    ts,
                    clock=CLOCK_SYNCED,
                    samples=60,
                    expected=60,
                    stats={
                        c: (float(means[c][m]), float(lows[c][m]), float(highs[c][m]))
                        for c in instant
                    },
                    counters={
                        c: int(math.floor(end[c] / COUNTER_STEP_WH) * COUNTER_STEP_WH)
                        for c in counters
                    },
                )
            )
    return records
