"""Realistic SDM630-style minute records, shared by the protocol tests and size measurements.

A household on three phases: load of ~0.5-5 kW per phase following a daily shape
(night base, morning and evening peaks), appliances switching (a slowly wandering
per-phase level), a few per cent of minute-to-minute noise, and min/max spread
within each minute. Voltage 230 +-3 V, power factor 0.85-0.99, frequency
50 +-0.05 Hz. Reactive and apparent power, currents and the totals follow from
those like a real meter's would, and the ten registers integrate the power in
the meter's 10 Wh steps. Pure Python, so the MicroPython tests can use it; the
size figures of docs/protocol.md come from the simulator (``simulator_records``).

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
    "q_l1_var",
    "q_l2_var",
    "q_l3_var",
    "q_total_var",
    "s_l1_va",
    "s_l2_va",
    "s_l3_va",
    "s_total_va",
    "pf_l1",
    "pf_l2",
    "pf_l3",
    "pf_total",
    "f_hz",
)
SDM630_COUNTERS = (
    "e_imp_wh",
    "e_exp_wh",
    "e_imp_l1_wh",
    "e_imp_l2_wh",
    "e_imp_l3_wh",
    "e_exp_l1_wh",
    "e_exp_l2_wh",
    "e_exp_l3_wh",
    "er_imp_varh",
    "er_exp_varh",
)
REGISTER_STEP = 10  # an SDM630 counts 0.01 kWh: its registers move in 10 Wh steps

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
    # exact energy in Wh; the registers show it truncated to REGISTER_STEP
    energy = {name: float(rng.randint(0, 5_000_000)) for name in SDM630_COUNTERS}
    energy["e_imp_wh"] = sum(energy[f"e_imp_l{ph}_wh"] for ph in (1, 2, 3))
    records = []
    for k in range(n):
        ts = start_ts + 60 * k
        hour = ((ts / 3600.0) + SOFIA_WINTER_OFFSET_H) % 24.0
        shape = daily_shape(hour)
        stats: dict[str, tuple[float, float, float]] = {}
        totals = {"p": [0.0, 0.0, 0.0], "q": [0.0, 0.0, 0.0], "s": [0.0, 0.0, 0.0]}
        for ph in range(3):
            n_ph = ph + 1
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
            pf_min = max(0.85, pf - rng.uniform(0.0, 0.004))
            pf_max = min(0.99, pf + rng.uniform(0.0, 0.004))
            # The meter derives Q and S from its samples: Q = P tan(phi), S = hypot(P, Q).
            tan_phi = math.sqrt(1.0 - pf * pf) / pf
            q = (p * tan_phi, p_min * tan_phi, p_max * tan_phi)
            s = (p / pf, p_min / pf, p_max / pf)
            # It measures current on its own: close to, not exactly, S / U.
            i = s[0] / u * (1.0 + rng.gauss(0.0, 0.003))
            i_min = i * (1.0 - (p - p_min) / p * rng.uniform(0.9, 1.1))
            i_max = i * (1.0 + (p_max - p) / p * rng.uniform(0.9, 1.1))
            stats[f"u_l{n_ph}_v"] = (u, u_min, u_max)
            stats[f"i_l{n_ph}_a"] = (i, i_min, i_max)
            stats[f"p_l{n_ph}_w"] = (p, p_min, p_max)
            stats[f"q_l{n_ph}_var"] = q
            stats[f"s_l{n_ph}_va"] = s
            stats[f"pf_l{n_ph}"] = (pf, pf_min, pf_max)
            for key, (mean, lo, hi) in (("p", (p, p_min, p_max)), ("q", q), ("s", s)):
                totals[key][0] += mean
                totals[key][1] += mean - lo
                totals[key][2] += hi - mean
            energy[f"e_imp_l{n_ph}_wh"] += p / 60.0
        for key, name in (("p", "p_total_w"), ("q", "q_total_var"), ("s", "s_total_va")):
            # Phases rarely peak in the same second: the total's spread is
            # narrower than the sum of the phases' spreads.
            total, lows, highs = totals[key]
            stats[name] = (total, total - 0.5 * lows, total + 0.5 * highs)
        pf_total = stats["p_total_w"][0] / stats["s_total_va"][0]
        stats["pf_total"] = (pf_total, pf_total - 0.003, min(1.0, pf_total + 0.003))
        f = min(50.05, max(49.95, 50.0 + rng.gauss(0.0, 0.015)))
        stats["f_hz"] = (
            f,
            max(49.95, f - rng.uniform(0.005, 0.03)),
            min(50.05, f + rng.uniform(0.005, 0.03)),
        )
        energy["e_imp_wh"] += stats["p_total_w"][0] / 60.0
        energy["er_imp_varh"] += stats["q_total_var"][0] / 60.0
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
                {
                    name: int(energy[name] // REGISTER_STEP) * REGISTER_STEP
                    for name in SDM630_COUNTERS
                },
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


def simulator_records(n: int) -> list[Record]:
    """``n`` minutes of the simulator's SDM630 with PV (bench/records.py), seqs from 1.

    The size figures of docs/protocol.md. Needs numpy: CPython only.
    """
    from bench.records import minute_records

    records = minute_records(n)
    for i, r in enumerate(records):
        r.seq = i + 1
    return records


def bytes_per_record(
    batch_size: int,
    *,
    days: float = 30,
    compress: bool | None = None,
    seed: int = 1,
    device_id: str = "me-000123",
    simulator: bool = False,
) -> tuple[float, float]:
    """(payload bytes, payload + MQTT/TLS bytes) per record over ``days`` of 1-minute
    records: this module's household, or with ``simulator`` the simulator's."""
    n = int(days * 1440)
    records = simulator_records(n) if simulator else realistic_records(n, seed=seed)
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
    """Print the size tables of docs/protocol.md (the simulator's takes seconds, ours a minute)."""
    print(f"zlib {zlib.ZLIB_VERSION}")
    for title, days, simulator, device_id in (
        ("simulator SDM630 with PV, 3 days", 3, True, "demo-sdm630-1"),
        ("this module's household, 30 days", 30, False, "me-000123"),
    ):
        print(f"{title}, device id {device_id}")
        print("batch  payload B/rec  +MQTT/TLS B/rec  never-compressed B/rec  MB/30 days")
        for size in (15, 30, 60):
            auto, auto_total = bytes_per_record(
                size, days=days, simulator=simulator, device_id=device_id
            )
            plain, _ = bytes_per_record(
                size, days=days, simulator=simulator, device_id=device_id, compress=False
            )
            mb = auto_total * 30 * 1440 / 1e6
            print(f"{size:5d}  {auto:13.1f}  {auto_total:15.1f}  {plain:22.1f}  {mb:10.2f}")


if __name__ == "__main__":
    main()
