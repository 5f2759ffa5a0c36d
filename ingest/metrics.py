"""Prometheus metrics of one ingest worker, served on a loopback port.

Each :class:`Metrics` has its own ``CollectorRegistry`` so several workers (or
tests) in one process never collide on metric names.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

LOOPBACK = "127.0.0.1"


class Metrics:
    """The counters, gauges and histograms docs/ingest.md lists."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.messages = Counter(
            "myenergy_ingest_messages", "Messages received by topic kind", ["kind"], registry=r
        )
        self.records = Counter(
            "myenergy_ingest_records_written", "Meter records written to the store", registry=r
        )
        self.points = Counter(
            "myenergy_ingest_points_written",
            "Points written (records, live samples, energy rows)",
            registry=r,
        )
        self.write_seconds = Histogram(
            "myenergy_ingest_write_seconds",
            "Time to store one batch of messages (records/live and its rollups)",
            registry=r,
        )
        self.dead_letters = Counter(
            "myenergy_ingest_dead_letters", "Refused messages by reason", ["reason"], registry=r
        )
        self.store_failures = Counter(
            "myenergy_ingest_store_failures",
            "Store writes that failed (message not acked)",
            registry=r,
        )
        self.acks = Counter(
            "myenergy_ingest_acks", "Messages acknowledged to the broker", registry=r
        )
        self.lag = Gauge(
            "myenergy_ingest_consumer_lag_seconds",
            "Now minus the newest record timestamp just stored",
            registry=r,
        )
        self.gaps = Gauge(
            "myenergy_ingest_sequence_gap_records",
            "Records missing between received sequence ranges, all devices",
            registry=r,
        )

    def serve(self, port: int, host: str = LOOPBACK) -> int:
        """Start the HTTP endpoint in a daemon thread; the bound port (``port`` 0 = any free)."""
        server, _thread = start_http_server(port, addr=host, registry=self.registry)
        return int(server.server_address[1])

    def value(self, name: str, labels: dict[str, str] | None = None) -> float:
        """A sample's current value (0 when absent), for tests and the CLI."""
        got = self.registry.get_sample_value(name, labels or {})
        return 0.0 if got is None else float(got)
