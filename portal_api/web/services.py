"""The services one portal process runs, built from its configuration.

``create_app(config)`` builds them in the app's lifespan (never at import):
the relational database (migrated at start), the accounts service, the
read side of the time-series store, the live hub and the web layer's
directory of sites and devices. Tests build their own :class:`Services` (real
SQLite database, real store, a hub on a test broker) and pass it in; whoever
builds the services also closes them.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from ingest.store import open_store
from ingest.store.base import TimeSeriesStore
from portal_api.accounts.service import Accounts
from portal_api.config import PortalConfig
from portal_api.consumption.service import ConsumptionService
from portal_api.contracts.domain.interest import RateTable
from portal_api.contracts.settings import BillingSettings, billing_settings, rate_table
from portal_api.db.engine import make_engine, session_factory
from portal_api.db.migrate import migrate
from portal_api.domain.workdays import WorkingDays
from portal_api.live.hub import LiveHub
from portal_api.live.settings import hub_config
from portal_api.notify.outbox import Outbox
from portal_api.notify.smtp import SmtpSender
from portal_api.notify.worker import OutboxWorker
from portal_api.web.directory import Directory

__all__ = ["Services", "build_services", "utc_now"]


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass
class Services:
    """What the routes call; ``live`` is None when the portal runs without a broker."""

    config: PortalConfig
    sessions: sessionmaker[Session]
    accounts: Accounts
    consumption: ConsumptionService
    directory: Directory
    live: LiveHub | None
    # Sends the outbox while the portal runs; None when [smtp] enabled = false.
    outbox_worker: OutboxWorker | None = None
    clock: Callable[[], dt.datetime] = utc_now
    # The contract engine (issue 5): Bulgarian working days, the [billing] section
    # (None when it is not configured: invoices cannot be issued then) and 4.4's rates.
    calendar: WorkingDays = field(default_factory=WorkingDays)
    billing: BillingSettings | None = None
    rates: RateTable = field(default_factory=lambda: RateTable(()))
    closers: list[Callable[[], None]] = field(default_factory=list)

    def start(self) -> None:
        if self.live is not None:
            self.live.start()
        if self.outbox_worker is not None:
            self.outbox_worker.start()

    def close(self) -> None:
        """Stop the hub, close the store and the engine (last opened, first closed)."""
        if self.live is not None:
            self.live.stop()
        if self.outbox_worker is not None:
            self.outbox_worker.stop()
        for close in reversed(self.closers):
            close()
        self.closers.clear()


def build_services(
    config: PortalConfig,
    *,
    with_live: bool = True,
    with_outbox: bool = True,
    clock: Callable[[], dt.datetime] = utc_now,
    device_clock: Callable[[], float] = time.time,
) -> Services:
    """Open everything ``config`` names; the database is migrated first.

    ``clock`` (aware UTC) is every service's "now": tests pass a fixed one.
    ``device_clock`` (UTC unix seconds) is the devices' time, which the expiry of a
    live command is written in: the stack's simulated clock runs ahead of ours.
    """
    migrate(config.database.url)
    engine: Engine = make_engine(config.database.url)
    sessions = session_factory(engine)
    store: TimeSeriesStore = open_store(config.store.store_config())
    outbox = Outbox(sessions, clock)
    accounts = Accounts(sessions, clock, config.security, outbox, WorkingDays())
    return Services(
        config=config,
        sessions=sessions,
        accounts=accounts,
        consumption=ConsumptionService(store),
        directory=Directory(sessions),
        live=(
            LiveHub(hub_config(config.mqtt, config.live), clock=device_clock) if with_live else None
        ),
        outbox_worker=(
            OutboxWorker(SmtpSender(config.smtp, sessions, clock))
            if with_outbox and config.smtp.enabled
            else None
        ),
        clock=clock,
        calendar=WorkingDays(),
        billing=None if config.billing is None else billing_settings(config.billing),
        rates=rate_table(config.billing),
        closers=[engine.dispose, store.close],
    )
