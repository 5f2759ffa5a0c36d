"""The e-mail a customer gets at every step of a request: Bulgarian first, then English."""

from __future__ import annotations

import datetime as dt

from portal_api.accounts.mail import SEPARATOR
from portal_api.contracts.domain.dates import SOFIA
from portal_api.service_requests.catalogue import ServiceDefinition, Step, step_title

__all__ = ["step_mail"]

_SIGNATURE_BG = "Виртуален център за обслужване на клиенти, ЕНЕРГО-ПРО"
_SIGNATURE_EN = "Virtual Customer Service Centre, ENERGO-PRO"


def step_mail(
    *,
    number: str,
    service: ServiceDefinition,
    step: Step,
    at: dt.datetime,
    note: str,
    link: str,
) -> tuple[str, str]:
    """Subject and body telling that request ``number`` reached ``step`` at ``at``."""
    when = at.astimezone(SOFIA).strftime("%d.%m.%Y %H:%M")
    subject = (
        f"Заявка {number}: {step_title(step, 'bg')} / Request {number}: {step_title(step, 'en')}"
    )
    note_bg = f"\nБележка: {note}\n" if note else ""
    note_en = f"\nNote: {note}\n" if note else ""
    bg = (
        "Здравейте,\n\n"
        f"Заявка № {number} — {service.title('bg')} ({service.provider_name('bg')}):\n"
        f"{step_title(step, 'bg')} на {when} ч.\n"
        f"{note_bg}\n"
        f"Всички стъпки: {link}\n\n"
        f"{_SIGNATURE_BG}"
    )
    en = (
        "Hello,\n\n"
        f"Request no. {number} — {service.title('en')} ({service.provider_name('en')}):\n"
        f"{step_title(step, 'en')} on {when} (Sofia time).\n"
        f"{note_en}\n"
        f"Every step: {link}\n\n"
        f"{_SIGNATURE_EN}"
    )
    return subject, bg + SEPARATOR + en
