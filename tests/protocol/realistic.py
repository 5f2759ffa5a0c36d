"""Realistic SDM630-style minute records, shared by the protocol tests and size measurements.

A household on three phases: load of ~0.5-5 kW per phase following a daily shape
(night base, morning and evening peaks), appliances switching (a slowly wandering
per-phase level), a few per cent of minute-to-minute noise, and min/max spread
within each minute. Voltage 230 +-3 V, power factor 0.85-0.99, frequency
50 +-0.05 Hz. Currents, total and reactive power follow from those like a real
meter's would, and the energy register integrates the active power.

Deterministic for a given seed (``random.Random``), so sizes are reproducible.
Run ``python -m tests.protocol.realistic`` to print the bytes per record.
"""

from __future__ import annotations

import math
import random
import zlib

from protocol import topics
from protocol.codec import CLOCK_SYNCED, Batch, Record, encode_batch

SDM630_INSTANT = (
    "u_l1_v",
    "u_l2_v",
    "u_l3_v",
    "i_l1_a",
    "i_l2_a",
    "i_l3_a",
    "p_l1_w",
    "p_l2_w",
    "p_l3_w",
    "p_total_w",
    "q_total_var",
    "pf_l1",
    "pf_l2",
    "pf_l3",
    "f_hz",
)
SDM630_COUNTERS = ("e_imp_wh", "e_exp_wh")

START_TS = 1767225600  # 2026-01-01T00:00:00Z
SOFIA_WINTER_OFFSET_H = 2.0  # the daily shape is in local time; UTC+2 in winter


def daily_shape(local_hour: float) -> float:
    """Relative household load, 0..1: night base, morning peak, midday, evening peak."""

    def bump(centre: float, width: float) -> float:
        d = (local_hour - centre + 12.0) % 24.0 - 12.0
        return math.exp(-((d / width) ** 2))

    shape = 0.08 + 0.45 * bump(7.5, 1.2) + 0.25 * bump(13.0, 3.0) + 0.85 * bump(19.5, 2.0)
    return min(shape, 1.0)


def realistic_records(
    n: int,
    *,
    seed: int = 1,
    start_ts: int = START_TS,
    start_seq: int = 1000,
    noise: float = 0.03,
) -> list[Record]:
    """``n`` consecutive 1-minute records of one simulated SDM630 household meter."""
    rng = random.Random(seed)
    peak_w = [rng.uniform(3500.0, 5000.0) for _ in range(3)]
    level = [1.0, 1.0, 1.0]  # appliances switching: a slowly wandering multiplier per phase
    u_drift = [0.0, 0.0, 0.0]
    pf_base = [rng.uniform(0.88, 0.96) for _ in range(3)]
    e_imp = rng.randint(1_000_000, 50_000_000)
    e_imp_frac = 0.0
    e_exp = rng.randint(0, 20_000)
    records = []
    for k in range(n):
        ts = start_ts + 60 * k
        hour = ((ts / 3600.0) + SOFIA_WINTER_OFFSET_H) % 24.0
        shape = daily_shape(hour)
        stats: dict[str, tuple[float, float, float]] = {}
        p_means, p_mins, p_maxs, q_means, q_lo, q_hi = [], [], [], [], [], []
        for ph in range(3):
            level[ph] = min(1.3, max(0.7, level[ph] + rng.gauss(0.0, 0.02)))
            base = 500.0 + (peak_w[ph] - 500.0) * shape * level[ph]
            p = max(300.0, base * (1.0 + rng.gauss(0.0, noise)))
            p_min = p * (1.0 - rng.uniform(0.01, 0.08))
            p_max = p * (1.0 + rng.uniform(0.01, 0.12))
            u_drift[ph] = min(2.0, max(-2.0, u_drift[ph] + rng.gauss(0.0, 0.15)))
            u = min(233.0, max(227.0, 230.0 + u_drift[ph] + rng.gauss(0.0, 0.3)))
            u_min = u - rng.uniform(0.2, 1.5)
            u_max = u + rng.uniform(0.2, 1.5)
            pf = min(0.99, max(0.85, pf_base[ph] + rng.gauss(0.0, 0.005)))
            pf_min = max(0.85, pf - rng.uniform(0.003, 0.03))
            pf_max = min(0.99, pf + rng.uniform(0.003, 0.03))
            # The meter measures current on its own: the mean of i over the minute is
            # close to, not exactly, mean(p) / (mean(u) * mean(pf)).
            i = p / (u * pf) * (1.0 + rng.gauss(0.0, 0.003))
            i_min = i * (1.0 - (p - p_min) / p * rng.uniform(0.9, 1.1))
            i_max = i * (1.0 + (p_max - p) / p * rng.uniform(0.9, 1.1))
            stats[f"u_l{ph + 1}_v"] = (u, u_min, u_max)
            stats[f"i_l{ph + 1}_a"] = (i, i_min, i_max)
            stats[f"p_l{ph + 1}_w"] = (p, p_min, p_max)
            stats[f"pf_l{ph + 1}"] = (pf, pf_min, pf_max)
            tan_phi = math.sqrt(1.0 - pf * pf) / pf
            p_means.append(p)
            p_mins.append(p_min)
            p_maxs.append(p_max)
            q_means.append(p * tan_phi)
            q_lo.append((p - p_min) * tan_phi)
            q_hi.append((p_max - p) * tan_phi)
        total = sum(p_means)
        # Phases rarely bottom out or peak in the same second: the total's spread
        # is narrower than the sum of the phases' spreads.
        stats["p_total_w"] = (
            total,
            total - 0.5 * (total - sum(p_mins)),
            total + 0.5 * (sum(p_maxs) - total),
        )
        q = sum(q_means)
        stats["q_total_var"] = (q, q - 0.5 * sum(q_lo), q + 0.5 * sum(q_hi))
        f = min(50.05, max(49.95, 50.0 + rng.gauss(0.0, 0.015)))
        stats["f_hz"] = (
            f,
            max(49.95, f - rng.uniform(0.005, 0.03)),
            min(50.05, f + rng.uniform(0.005, 0.03)),
        )
        e_imp_frac += total / 60.0
        whole = int(e_imp_frac)
        e_imp += whole
        e_imp_frac -= whole
        samples = 60 if rng.random() > 0.02 else rng.randint(55, 59)
        records.append(
            Record(
                start_seq + k,
                ts,
                60,
                CLOCK_SYNCED,
                samples,
                60,
                1,
                stats,
                {"e_imp_wh": e_imp, "e_exp_wh": e_exp},
            )
        )
    return records


def realistic_batch(
    n: int = 30, *, device_id: str = "me-000123", seed: int = 1, **kw: int
) -> Batch:
    """A Batch of ``n`` realistic records."""
    return Batch(device_id, realistic_records(n, seed=seed, **kw))


# MQTT PUBLISH at QoS 1 costs, besides the payload: fixed header (1) + remaining
# length (2 up to 16 KiB) + topic length (2) + topic + packet id (2) + MQTT v5
# property length (1); then the broker's PUBACK (4). TLS adds ~22-29 bytes per
# record it sends (header, nonce, tag); one publish is one TLS record.
MQTT_PUBACK_BYTES = 4
TLS_RECORD_BYTES = 29


def mqtt_overhead(device_id: str) -> int:
    """Bytes one QoS 1 uplink publish costs on top of its payload (MQTT v5, PUBACK, TLS)."""
    return 1 + 2 + 2 + len(topics.uplink(device_id)) + 2 + 1 + MQTT_PUBACK_BYTES + TLS_RECORD_BYTES


def bytes_per_record(
    batch_size: int,
    *,
    days: int = 30,
    compress: bool | None = None,
    seed: int = 1,
    device_id: str = "me-000123",
) -> tuple[float, float]:
    """(payload bytes, payload + MQTT/TLS bytes) per record over ``days`` of 1-minute records."""
    n = days * 1440
    records = realistic_records(n, seed=seed)
    payload = 0
    messages = 0
    for i in range(0, n, batch_size):
        payload += len(
            encode_batch(Batch(device_id, records[i : i + batch_size]), compress=compress)
        )
        messages += 1
    total = payload + messages * mqtt_overhead(device_id)
    return payload / n, total / n


def main() -> None:
    """Print the size table used in docs/protocol.md (30 days, one household meter)."""
    print(f"zlib {zlib.ZLIB_VERSION}")
    print("batch  payload B/rec  +MQTT/TLS B/rec  never-compressed B/rec  MB/30 days")
    for size in (15, 30, 60):
        auto, auto_total = bytes_per_record(size)
        plain, _ = bytes_per_record(size, compress=False)
        mb = auto_total * 30 * 1440 / 1e6
        print(f"{size:5d}  {auto:13.1f}  {auto_total:15.1f}  {plain:22.1f}  {mb:10.2f}")


if __name__ == "__main__":
    main()
