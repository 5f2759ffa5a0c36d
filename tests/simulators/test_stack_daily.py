"""The stack's daily runner: the day of the simulated clock, once per simulated day."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from portal_api.config import load_config
from portal_api.contracts.db.billing_repository import BillingRepository
from portal_api.seed import seed_demo
from portal_api.web.services import build_services
from simulators.stack_daily import DailyRunner
from simulators.stack_portal import STACK_PORTAL_FILE
from tests.portal.web.server import SECRET


def test_runs_each_simulated_day_once_and_bills_the_demo_contracts(tmp_path: Path) -> None:
    env = {
        "MYENERGY_PORTAL_DATABASE_URL": f"sqlite:///{tmp_path / 'portal.sqlite3'}",
        "MYENERGY_PORTAL_STORE_KIND": "sqlite",
        "MYENERGY_PORTAL_STORE_SQLITE_PATH": str(tmp_path / "ts.sqlite3"),
        "MYENERGY_PORTAL_SECURITY_SECRET_KEY": SECRET,
    }
    config = load_config(STACK_PORTAL_FILE, env)
    now = [dt.datetime(2026, 11, 22, 21, 0, tzinfo=dt.UTC)]  # 23:00 in Sofia
    services = build_services(config, with_live=False, with_outbox=False, clock=lambda: now[0])
    try:
        seed_demo(services.sessions, config.security.identifier_keys(), now=now[0])
        runner = DailyRunner(services)
        first = runner.run_once()
        assert first is not None and not first.failed, first and first.lines()
        # Signed in August, credentials in August: invoices for September to November.
        assert first.invoices == 9
        assert runner.run_once() is None  # the same simulated day
        now[0] += dt.timedelta(hours=2)  # 01:00 on the 23rd in Sofia: a new day
        second = runner.run_once()
        assert second is not None and second.invoices == 0 and not second.failed
        with services.sessions() as session:
            months = [r.invoice.month for r in BillingRepository(session).invoices("MYE-2025-0001")]
        assert months == [dt.date(2026, 9, 1), dt.date(2026, 10, 1), dt.date(2026, 11, 1)]
    finally:
        services.close()
