"""Login throttling from the ``login_attempts`` table: per client address and per username.

Why a table and not an in-memory limiter: the portal is stateless behind a load
balancer (ARCHITECTURE.md), so an attacker spreading attempts over instances
would get N times the limit from per-process counters, and a restart would
reset them. Every instance reads and writes the same rows instead.

Per address: more than ``ip_max_attempts`` attempts within the sliding
``ip_window_s`` → throttled, with the seconds until the oldest attempt leaves
the window. Per username: ``login_max_failures`` consecutive failures lock the
name for ``lockout_s``. For a real account the lock lives on the users row
(``failed_logins``, ``locked_until``: an admin can unlock it); for a name with
no account the same rule is replayed over its attempts here, so a locked-out
answer never tells an attacker whether the account exists. Rows older than
``RETENTION`` are pruned; the replay only sees that far back.
"""

from __future__ import annotations

import datetime as dt
import math

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from portal_api.config import SecuritySettings
from portal_api.db.models import LoginAttempt

RETENTION = dt.timedelta(days=1)


class LoginThrottle:
    """Sliding windows over ``login_attempts``; every method works in the caller's session."""

    def __init__(self, settings: SecuritySettings) -> None:
        self.settings = settings

    def ip_retry_after(self, session: Session, ip: str, now: dt.datetime) -> int | None:
        """Seconds to wait when ``ip`` used up its window, else None."""
        since = now - dt.timedelta(seconds=self.settings.ip_window_s)
        count, oldest = session.execute(
            select(func.count(), func.min(LoginAttempt.at)).where(
                LoginAttempt.ip == ip, LoginAttempt.at > since
            )
        ).one()
        if count < self.settings.ip_max_attempts or oldest is None:
            return None
        wait = (oldest + dt.timedelta(seconds=self.settings.ip_window_s) - now).total_seconds()
        return max(1, math.ceil(wait))

    def name_locked_until(
        self, session: Session, username_hash: str, now: dt.datetime
    ) -> dt.datetime | None:
        """Replay the lockout rule over a name's attempts (names without an account)."""
        rows = session.execute(
            select(LoginAttempt.at, LoginAttempt.success)
            .where(LoginAttempt.username_hash == username_hash, LoginAttempt.at > now - RETENTION)
            .order_by(LoginAttempt.at, LoginAttempt.id)
        ).all()
        failures = 0
        locked_until: dt.datetime | None = None
        for at, success in rows:
            if locked_until is not None and at < locked_until:
                continue  # refused while locked: not counted, as for a real account
            if success:
                failures = 0
                continue
            failures += 1
            if failures >= self.settings.login_max_failures:
                locked_until = at + dt.timedelta(seconds=self.settings.lockout_s)
                failures = 0
        if locked_until is not None and now < locked_until:
            return locked_until
        return None

    def record(
        self, session: Session, username_hash: str, ip: str, success: bool, now: dt.datetime
    ) -> None:
        session.add(LoginAttempt(at=now, username_hash=username_hash, ip=ip, success=success))

    def prune(self, session: Session, now: dt.datetime) -> None:
        """Forget attempts older than the longest window that reads them."""
        keep = max(
            RETENTION,
            dt.timedelta(seconds=self.settings.ip_window_s),
            dt.timedelta(seconds=self.settings.lockout_s),
        )
        session.execute(delete(LoginAttempt).where(LoginAttempt.at < now - keep))


__all__ = ["RETENTION", "LoginThrottle"]
