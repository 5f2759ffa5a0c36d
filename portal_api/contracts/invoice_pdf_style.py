"""Fonts, colours and text helpers of the invoice PDF (layout only, no rules).

Cyrillic needs a Unicode TrueType font: DejaVu Sans from Debian's
``fonts-dejavu-core`` (/usr/share/fonts/truetype/dejavu). A missing font is a
clear error, never a PDF of black boxes.
"""

from __future__ import annotations

from pathlib import Path

from reportlab.lib import colors
from reportlab.lib.enums import TA_LEFT, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Paragraph

__all__ = [
    "BODY",
    "DEJAVU_DIR",
    "FONT",
    "FONT_BOLD",
    "INK",
    "MARGIN",
    "RIGHT",
    "RULE",
    "SHADE",
    "WIDTH",
    "InvoiceFontMissingError",
    "esc",
    "keep",
    "para",
    "register_fonts",
    "style",
]

DEJAVU_DIR = Path("/usr/share/fonts/truetype/dejavu")
FONT, FONT_BOLD = "DejaVuSans", "DejaVuSans-Bold"
INK = colors.HexColor("#1f2a44")
SHADE = colors.HexColor("#e8edf5")
RULE = colors.HexColor("#9aa7bd")
MARGIN = 18 * mm
WIDTH = A4[0] - 2 * MARGIN
NBSP = "\u00a0"
# Abbreviations that must stay on the line of the word or number after them.
_GLUED = ("№ ", "гр. ", "с. ", "ул. ", "бул. ", "ж.к. ", "бл. ", "вх. ", "ет. ", "ап. ")


class InvoiceFontMissingError(RuntimeError):
    """The Cyrillic font of the invoice is not installed."""


def register_fonts(font_dir: Path) -> None:
    """Register DejaVu Sans (regular and bold) once per process."""
    files = {FONT: font_dir / "DejaVuSans.ttf", FONT_BOLD: font_dir / "DejaVuSans-Bold.ttf"}
    for path in files.values():
        if not path.is_file():
            raise InvoiceFontMissingError(
                f"the invoice font {path} is missing: apt-get install fonts-dejavu-core"
            )
    registered = pdfmetrics.getRegisteredFontNames()
    for name, path in files.items():
        if name not in registered:
            pdfmetrics.registerFont(TTFont(name, str(path)))
    pdfmetrics.registerFontFamily(FONT, normal=FONT, bold=FONT_BOLD)


def style(size: float = 9, bold: bool = False, right: bool = False) -> ParagraphStyle:
    return ParagraphStyle(
        "invoice",
        fontName=FONT_BOLD if bold else FONT,
        fontSize=size,
        leading=size * 1.3,
        textColor=INK,
        alignment=TA_RIGHT if right else TA_LEFT,
    )


BODY, RIGHT = style(9), style(9, right=True)


def para(text: str, paragraph_style: ParagraphStyle = BODY) -> Paragraph:
    """A Paragraph of already escaped mark-up."""
    return Paragraph(text, paragraph_style)


def esc(text: str) -> str:
    """Escape data for Paragraph mark-up; keep "№ 5" and "гр. Варна" on one line."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    for short in _GLUED:
        text = text.replace(short, short[:-1] + NBSP)
    return text


def keep(text: str) -> str:
    """An amount or a date that must not break across lines."""
    return text.replace(" ", NBSP)
