"""The daily run's interruption steps (General Terms 3.2б, 3.2в, 5.1, 5.2).

Per contract (in the contract's own transaction of ``run_daily``):

- the notices due and not yet sent are caught up (interruptions_notices): a
  planned interruption still ahead whose notice was missed, an unplanned one that
  has now lasted over 6 hours;
- the free months earned and not yet granted are granted (interruptions_compensation).

Once per run, in a transaction of its own: the silent-device scan (5.2,
interruptions_silence) when the run was given the time-series read side.

Every effect is claimed through a unique key (notice per interruption, grant per
breach, proposal per device silence), so re-running a day, or an earlier day after a
later one, adds nothing.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session, sessionmaker

from portal_api.contracts.app.interruptions_compensation import grant_free_months
from portal_api.contracts.app.interruptions_notices import send_notice
from portal_api.contracts.app.interruptions_silence import (
    DeviceStatusSource,
    ScanReport,
    scan_silent_devices,
)
from portal_api.contracts.db.events_repository import EventRepository
from portal_api.contracts.db.records import ContractRecord
from portal_api.domain.workdays import WorkingDays
from portal_api.notify.outbox import Outbox

__all__ = ["DeviceStatusSource", "InterruptionSteps", "interruption_steps", "silence_step"]


class InterruptionSteps:
    """What the per-contract step did: notices queued, free months granted."""

    def __init__(self) -> None:
        self.notices = 0
        self.free_months = 0


def interruption_steps(
    session: Session,
    record: ContractRecord,
    *,
    calendar: WorkingDays,
    outbox: Outbox,
    now: dt.datetime,
) -> InterruptionSteps:
    """Catch up the contract's interruption notices and grant its free months."""
    done = InterruptionSteps()
    number = record.contract.number
    for item in EventRepository(session).interruptions(number):
        if send_notice(
            session, item, record.contract.email, calendar=calendar, outbox=outbox, now=now
        ):
            done.notices += 1
    done.free_months = grant_free_months(session, number, calendar=calendar, now=now)
    return done


def silence_step(
    sessions: sessionmaker[Session], statuses: DeviceStatusSource, now: dt.datetime
) -> ScanReport:
    """The silent-device scan in its own transaction (5.2)."""
    with sessions.begin() as session:
        return scan_silent_devices(session, statuses, now)
