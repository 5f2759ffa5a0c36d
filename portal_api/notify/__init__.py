"""Notifications: the outbox table (mail written in the deciding transaction) and
the SMTP sender that delivers it, with retries, from a background worker.

``Outbox.enqueue`` (outbox.py), ``SmtpSender.deliver_pending`` (smtp.py),
``OutboxWorker`` (worker.py).
"""

from portal_api.notify.outbox import Outbox
from portal_api.notify.smtp import DeliveryReport, SmtpSender
from portal_api.notify.worker import OutboxWorker

__all__ = ["DeliveryReport", "Outbox", "OutboxWorker", "SmtpSender"]
