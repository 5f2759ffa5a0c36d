"""Run every benchmark and print a summary against the targets of issue 2.

``python -m bench`` (or ``scripts/bench``). Figures are printed, never asserted in
tests: wall-clock numbers depend on the machine.
"""

from __future__ import annotations

import sys

from bench import agent_memory, bus, uplink
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
    ]
    print("== summary ==")
    for name, value, target, ok in rows:
        print(f"  {name:42s} {value:>10s}  target {target:12s} {'ok' if ok else 'MISSED'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
