"""Languages of the portal: Babel catalogs, the Jinja2 environments, locale formatting.

The catalogs are the .po files in ``portal_api/web/locale/<lang>/LC_MESSAGES/``;
they are read with ``babel.messages.pofile`` and compiled in memory when the app
starts (no compiled .mo in the repository to drift from its source). Message ids
are English; Bulgarian is the default language of the portal.

The language of a request is, in this order: the logged-in user's setting, the
``lang`` cookie (the language switch), the browser's Accept-Language, Bulgarian.
"""

from __future__ import annotations

import datetime as dt
import gettext
import io
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_datetime, format_interval, format_skeleton, format_time
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_currency, format_decimal, format_percent
from jinja2 import Environment, FileSystemLoader, select_autoescape

__all__ = [
    "DEFAULT_LANGUAGE",
    "LANGUAGES",
    "LANG_COOKIE",
    "LOCALE_DIR",
    "N_",
    "Formatter",
    "load_catalogs",
    "make_environments",
    "negotiate",
    "parse_accept_language",
]

LANGUAGES = ("bg", "en")
DEFAULT_LANGUAGE = "bg"
LANG_COOKIE = "lang"
LOCALE_DIR = Path(__file__).with_name("locale")
_BABEL_LOCALE = {"bg": "bg_BG", "en": "en_GB"}
SOFIA = ZoneInfo("Europe/Sofia")


def N_(message: str) -> str:  # noqa: N802 - the gettext convention for "mark only"
    """Marks ``message`` for extraction where it is translated later (tables of labels)."""
    return message


def load_catalogs(directory: Path = LOCALE_DIR) -> dict[str, gettext.GNUTranslations]:
    """One translations object per language, compiled in memory from its .po file."""
    catalogs: dict[str, gettext.GNUTranslations] = {}
    for lang in LANGUAGES:
        path = directory / lang / "LC_MESSAGES" / "messages.po"
        with path.open("rb") as fh:
            catalog = read_po(fh, locale=lang)
        buffer = io.BytesIO()
        write_mo(buffer, catalog)
        buffer.seek(0)
        catalogs[lang] = gettext.GNUTranslations(buffer)
    return catalogs


def parse_accept_language(header: str | None) -> list[str]:
    """Primary language tags of an Accept-Language header, best first (q=0 dropped)."""
    if not header:
        return []
    weighted: list[tuple[float, int, str]] = []
    for index, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        primary = tag.strip().split("-")[0].lower()
        if primary and quality > 0:
            # Sort by quality, then by position: equal weights keep the browser's order.
            weighted.append((-quality, index, primary))
    return [tag for _, _, tag in sorted(weighted)]


def negotiate(
    user_language: str | None, cookie_language: str | None, accept_language: str | None
) -> str:
    """The language to answer in (see the module docstring for the order)."""
    for candidate in (user_language, cookie_language):
        if candidate in LANGUAGES:
            return candidate
    for tag in parse_accept_language(accept_language):
        if tag in LANGUAGES:
            return tag
        if tag == "*":
            break
    return DEFAULT_LANGUAGE


def _half_up(value: float | Decimal, digits: int) -> Decimal:
    """``value`` rounded half-up (the project's rule; Babel alone rounds half-even)."""
    exact = value if isinstance(value, Decimal) else Decimal(repr(value))
    return exact.quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Formatter:
    """Numbers, money, dates and times for one language (Babel's CLDR data)."""

    lang: str
    tz: ZoneInfo = SOFIA

    @property
    def locale(self) -> str:
        return _BABEL_LOCALE.get(self.lang, _BABEL_LOCALE[DEFAULT_LANGUAGE])

    def number(self, value: float | Decimal | None, digits: int = 0) -> str:
        if value is None:
            return "–"
        pattern = "#,##0" + ("." + "0" * digits if digits else "")
        return format_decimal(_half_up(value, digits), format=pattern, locale=self.locale)

    def kwh(self, value: float | None) -> str:
        return "–" if value is None else f"{self.number(value, 3)} kWh"

    def power(self, watts: float | None) -> str:
        """Power in W below 10 kW, in kW with two decimals above (readable at a glance)."""
        if watts is None:
            return "–"
        if abs(watts) >= 10_000:
            return f"{self.number(watts / 1000, 2)} kW"
        return f"{self.number(watts)} W"

    def money(self, amount: Decimal | None) -> str:
        if amount is None:
            return "–"
        return format_currency(_half_up(amount, 2), "EUR", locale=self.locale)

    def percent(self, fraction: float | None) -> str:
        # One decimal: a year with a day of data is 0.3 %, not a misleading 0 %.
        if fraction is None:
            return "–"
        # The locale's own pattern (its spacing and sign) with one optional decimal.
        pattern = Locale.parse(self.locale).percent_formats[None].pattern
        pattern = re.sub(r"0(?![0#])", "0.#", pattern, count=1)
        return format_percent(fraction, pattern, locale=self.locale)

    def datetime(self, value: dt.datetime | None) -> str:
        if value is None:
            return "–"
        return format_datetime(value, "medium", tzinfo=self.tz, locale=self.locale)

    def date(self, value: dt.datetime | None) -> str:
        if value is None:
            return "–"
        return format_date(value.astimezone(self.tz), "long", locale=self.locale)

    def period(self, view: str, first: dt.date, last: dt.date) -> str:
        """A history period's title: a day, a week's days, a month or a year."""
        if view == "day":
            return format_date(first, "full", locale=self.locale)
        if view == "week":
            return format_interval(first, last, "yMMMd", locale=self.locale)
        if view == "month":
            return format_skeleton("yMMMM", first, locale=self.locale)
        return str(first.year)

    def time(self, value: dt.datetime | None) -> str:
        if value is None:
            return "–"
        return format_time(value, "medium", tzinfo=self.tz, locale=self.locale)


def make_environments(
    templates: Path, catalogs: Mapping[str, gettext.GNUTranslations]
) -> dict[str, Environment]:
    """One Jinja2 environment per language with the i18n extension and its catalog.

    Autoescaping is on for every template: user-supplied names never become markup.
    """
    environments: dict[str, Environment] = {}
    loader = FileSystemLoader(templates)
    for lang, translations in catalogs.items():
        env = Environment(
            loader=loader,
            autoescape=select_autoescape(default=True, default_for_string=True),
            extensions=["jinja2.ext.i18n"],
            trim_blocks=True,
            lstrip_blocks=True,
        )
        env.install_gettext_translations(translations, newstyle=True)  # type: ignore[attr-defined]
        formatter = Formatter(lang)
        env.globals["fmt"] = formatter
        env.globals["lang"] = lang
        env.globals["languages"] = LANGUAGES
        environments[lang] = env
    return environments
