"""Extract the portal's messages and update the .po catalogs (a developer tool and a test aid).

    python -m portal_api.web.catalog_tool          update both catalogs in place

Messages are the ``_()`` calls of the templates, ``_t(request, ...)`` and
``renderer.gettext(lang, ...)`` in the routes and ``N_()`` marks. Existing
translations are kept; new message ids are added with an empty translation (the
i18n test then fails until someone translates them into Bulgarian); ids that
disappeared are dropped.
"""

from __future__ import annotations

from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

from portal_api.web.i18n import LANGUAGES, LOCALE_DIR

__all__ = ["extract_messages", "update_catalogs"]

WEB_DIR = Path(__file__).parent
METHOD_MAP = [("templates/**.html", "jinja2"), ("**.py", "python")]
OPTIONS = {"templates/**.html": {"extensions": "jinja2.ext.i18n", "trimmed": "false"}}
# _t(request, msg) and renderer.gettext(lang, msg): the message is the second argument.
KEYWORDS = {"_": None, "N_": None, "_t": (2,), "gettext": (2,)}


def extract_messages(directory: Path = WEB_DIR) -> dict[str, list[str]]:
    """Message id -> where it is used (``file:line``)."""
    found: dict[str, list[str]] = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
        directory, METHOD_MAP, OPTIONS, KEYWORDS
    ):
        if isinstance(message, str) and message:
            found.setdefault(message, []).append(f"{filename}:{lineno}")
    return found


def update_catalogs(locale_dir: Path = LOCALE_DIR) -> None:
    messages = extract_messages()
    for lang in LANGUAGES:
        path = locale_dir / lang / "LC_MESSAGES" / "messages.po"
        old = Catalog(locale=lang)
        if path.exists():
            with path.open("rb") as fh:
                old = read_po(fh, locale=lang)
        new = Catalog(
            locale=lang,
            project="MyEnergy portal",
            version="1",
            copyright_holder="ENERGO-PRO Energy Services EAD",
            msgid_bugs_address="",
            charset="utf-8",
            fuzzy=False,
        )
        new.revision_date = old.revision_date
        new.creation_date = old.creation_date
        for msgid, places in sorted(messages.items()):
            previous = old.get(msgid)
            translation = previous.string if previous is not None else ""
            locations = [(p.rsplit(":", 1)[0], int(p.rsplit(":", 1)[1])) for p in places]
            new.add(msgid, translation, locations=locations)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as fh:
            write_po(fh, new, width=100, sort_output=True)


if __name__ == "__main__":
    update_catalogs()
