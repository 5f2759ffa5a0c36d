"""The PDF of one monthly-fee invoice, in Bulgarian, amounts in euro (General Terms 4.3).

``render_invoice(view) -> bytes`` is a pure function of an :class:`InvoiceView`:
the same view gives the same bytes (reportlab's invariant mode, the creation
date taken from the view), so a re-run of the daily job re-issues identical files.

Printed per the terms: one line per site with its unit price and additional
devices (4.1); the due date by the 10th (3.1a, 4.3); that not receiving the
invoice does not excuse payment (4.3); statutory interest and suspension on
late payment (4.4). During dual display the totals also show in BGN at the
fixed rate 1.95583 (docs/contract-rules.md "4.1, 4.3 The invoice document").
"""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable, Paragraph, SimpleDocTemplate, Spacer, Table
from reportlab.platypus.doctemplate import BaseDocTemplate
from stdnum import iban as stdnum_iban

from portal_api.contracts.domain.money import to_bgn
from portal_api.contracts.invoice_format import (
    VOLTAGE_LABELS,
    format_bgn,
    format_date,
    format_eur,
    format_month,
    format_rate,
)
from portal_api.contracts.invoice_pdf_style import (
    DEJAVU_DIR,
    FONT,
    INK,
    MARGIN,
    RIGHT,
    RULE,
    SHADE,
    WIDTH,
    InvoiceFontMissingError,
    esc,
    keep,
    para,
    register_fonts,
    style,
)
from portal_api.contracts.invoice_view import InvoiceView

__all__ = [
    "DEJAVU_DIR",
    "LATE_4_4",
    "NOT_RECEIVED_4_3",
    "InvoiceFontMissingError",
    "render_invoice",
]

NOT_RECEIVED_4_3 = (
    "Неполучаването на фактурата не освобождава от задължението за плащане на дължимата "
    "месечна такса в уговорения срок (т. 4.3 от Общите условия)."
)
LATE_4_4 = (
    "При забавено плащане {seller} има право да начисли лихва за забава в размер на законната "
    "лихва върху дължимите суми за периода на забавата до пълното погасяване на задължението. "
    "При забава с повече от 5 календарни дни дружеството има право да преустанови "
    "предоставянето на Услугата до погасяване на просроченото задължение, като за периода "
    "на преустановяване месечната такса продължава да се дължи (т. 4.4 от Общите условия)."
)
_TERMS = "от Общите условия"
_LINE_HEADS = ("№", "Обект (точка на измерване)", "Напр.")
_MONEY_HEADS = ("Месечна единична цена", "Допълнителни устройства", "Сума")


def _header(view: InvoiceView) -> Table:
    dates = [
        ("Дата на издаване:", keep(format_date(view.issue_date))),
        ("Дата на данъчното събитие:", keep(format_date(view.tax_event_date))),
        ("Срок за плащане:", f"<b>до {keep(format_date(view.due_date))}</b>"),
    ]
    left = [
        para("ФАКТУРА", style(22, bold=True)),
        Spacer(1, 3 * mm),
        para(f"№ <b>{view.invoice_number}</b> &nbsp; · &nbsp; ОРИГИНАЛ", style(11)),
    ]
    right = Table([[para(k, RIGHT), para(v, RIGHT)] for k, v in dates], [54 * mm, 35 * mm])
    right.setStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("RIGHTPADDING", (1, 0), (1, -1), 0)])
    table = Table([[left, right]], colWidths=[WIDTH - 89 * mm, 89 * mm])
    table.setStyle(
        [
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("LINEBELOW", (0, 0), (-1, 0), 1.2, INK),
            ("BOTTOMPADDING", (0, 0), (-1, 0), 6),
            ("LEFTPADDING", (0, 0), (-1, -1), 0),
            ("RIGHTPADDING", (0, 0), (-1, -1), 0),
        ]
    )
    return table


def _parties(view: InvoiceView) -> Table:
    seller = [
        para("ДОСТАВЧИК", style(7.5, bold=True)),
        para(f"<b>{esc(view.seller_name)}</b>"),
        para(f"ЕИК: {esc(view.seller_eik)}"),
        para(f"ИН по ЗДДС: {esc(view.seller_vat_number)}"),
        para(f"Адрес: {esc(view.seller_address)}"),
    ]
    buyer = [
        para("ПОЛУЧАТЕЛ", style(7.5, bold=True)),
        para(f"<b>{esc(view.buyer_name)}</b>"),
        para(f"Клиентски номер: <b>{esc(view.customer_number)}</b>"),
    ]
    if view.buyer_eik:
        buyer.append(para(f"ЕИК: {esc(view.buyer_eik)}"))
    if view.buyer_vat_number:
        buyer.append(para(f"ИН по ЗДДС: {esc(view.buyer_vat_number)}"))
    buyer.append(para(f"Адрес: {esc(view.buyer_address)}"))
    table = Table([[seller, buyer]], colWidths=[WIDTH / 2] * 2)
    table.setStyle(
        [
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("BOX", (0, 0), (0, 0), 0.6, RULE),
            ("BOX", (1, 0), (1, 0), 0.6, RULE),
            ("PADDING", (0, 0), (-1, -1), 6),
        ]
    )
    return table


def _lines(view: InvoiceView) -> Table:
    """4.1: one row per site: unit price, additional devices × their price, the site's sum."""
    head, head_right = style(8, bold=True), style(8, bold=True, right=True)
    rows: list[list[Paragraph]] = [
        [para(h, head) for h in _LINE_HEADS] + [para(h, head_right) for h in _MONEY_HEADS]
    ]
    for number, line in enumerate(view.lines, start=1):
        site = f"<b>{esc(line.metering_point)}</b>"
        if line.site_address:
            site += f"<br/><font size=7.5>{esc(line.site_address)}</font>"
        extra = "—"
        if line.additional_devices:
            extra = f"{line.additional_devices} × {keep(format_eur(line.additional_device_price))}"
        rows.append(
            [
                para(str(number)),
                para(site),
                para(VOLTAGE_LABELS[line.voltage_level]),
                para(keep(format_eur(line.unit_price)), RIGHT),
                para(extra, RIGHT),
                para(keep(format_eur(line.total)), RIGHT),
            ]
        )
    widths = [9 * mm, WIDTH - 113 * mm, 16 * mm, 30 * mm, 32 * mm, 26 * mm]
    table = Table(rows, colWidths=widths, repeatRows=1)
    table.setStyle(
        [
            ("BACKGROUND", (0, 0), (-1, 0), SHADE),
            ("LINEBELOW", (0, 0), (-1, 0), 0.8, INK),
            ("LINEBELOW", (0, 1), (-1, -1), 0.3, RULE),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ]
    )
    return table


def _totals(view: InvoiceView) -> Table:
    """Tax base, VAT and the amount due; in BGN too during dual display."""
    rate = format((view.vat_rate * 100).normalize(), "f").replace(".", ",")
    rows = [
        ("Данъчна основа", view.subtotal),
        (f"ДДС {rate} %", view.vat),
        ("Сума за плащане", view.total),
    ]
    data = []
    for index, (label, amount) in enumerate(rows):
        bold = index == len(rows) - 1
        cells = [para(label, style(9, bold)), para(keep(format_eur(amount)), style(9, bold, True))]
        if view.dual_display:
            cells.append(para(keep(format_bgn(to_bgn(amount))), style(9, bold, True)))
        data.append(cells)
    widths = [40 * mm, 30 * mm] + ([30 * mm] if view.dual_display else [])
    table = Table(data, colWidths=widths, hAlign="RIGHT")
    table.setStyle(
        [("LINEABOVE", (0, -1), (-1, -1), 0.8, INK), ("BACKGROUND", (0, -1), (-1, -1), SHADE)]
    )
    return table


def _payment(view: InvoiceView) -> Table:
    """How and by when to pay (3.1a, 4.3); the account comes from configuration."""
    reference = f"фактура № {view.invoice_number}, клиентски номер {esc(view.customer_number)}"
    due = f"<b>до {keep(format_date(view.due_date))}</b> (т. 3.1, буква „а“ и т. 4.3 {_TERMS})"
    rows = [
        ("Начин на плащане:", "по банков път"),
        ("IBAN:", f"<b>{stdnum_iban.format(view.iban)}</b>"),
        ("BIC:", esc(view.bic)),
        ("Банка:", esc(view.bank)),
        ("Основание за плащане:", reference),
        ("Срок за плащане:", due),
    ]
    table = Table([[para(k), para(v)] for k, v in rows], colWidths=[46 * mm, WIDTH - 46 * mm])
    table.setStyle([("BOX", (0, 0), (-1, -1), 0.6, RULE), ("VALIGN", (0, 0), (-1, -1), "TOP")])
    return table


def _story(view: InvoiceView) -> list[Flowable]:
    subject = (
        f"Месечна такса за ползване на Услугата „MyEnergy“ за <b>{format_month(view.service_month)}"
        f"</b> по договор № {esc(view.contract_number)} (т. 4.1 от Общите условия)"
    )
    story: list[Flowable] = [
        _header(view),
        Spacer(1, 5 * mm),
        _parties(view),
        Spacer(1, 5 * mm),
        para(subject),
        Spacer(1, 2 * mm),
        _lines(view),
        Spacer(1, 3 * mm),
        _totals(view),
    ]
    if view.dual_display:
        note = f"Равностойност в лева по фиксирания обменен курс {format_rate()}"
        story += [Spacer(1, 1 * mm), para(note, style(7.5, right=True))]
    story += [Spacer(1, 6 * mm), _payment(view), Spacer(1, 5 * mm)]
    story += [para(NOT_RECEIVED_4_3, style(8.5, bold=True)), Spacer(1, 2 * mm)]
    story.append(para(LATE_4_4.format(seller=esc(view.seller_name)), style(8.5)))
    return story


def _pdf_date(moment: dt.datetime) -> str:
    return f"D:{moment.astimezone(dt.UTC):%Y%m%d%H%M%S}+00'00'"


def render_invoice(view: InvoiceView, *, font_dir: Path = DEJAVU_DIR) -> bytes:
    """The invoice PDF (A4, Bulgarian); the same ``view`` always gives the same bytes."""
    register_fonts(font_dir)
    created = _pdf_date(view.created_at)
    footer = f"{view.seller_name} · ЕИК {view.seller_eik} · ИН по ЗДДС {view.seller_vat_number}"

    def on_page(canvas: Canvas, doc: BaseDocTemplate) -> None:
        canvas.setDateFormatter(lambda *_: created)  # CreationDate/ModDate from the view
        canvas.saveState()
        canvas.setFont(FONT, 7)
        canvas.setFillColor(RULE)
        canvas.drawString(MARGIN, 10 * mm, footer)
        page = f"Фактура № {view.invoice_number} · стр. {doc.page}"
        canvas.drawRightString(A4[0] - MARGIN, 10 * mm, page)
        canvas.restoreState()

    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=16 * mm,
        bottomMargin=18 * mm,
        title=f"Фактура № {view.invoice_number}",
        author=view.seller_name,
        subject=f"MyEnergy, {format_month(view.service_month)}",
        creator="MyEnergy",
        invariant=1,
        lang="bg-BG",
    )
    doc.build(_story(view), onFirstPage=on_page, onLaterPages=on_page)
    return buffer.getvalue()
