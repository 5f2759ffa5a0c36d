"""Run every benchmark and print a summary against the targets of issue 2.

``python -m bench`` (or ``scripts/bench``). Figures are printed, never asserted in
tests: wall-clock numbers depend on the machine.
"""

from __future__ import annotations

import sys

from bench import (
    agent_memory,
    bus,
    firmware_memory,
    firmware_records,
    ingest,
    live_delay,
    portal_api,
    queries,
    uplink,
)
from edge_agent.logging_setup import configure_logging


def main() -> int:
    configure_logging("WARNING", "console", stream=sys.stderr)
    figures: dict[str, float] = {}
    figures.update(bus.run())
    print()
    figures.update(uplink.run())
    print()
    figures.update(agent_memory.run())
    print()
    figures.update(firmware_memory.run())
    print()
    figures.update(firmware_records.run())
    print()
    figures.update(ingest.run())
    print()
    figures.update(queries.run())
    print()
    figures.update(portal_api.run())
    print()
    figures.update(live_delay.run())
    print()
    rows = [
        (
            "bus: requests per full SDM630 read",
            f"{figures['bus_requests']:.0f}",
            "<= 2",
            figures["bus_requests"] <= 2,
        ),
        (
            "bus: measured / wire time at 9600 baud",
            f"{figures['bus_ratio']:.3f}",
            "0.85..1.15",
            0.85 <= figures["bus_ratio"] <= 1.15,
        ),
        (
            "uplink: MB per meter per 30 days",
            f"{figures['month_bytes'] / 1e6:.3f}",
            "<= 2",
            figures["month_bytes"] <= 2e6,
        ),
        (
            "uplink: naive JSON baseline, MB",
            f"{figures['naive_bytes'] / 1e6:.1f}",
            "(reference)",
            True,
        ),
        (
            "backlog: 24 h delivered, s",
            f"{figures['backlog_s']:.2f}",
            "< 10",
            figures["backlog_s"] < 10,
        ),
        (
            "agent: peak RSS, MB",
            f"{figures['agent_rss_mb']:.1f}",
            "<= 60",
            figures["agent_rss_mb"] <= 60,
        ),
        (
            "firmware: live set on MicroPython, KB",
            f"{figures['fw_live_kb']:.1f}",
            "(reference)",
            True,
        ),
        (
            "firmware: smallest heap for 1 h, KB",
            f"{figures['fw_min_heap_kb']:.1f}",
            "(reference)",
            True,
        ),
        (
            "firmware: flash bytes per raw minute",
            f"{figures['fw_flash_raw_b']:.1f}",
            "(reference)",
            True,
        ),
        (
            "firmware: flash bytes per coarse minute",
            f"{figures['fw_flash_coarse_b']:.1f}",
            "(reference)",
            True,
        ),
        (
            "ingest: 1 worker / InfluxDB ceiling",
            f"{figures['ingest_one'] / figures['ingest_ceiling']:.2f}",
            ">= 0.50",
            figures["ingest_one"] >= 0.5 * figures["ingest_ceiling"],
        ),
        (
            "ingest: 1 worker, records/s",
            f"{figures['ingest_one']:.0f}",
            "(reference)",
            True,
        ),
        (
            "ingest: 2 workers, records/s",
            f"{figures['ingest_two']:.0f}",
            "(reference)",
            True,
        ),
        (
            "ingest: InfluxDB ceiling, records/s",
            f"{figures['ingest_ceiling']:.0f}",
            "(reference)",
            True,
        ),
        (
            "ingest: naive baseline, records/s",
            f"{figures['ingest_naive']:.0f}",
            "(reference)",
            True,
        ),
        (
            "queries: worst p95 on InfluxDB, ms",
            f"{figures['query_p95_influx_ms']:.1f}",
            "< 100",
            figures["query_p95_influx_ms"] < 100,
        ),
        (
            "queries: worst p95 on SQLite, ms",
            f"{figures['query_p95_sqlite_ms']:.1f}",
            "< 100",
            figures["query_p95_sqlite_ms"] < 100,
        ),
        *(
            (
                f"API: {view} p95 on {name}, ms",
                f"{figures[f'api_{key}_{view}_p95_ms']:.1f}",
                "< 100",
                figures[f"api_{key}_{view}_p95_ms"] < 100,
            )
            for key, name in (("sqlite", "SQLite"), ("influx", "InfluxDB"))
            for view in ("day", "month", "year")
        ),
        (
            "live: sample -> browser event, max s",
            f"{figures['live_delay_max_s']:.3f}",
            "< 2",
            figures["live_delay_max_s"] < 2.0,
        ),
        (
            "live: sample -> browser event, p95 s",
            f"{figures['live_delay_p95_s']:.3f}",
            "(reference)",
            True,
        ),
    ]
    print("== summary ==")
    for name, value, target, ok in rows:
        print(f"  {name:42s} {value:>10s}  target {target:12s} {'ok' if ok else 'MISSED'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
