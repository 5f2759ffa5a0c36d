"""The PIK letter (issue 6, seed 000) as a Bulgarian PDF: portal address, customer
number, PIK, the holder's name and the date of issue.

Built in memory in the request that issued the PIK and never stored: the code
exists in clear only in that response. The invoice's fonts and colours are reused
(DejaVu Sans, portal_api/contracts/invoice_pdf_style.py); reportlab's invariant
mode keeps the bytes a pure function of the input.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass

from reportlab.lib.pagesizes import A4
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table

from portal_api.contracts.invoice_pdf_style import (
    DEJAVU_DIR,
    FONT,
    INK,
    MARGIN,
    RULE,
    SHADE,
    WIDTH,
    esc,
    para,
    register_fonts,
    style,
)

__all__ = ["PikLetter", "render_pik_letter"]

_ROLE_BG = {"customer": "клиент", "authorised": "упълномощено лице"}


@dataclass(frozen=True)
class PikLetter:
    """What the letter prints; ``code`` is the PIK in clear (this one response only)."""

    portal_address: str
    customer_number: str
    customer_name: str
    holder_name: str
    holder_role: str
    code: str
    issued_on: dt.date

    def __repr__(self) -> str:
        return f"PikLetter(customer_number={self.customer_number!r}, code=<hidden>)"


def _address(base_url: str) -> str:
    """The portal address as the sample letter prints it: without the scheme."""
    return base_url.split("://", 1)[-1].rstrip("/")


def render_pik_letter(letter: PikLetter) -> bytes:
    """The letter as PDF bytes (A4, one page)."""
    register_fonts(DEJAVU_DIR)
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=MARGIN,
        title="Персонален идентификационен код (ПИК)",
        author="MyEnergy",
        invariant=True,
    )
    big = style(14, bold=True)
    rows = [
        [para("Адрес:"), para(esc(_address(letter.portal_address)), style(11, bold=True))],
        [para("Клиентски номер:"), para(esc(letter.customer_number), style(11, bold=True))],
        [para("Вашият ПИК е:"), Paragraph(esc(letter.code), style(16, bold=True))],
    ]
    table = Table(rows, colWidths=[WIDTH * 0.3, WIDTH * 0.7])
    table.setStyle(
        [
            ("BACKGROUND", (0, 0), (-1, -1), SHADE),
            ("BOX", (0, 0), (-1, -1), 0.8, RULE),
            ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ("TOPPADDING", (0, 0), (-1, -1), 6),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 6),
            ("FONTNAME", (0, 0), (-1, -1), FONT),
            ("TEXTCOLOR", (0, 0), (-1, -1), INK),
        ]
    )
    role = _ROLE_BG.get(letter.holder_role, letter.holder_role)
    story = [
        para("MyEnergy — Виртуален център за обслужване на клиенти", style(10)),
        Spacer(1, 8),
        para("Персонален идентификационен код (ПИК)", big),
        Spacer(1, 12),
        para(f"Клиент: {esc(letter.customer_name)}"),
        para(f"Получател: {esc(letter.holder_name)} ({esc(role)})"),
        para(f"Дата на издаване: {letter.issued_on.strftime('%d.%m.%Y')} г."),
        Spacer(1, 14),
        table,
        Spacer(1, 14),
        para(
            "Влезте в портала с ЕИК/ЕГН и ПИК. Ако сте чуждестранен гражданин без ЕГН, "
            "в полето ЕИК/ЕГН въведете рождената си дата във формат ГГММДД0000, а в "
            "допълнителното поле — клиентския номер от това писмо."
        ),
        Spacer(1, 6),
        para(
            "Пазете кода в тайна: не го съобщавайте на никого, включително на служители "
            "на дружеството. При загубен код поискайте нов в център за обслужване."
        ),
        Spacer(1, 6),
        Paragraph("Издаването на ПИК и достъпът до портала са безплатни.", style(9, bold=True)),
    ]
    document.build(story)
    return buffer.getvalue()
