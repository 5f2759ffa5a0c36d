"""Languages: complete catalogs, the order of choice, pages and numbers in each language."""

from __future__ import annotations

import datetime as dt
import re
from contextlib import closing
from decimal import Decimal

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

from portal_api.web.catalog_tool import extract_messages
from portal_api.web.i18n import LOCALE_DIR, Formatter, negotiate, parse_accept_language
from tests.portal.web.conftest import OWNER, Portal, csrf_of


def _catalog(lang: str) -> Catalog:
    with (LOCALE_DIR / lang / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        return read_po(fh, locale=lang)


def test_every_message_has_a_bulgarian_translation() -> None:
    used = extract_messages()
    catalog = _catalog("bg")
    untranslated = []
    for msgid in sorted(used):
        entry = catalog.get(msgid)
        if entry is None or not entry.string:
            untranslated.append(msgid)
    assert not untranslated, (
        f"run `python -m portal_api.web.catalog_tool`, translate {untranslated}"
    )
    stale = sorted(m.id for m in catalog if m.id and m.id not in used)
    assert not stale, f"catalog ids no longer used: {stale}"


def test_english_catalog_lists_the_same_messages() -> None:
    assert {m.id for m in _catalog("en") if m.id} == set(extract_messages())


def test_placeholders_survive_translation() -> None:
    for message in _catalog("bg"):
        if isinstance(message.id, str) and message.id and isinstance(message.string, str):
            names = set(re.findall(r"%\(\w+\)s", message.id))
            assert names == set(re.findall(r"%\(\w+\)s", message.string)), message.id


@pytest.mark.parametrize(
    ("user", "cookie", "header", "expected"),
    [
        (None, None, None, "bg"),
        (None, None, "en-GB,en;q=0.9", "en"),
        (None, None, "de-DE,de;q=0.9,en;q=0.5", "en"),
        (None, None, "fr, de", "bg"),
        (None, "en", "bg", "en"),
        ("bg", "en", "en", "bg"),
        (None, "xx", "en;q=0.1,bg;q=0.8", "bg"),
        (None, None, "en;q=0", "bg"),
    ],
)
def test_language_order(
    user: str | None, cookie: str | None, header: str | None, expected: str
) -> None:
    assert negotiate(user, cookie, header) == expected


def test_accept_language_keeps_order_of_equal_weights() -> None:
    assert parse_accept_language("en, bg") == ["en", "bg"]
    assert parse_accept_language("en;q=0.5, bg") == ["bg", "en"]


def test_numbers_money_and_dates_per_locale() -> None:
    bg, en = Formatter("bg"), Formatter("en")
    assert bg.kwh(1234.5) == "1\u00a0234,500 kWh"
    assert en.kwh(1234.5) == "1,234.500 kWh"
    assert bg.money(Decimal("12.5")) == "12,50\u00a0€"
    assert en.money(Decimal("12.5")) == "€12.50"
    assert bg.power(12_345) == "12,35 kW"
    assert en.power(950) == "950 W"
    assert bg.percent(0.003) == "0,3%"
    assert bg.kwh(None) == "–"
    when = dt.datetime(2026, 3, 29, 1, 30, tzinfo=dt.UTC)  # 04:30 in Sofia (DST began)
    assert bg.datetime(when).endswith(" 4:30:00")
    assert bg.period("month", dt.date(2026, 3, 1), dt.date(2026, 3, 31)) == "март 2026\u202fг."
    assert en.period("month", dt.date(2026, 3, 1), dt.date(2026, 3, 31)) == "March 2026"


def test_pages_follow_the_browser_then_the_switch(portal: Portal) -> None:
    with closing(portal.client()) as client:
        page = client.get("/login", headers={"Accept-Language": "en-GB,en;q=0.9"})
        assert '<html lang="en">' in page.text and "Log in to MyEnergy" in page.text
        page = client.get("/login")
        assert '<html lang="bg">' in page.text and "Вход в MyEnergy" in page.text
        switched = client.post(
            "/lang", data={"csrf_token": csrf_of(page.text), "lang": "en", "next": "/login"}
        )
        assert switched.status_code == 303 and switched.headers["location"] == "/login"
        page = client.get("/login")
        assert '<html lang="en">' in page.text


def test_switch_is_remembered_for_the_user(fresh_portal: Portal) -> None:
    with closing(fresh_portal.browser_session(OWNER)) as client:
        token = csrf_of(client.get("/sites").text)
        client.post("/lang", data={"csrf_token": token, "lang": "en", "next": "/sites"})
    # A new session elsewhere (no cookie) speaks the user's language.
    with closing(fresh_portal.browser_session(OWNER)) as client:
        client.cookies.delete("lang")
        page = client.get("/sites", headers={"Accept-Language": "bg"})
        assert '<html lang="en">' in page.text and "My sites" in page.text


def test_error_page_in_the_visitors_language(portal: Portal) -> None:
    with closing(portal.client()) as client:
        answer = client.get("/no/such/page", headers={"Accept-Language": "en"})
        assert answer.status_code == 404 and "Page not found" in answer.text
        answer = client.get("/no/such/page")
        assert "Страницата не е намерена" in answer.text
