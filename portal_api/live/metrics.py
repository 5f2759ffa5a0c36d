"""Prometheus metrics of the live link, registered in the registry the app passes in."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge

__all__ = ["LiveMetrics"]


class LiveMetrics:
    """Watchers, watched devices, commands sent, events dropped, messages refused."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        # A private registry by default: several hubs in one process (tests) never
        # collide on metric names in the global one.
        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry
        self.watchers = Gauge(
            "myenergy_portal_live_watchers",
            "Open live subscriptions (SSE streams) in this portal process",
            registry=r,
        )
        self.devices = Gauge(
            "myenergy_portal_live_devices",
            "Devices this portal process keeps in live mode",
            registry=r,
        )
        self.commands = Counter(
            "myenergy_portal_live_commands_sent",
            "Live commands published (first watcher, renewals, after reconnects)",
            registry=r,
        )
        self.dropped = Counter(
            "myenergy_portal_live_events_dropped",
            "Live events dropped because a watcher fell behind",
            registry=r,
        )
        self.invalid = Counter(
            "myenergy_portal_live_invalid_messages",
            "Live or status messages that did not decode",
            registry=r,
        )
