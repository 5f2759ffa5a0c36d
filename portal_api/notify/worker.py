"""The background thread that empties the outbox while the portal runs.

Every instance may run one: claims (smtp.py) keep two workers from sending the
same message. The thread sleeps ``poll_s`` between rounds, or less when woken
(``wake()`` after a request queued mail, so a reset link does not wait a poll).
"""

from __future__ import annotations

import logging
import threading

from portal_api.notify.smtp import SmtpSender

log = logging.getLogger(__name__)


class OutboxWorker:
    """Runs ``sender.deliver_pending`` in a daemon thread until ``stop()``."""

    def __init__(self, sender: SmtpSender, poll_s: float | None = None, batch: int = 50) -> None:
        self.sender = sender
        self.poll_s = poll_s if poll_s is not None else sender.config.poll_s
        self.batch = batch
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="outbox-worker", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        """Look at the outbox now instead of at the next poll."""
        self._wake.set()

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                report = self.sender.deliver_pending(self.batch)
            except Exception:
                # The database may be briefly away (failover): log and try next round.
                log.exception("outbox round failed")
                report = None
            if report is not None and report.attempted >= self.batch:
                continue  # more may be due: no sleep
            self._wake.wait(self.poll_s)
            self._wake.clear()


__all__ = ["OutboxWorker"]
