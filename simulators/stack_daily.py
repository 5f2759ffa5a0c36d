"""The contract engine's daily run inside ``myenergy-stack``.

In production a timer runs ``myenergy-portal daily`` once a day. The stack has
no timer, and its clock may run ``--speed`` times faster than ours, so a thread
runs the day at start and again whenever the simulated local (Europe/Sofia) date
changes: the demo contracts get their invoices, interest and proposals as the
simulated months go by. The run is idempotent, so a restarted stack repeats
nothing.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable

from portal_api.contracts.daily import DailyReport, run_daily
from portal_api.contracts.domain.dates import local_date
from portal_api.web.services import Services

__all__ = ["DailyRunner"]

log = logging.getLogger(__name__)
_CHECK_S = 2.0


class DailyRunner:
    """Runs the day of ``services.clock()`` now and on every new simulated day."""

    def __init__(
        self, services: Services, *, on_report: Callable[[DailyReport], None] | None = None
    ) -> None:
        if services.billing is None:
            raise ValueError("the daily run needs the [billing] section")
        self._services = services
        self._on_report = on_report
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="stack-daily", daemon=True)
        self._last: dt.date | None = None

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=30)

    def run_once(self) -> DailyReport | None:
        """The day of the stack's clock, unless it has already run (None then)."""
        services = self._services
        now = services.clock()
        day = local_date(now)
        if day == self._last:
            return None
        assert services.billing is not None
        report = run_daily(
            services.sessions,
            day,
            calendar=services.calendar,
            rates=services.rates,
            billing=services.billing,
            now=now,
            statuses=services.consumption,  # 5.2: devices silent over 6 hours
        )
        self._last = day
        for line in report.lines():
            log.info("%s", line)
        if self._on_report is not None:
            self._on_report(report)
        return report

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_once()
            except Exception:  # a failed day is retried at the next check, never fatal
                log.exception("daily run failed")
            self._stop.wait(_CHECK_S)
