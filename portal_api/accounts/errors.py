"""Refusals of the accounts service, each with a Bulgarian and an English message.

The web layer maps them to HTTP statuses by ``code``; the messages are what a
user reads, Bulgarian first. None of them says whether an account exists.
"""

from __future__ import annotations

MESSAGES: dict[str, tuple[str, str]] = {
    "invalid_credentials": (
        "Грешно потребителско име или парола.",
        "Wrong username or password.",
    ),
    "locked": (
        "Твърде много неуспешни опити. Опитайте отново след {minutes} минути.",
        "Too many failed attempts. Try again in {minutes} minutes.",
    ),
    "throttled": (
        "Твърде много опити за вход от този адрес. Опитайте отново след {seconds} секунди.",
        "Too many login attempts from this address. Try again in {seconds} seconds.",
    ),
    "wrong_password": ("Текущата парола е грешна.", "The current password is wrong."),
    "too_short": (
        "Паролата трябва да е поне {length} знака.",
        "The password must be at least {length} characters long.",
    ),
    "too_long": (
        "Паролата трябва да е най-много {length} знака.",
        "The password must be at most {length} characters long.",
    ),
    "same_as_username": (
        "Паролата не може да съвпада с потребителското име.",
        "The password must not be the username.",
    ),
    "same_as_current": (
        "Новата парола трябва да се различава от текущата.",
        "The new password must differ from the current one.",
    ),
    "invalid_reset_token": (
        "Връзката за смяна на паролата е невалидна, изтекла или вече използвана.",
        "The password reset link is invalid, expired or already used.",
    ),
    "invalid_username": (
        "Потребителското име трябва да е 3-64 знака: малки латински букви, цифри, . _ @ -",
        "The username must be 3-64 characters: lower-case letters, digits, . _ @ -",
    ),
    "username_taken": ("Потребителското име е заето.", "The username is taken."),
    "invalid_email": ("Невалиден адрес на електронна поща.", "Invalid e-mail address."),
    "customer_required": (
        "Потребител с роля „клиент“ трябва да е свързан с клиент.",
        "A customer login must belong to a customer.",
    ),
    "not_found": ("Не е намерено.", "Not found."),
    "not_open": ("Заявката вече е обработена.", "The request has already been handled."),
    "unmatched_request": (
        "Заявката не е свързана с клиент: посочете клиента.",
        "The request is not linked to a customer: state the customer.",
    ),
    "forbidden": ("Нямате права за това действие.", "You may not do this."),
    "note_too_long": ("Текстът е твърде дълъг.", "The text is too long."),
    # -- PIK login and issuance (issue 6)
    "invalid_pik": ("Грешен ЕИК/ЕГН или ПИК.", "Wrong EIK/EGN or PIK."),
    "check_identifier": (
        "Проверете номера: въведете ЕГН (10 цифри), ЕИК (9 цифри) или БУЛСТАТ (13 цифри).",
        "Check the number: enter an EGN (10 digits), EIK (9 digits) or BULSTAT (13 digits).",
    ),
    "customer_number_required": (
        "Въведете и клиентския си номер (10 цифри) от документа за ПИК.",
        "Also enter your customer number (10 digits) from the PIK letter.",
    ),
    "invalid_holder": (
        "Посочете името на упълномощеното лице.",
        "State the name of the authorised person.",
    ),
    "qes_document_required": (
        "Приложете искането, подписано с КЕП, и името на подписалия го.",
        "Attach the request signed with a qualified e-signature and the signer's name.",
    ),
    "pik_revoked": ("ПИК вече е анулиран.", "The PIK has already been revoked."),
}


class AccountError(ValueError):
    """A refused account operation: ``code`` (stable) and the bilingual message."""

    def __init__(self, code: str, **values: object) -> None:
        bg, en = MESSAGES[code]
        self.code = code
        self.message_bg = bg.format(**values)
        self.message_en = en.format(**values)
        super().__init__(f"{self.message_bg} / {self.message_en}")


__all__ = ["MESSAGES", "AccountError"]
