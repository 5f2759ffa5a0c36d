"""The texts of the accounts' e-mails: Bulgarian first, then English, in one message."""

from __future__ import annotations

from collections.abc import Sequence

SEPARATOR = "\n\n— — —\n\n"
SIGNATURE_BG = "ЕНЕРГО-ПРО Енергийни услуги ЕАД, MyEnergy"
SIGNATURE_EN = "ENERGO-PRO Energy Services EAD, MyEnergy"


def reset_mail(link: str, valid_minutes: int) -> tuple[str, str]:
    """Subject and body of a password-reset e-mail carrying ``link``."""
    subject = "MyEnergy: смяна на паролата / password reset"
    bg = (
        "Здравейте,\n\n"
        "Получихме заявка за смяна на паролата Ви за портала MyEnergy. "
        f"За да изберете нова парола, отворете връзката (валидна {valid_minutes} минути, "
        "еднократна):\n\n"
        f"{link}\n\n"
        "Ако не сте поискали смяна на паролата, не правете нищо: паролата Ви остава същата.\n\n"
        f"{SIGNATURE_BG}"
    )
    en = (
        "Hello,\n\n"
        "We received a request to reset your MyEnergy portal password. "
        f"To choose a new password, open the link (valid for {valid_minutes} minutes, "
        "single use):\n\n"
        f"{link}\n\n"
        "If you did not ask for this, do nothing: your password stays the same.\n\n"
        f"{SIGNATURE_EN}"
    )
    return subject, bg + SEPARATOR + en


def credentials_mail(
    logins: Sequence[tuple[str, str]], portal_url: str, request_id: int
) -> tuple[str, str]:
    """Subject and body of new credentials issued on a lost-credentials request (5.4)."""
    subject = "MyEnergy: нови данни за достъп / new access credentials"
    lines = "\n".join(f"  {username} / {password}" for username, password in logins)
    bg = (
        "Здравейте,\n\n"
        f"По Ваша заявка № {request_id} за изгубени данни за достъп (т. 5.4 от Общите "
        "условия) издадохме нова парола. Потребителско име / парола:\n\n"
        f"{lines}\n\n"
        f"Вход: {portal_url}\n"
        "Моля, сменете паролата след първия вход.\n\n"
        f"{SIGNATURE_BG}"
    )
    en = (
        "Hello,\n\n"
        f"Following your request no. {request_id} for lost credentials (clause 5.4 of the "
        "General Terms) we issued a new password. Username / password:\n\n"
        f"{lines}\n\n"
        f"Log in: {portal_url}\n"
        "Please change the password after your first login.\n\n"
        f"{SIGNATURE_EN}"
    )
    return subject, bg + SEPARATOR + en


__all__ = ["credentials_mail", "reset_mail"]
