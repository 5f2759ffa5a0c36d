"""The installation documents of the General Terms as PDF, in Bulgarian.

- Handover protocol (Приемо-предавателен протокол, Appendix 2; clause 1.4.2): signed
  before the technician leaves, in THREE copies -- one for the customer, two for
  ЕНЕРГО-ПРО Енергийни услуги ЕАД. One PDF holds the three copies; every page says
  which copy it belongs to.
- Statement of findings (Констативен протокол, Appendix 3; clause 1.5): why the
  equipment cannot be installed; the contract is deemed terminated without sanctions
  or penalties for either party.

``render_handover(doc)`` / ``render_findings(doc)`` are pure functions of a
:class:`ProtocolDocument`: the same document gives the same bytes (reportlab's
invariant mode, the dates taken from the document). Cyrillic needs a Unicode TrueType
font embedded in the file: DejaVu Sans (Debian's ``fonts-dejavu-core``), looked up
here on its own -- the device side never imports the portal (docs/ARCHITECTURE).
No personal numbers (EGN/EIK) are printed: the customer is named by its customer
number.
"""

from __future__ import annotations

import datetime as dt
import io
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    CondPageBreak,
    Flowable,
    Frame,
    KeepTogether,
    PageBreak,
    PageTemplate,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)
from reportlab.platypus.doctemplate import BaseDocTemplate

__all__ = [
    "COMPANY",
    "COPY_LABELS",
    "FONT_DIR_ENV",
    "CheckLine",
    "EquipmentLine",
    "FontMissingError",
    "ProtocolDocument",
    "find_font_dir",
    "render_findings",
    "render_handover",
]

COMPANY = "ЕНЕРГО-ПРО Енергийни услуги ЕАД"
# 1.4.2: three copies, one for the customer and two for the company.
COPY_LABELS = (
    "Екземпляр 1 от 3 — за ПОТРЕБИТЕЛЯ",
    f"Екземпляр 2 от 3 — за {COMPANY}",
    f"Екземпляр 3 от 3 — за {COMPANY}",
)
FONT_DIR_ENV = "MYENERGY_FONT_DIR"
# Where Debian, Fedora/Arch and Alpine put DejaVu Sans.
_FONT_DIRS = (
    Path("/usr/share/fonts/truetype/dejavu"),
    Path("/usr/share/fonts/dejavu-sans-fonts"),
    Path("/usr/share/fonts/TTF"),
    Path("/usr/share/fonts/dejavu"),
)
FONT, FONT_BOLD = "DejaVuSans", "DejaVuSans-Bold"
INK = colors.HexColor("#1f2a44")
SHADE = colors.HexColor("#e8edf5")
RULE = colors.HexColor("#9aa7bd")
MARGIN = 18 * mm

# 1.5, word for word: the two cases in which the equipment cannot be installed.
REASONS_1_5 = {
    "no_technical_way": (
        "Липсва техническа възможност за свързване на мултимера към инсталацията на ПОТРЕБИТЕЛЯ."
    ),
    "no_mobile_coverage": (
        "Невъзможно е осъществяването на трансфера на данни чрез комуникационния модул поради "
        "ограничение във връзката с мрежата на съответния/те мобилен/ни оператор/и."
    ),
}
TERMINATED_1_5 = (
    "На основание т. 1.5 от Общите условия индивидуалният Договор се счита за прекратен "
    "без санкции и неустойки за коя да е от страните."
)
CAPACITIES = {
    "customer": "ПОТРЕБИТЕЛ (лично / законен представител)",
    "proxy": "упълномощено лице",
    "employee": "служител на ПОТРЕБИТЕЛЯ на обекта (т. 1.4.2)",
}
VERDICTS = {
    "pass": "в норма",
    "warn": "предупреждение",
    "fail": "несъответствие",
    "skipped": "не е проверено",
}


class FontMissingError(RuntimeError):
    """DejaVu Sans is not installed: Cyrillic cannot be embedded."""


@dataclass(frozen=True)
class EquipmentLine:
    """One item handed over (1.4.1): what it is and how it is identified."""

    item: str
    detail: str


@dataclass(frozen=True)
class CheckLine:
    """One item of the installation check: what was judged, the verdict, the finding."""

    item: str
    verdict: str  # pass | warn | fail | skipped
    note: str = ""


@dataclass(frozen=True)
class ProtocolDocument:
    """What either document says. ``at``: local time of the installation or finding."""

    contract_number: str
    customer_name: str
    customer_number: str
    site_id: str
    at: dt.datetime
    technician: str
    signatory_name: str
    signatory_capacity: str = "customer"  # customer | proxy | employee
    signatory_position: str = ""
    contract_date: dt.date | None = None
    site_name: str = ""
    site_address: str = ""
    metering_point: str = ""
    equipment: tuple[EquipmentLine, ...] = ()
    checks: tuple[CheckLine, ...] = ()
    reason: str | None = None  # findings: a key of REASONS_1_5
    measurements: tuple[str, ...] = ()  # findings: what supports the reason
    note: str = ""
    document_id: str = ""  # the client UUID: ties the paper to the upload
    extra: dict[str, str] = field(default_factory=dict)


# -- fonts ------------------------------------------------------------------------------


def find_font_dir() -> Path:
    """The directory holding DejaVuSans.ttf and DejaVuSans-Bold.ttf ($MYENERGY_FONT_DIR first)."""
    candidates = list(_FONT_DIRS)
    if os.environ.get(FONT_DIR_ENV):
        candidates.insert(0, Path(os.environ[FONT_DIR_ENV]))
    for folder in candidates:
        if (folder / "DejaVuSans.ttf").is_file() and (folder / "DejaVuSans-Bold.ttf").is_file():
            return folder
    raise FontMissingError(
        "няма шрифт DejaVu Sans за кирилицата: apt-get install fonts-dejavu-core / "
        "the DejaVu Sans font is missing: apt-get install fonts-dejavu-core "
        f"(or set {FONT_DIR_ENV})"
    )


def _register_fonts() -> None:
    """Register DejaVu Sans once per process (before any Paragraph is made)."""
    font_dir = find_font_dir()
    registered = pdfmetrics.getRegisteredFontNames()
    for name, file in ((FONT, "DejaVuSans.ttf"), (FONT_BOLD, "DejaVuSans-Bold.ttf")):
        if name not in registered:
            pdfmetrics.registerFont(TTFont(name, str(font_dir / file)))
    pdfmetrics.registerFontFamily(FONT, normal=FONT, bold=FONT_BOLD)


# -- text helpers ----------------------------------------------------------------------


def _style(size: float = 9.5, *, bold: bool = False, center: bool = False) -> ParagraphStyle:
    return ParagraphStyle(
        "protocol",
        fontName=FONT_BOLD if bold else FONT,
        fontSize=size,
        leading=size * 1.3,
        textColor=INK,
        alignment=TA_CENTER if center else 0,
    )


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _p(text: str, size: float = 9.5, *, bold: bool = False, center: bool = False) -> Paragraph:
    return Paragraph(text, _style(size, bold=bold, center=center))


def _date(day: dt.date | None) -> str:
    return "—" if day is None else f"{day:%d.%m.%Y}"


def _table(rows: Sequence[Sequence[str]], widths: Sequence[float], header: bool) -> Table:
    cells = [
        [_p(_esc(cell), 8.5, bold=header and index == 0) for cell in row]
        for index, row in enumerate(rows)
    ]
    table = Table(cells, colWidths=list(widths), repeatRows=1 if header else 0)
    table.setStyle(
        TableStyle([("GRID", (0, 0), (-1, -1), 0.4, RULE), ("VALIGN", (0, 0), (-1, -1), "TOP")])
    )
    if header:
        table.setStyle(TableStyle([("BACKGROUND", (0, 0), (-1, 0), SHADE)]))
    return table


class _CopyMark(Flowable):
    """Zero-size marker: from here on the pages belong to copy ``label`` (footer)."""

    def __init__(self, state: dict[str, str], label: str) -> None:
        super().__init__()
        self.state, self.label = state, label
        self.width = self.height = 0

    def draw(self) -> None:
        self.state["copy"] = self.label


# -- the parts both documents share ---------------------------------------------------------


def _parties(doc: ProtocolDocument, width: float) -> list[Flowable]:
    site = doc.site_id + (f" — {doc.site_name}" if doc.site_name else "")
    contract = doc.contract_number
    if doc.contract_date is not None:
        contract += f" от {_date(doc.contract_date)}"
    rows = [
        ["Договор №", contract],
        ["ПОТРЕБИТЕЛ", doc.customer_name],
        ["Клиентски номер", doc.customer_number or "—"],
        ["Обект", site],
        ["Адрес на обекта", doc.site_address or "—"],
        ["Точка на измерване", doc.metering_point or "—"],
        ["Дата и час", f"{doc.at:%d.%m.%Y %H:%M}"],
        ["Техническо лице", doc.technician],
    ]
    return [_table(rows, (45 * mm, width - 45 * mm), header=False), Spacer(1, 4 * mm)]


def _signatures(doc: ProtocolDocument, width: float, company_side: str) -> Flowable:
    capacity = CAPACITIES.get(doc.signatory_capacity, doc.signatory_capacity)
    if doc.signatory_position:
        capacity += f", длъжност: {doc.signatory_position}"
    left = [
        _p(f"За {_esc(COMPANY)}:", bold=True),
        _p(_esc(company_side)),
        _p(_esc(doc.technician)),
        Spacer(1, 10 * mm),
        _p("подпис: ..............................."),
    ]
    right = [
        _p("За ПОТРЕБИТЕЛЯ:", bold=True),
        _p(_esc(doc.signatory_name)),
        _p(_esc(f"в качеството на {capacity}"), 8.5),
        Spacer(1, 6 * mm),
        _p("подпис: ..............................."),
    ]
    table = Table([[left, right]], colWidths=[width / 2, width / 2])
    table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP")]))
    return KeepTogether([Spacer(1, 6 * mm), table])


def _checks(doc: ProtocolDocument, width: float) -> list[Flowable]:
    if not doc.checks:
        return [_p("Проверка на инсталацията: няма записан резултат.", 8.5), Spacer(1, 3 * mm)]
    rows = [["Проверка", "Резултат", "Констатация"]]
    rows += [
        [line.item, VERDICTS.get(line.verdict, line.verdict), line.note] for line in doc.checks
    ]
    return [
        _p("Резултати от проверката на инсталацията", bold=True),
        Spacer(1, 1.5 * mm),
        _table(rows, (45 * mm, 34 * mm, width - 79 * mm), header=True),
        Spacer(1, 4 * mm),
    ]


def _build(
    doc: ProtocolDocument, title: str, story: list[Flowable], state: dict[str, str]
) -> bytes:
    created = f"D:{doc.at.astimezone(dt.UTC):%Y%m%d%H%M%S}+00'00'"
    footer = f"{title} · договор № {doc.contract_number} · обект {doc.site_id}"
    if doc.document_id:
        footer += f" · {doc.document_id}"

    def on_page_end(canvas: Canvas, template: BaseDocTemplate) -> None:
        canvas.setDateFormatter(lambda *_: created)
        canvas.saveState()
        canvas.setFont(FONT, 7)
        canvas.setFillColor(RULE)
        # Two lines: the copy's long label would run into the document's line.
        canvas.drawString(MARGIN, 9 * mm, footer)
        right = f"стр. {template.page}"
        if state.get("copy"):
            right = f"{state['copy']} · {right}"
        canvas.drawRightString(A4[0] - MARGIN, 12.5 * mm, right)
        canvas.restoreState()

    buffer = io.BytesIO()
    template = BaseDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=16 * mm,
        bottomMargin=18 * mm,
        title=f"{title} — договор № {doc.contract_number}",
        author=COMPANY,
        subject=f"MyEnergy, обект {doc.site_id}",
        creator="myenergy-install",
        invariant=1,
        # Every font in the file embedded: not even the canvas's default Helvetica.
        initialFontName=FONT,
        lang="bg-BG",
    )
    frame = Frame(
        template.leftMargin,
        template.bottomMargin,
        template.width,
        template.height,
        leftPadding=0,
        rightPadding=0,
        topPadding=0,
        bottomPadding=0,
    )
    # onPage runs before a page's flowables, so the footer -- which names the copy that
    # _CopyMark set on that page -- is drawn when the page ends.
    template.addPageTemplates([PageTemplate("page", [frame], onPageEnd=on_page_end)])
    template.build(story)
    return buffer.getvalue()


# -- Appendix 2 -----------------------------------------------------------------------


def _handover_copy(doc: ProtocolDocument, label: str, state: dict[str, str]) -> list[Flowable]:
    width = A4[0] - 2 * MARGIN
    story: list[Flowable] = [
        _CopyMark(state, label),
        _p(_esc(label), 8.5, bold=True),
        Spacer(1, 3 * mm),
        _p("ПРИЕМО-ПРЕДАВАТЕЛЕН ПРОТОКОЛ", 14, bold=True, center=True),
        _p("по т. 1.4.2 от Общите условия на услугата MyEnergy (Приложение № 2)", 9, center=True),
        Spacer(1, 5 * mm),
        *_parties(doc, width),
        _p(
            f"Днес, {doc.at:%d.%m.%Y}, техническото лице на {_esc(COMPANY)} предаде, а "
            "ПОТРЕБИТЕЛЯТ прие инсталираното на обекта техническо оборудване (т. 1.4.1):"
        ),
        Spacer(1, 2 * mm),
    ]
    rows = [["Оборудване", "Модел / сериен номер / данни"]]
    rows += [[line.item, line.detail] for line in doc.equipment] or [["—", "—"]]
    story += [_table(rows, (55 * mm, width - 55 * mm), header=True), Spacer(1, 4 * mm)]
    story += _checks(doc, width)
    story.append(
        _p(
            "Оборудването остава собственост на "
            f"{_esc(COMPANY)} (т. 1.4.3). Протоколът се подписва в три екземпляра – един "
            f"за ПОТРЕБИТЕЛЯ и два за {_esc(COMPANY)} (т. 1.4.2).",
            8.5,
        )
    )
    if doc.note:
        story += [Spacer(1, 2 * mm), _p(f"Забележка: {_esc(doc.note)}", 8.5)]
    story.append(_signatures(doc, width, "Предал (техническо лице):"))
    return story


def render_handover(doc: ProtocolDocument) -> bytes:
    """Appendix 2 in three copies (1.4.2): one PDF, each copy from a new page."""
    _register_fonts()
    state: dict[str, str] = {}
    story: list[Flowable] = []
    for index, label in enumerate(COPY_LABELS):
        if index:
            story.append(PageBreak())
        story += _handover_copy(doc, label, state)
    return _build(doc, "Приемо-предавателен протокол", story, state)


# -- Appendix 3 -----------------------------------------------------------------------


def render_findings(doc: ProtocolDocument) -> bytes:
    """Appendix 3 (1.5): the reason, the supporting measurements, the contract's end."""
    if doc.reason not in REASONS_1_5:
        raise ValueError(f"unknown 1.5 reason {doc.reason!r}: one of {sorted(REASONS_1_5)}")
    _register_fonts()
    width = A4[0] - 2 * MARGIN
    story: list[Flowable] = [
        _p("КОНСТАТИВЕН ПРОТОКОЛ", 14, bold=True, center=True),
        _p("по т. 1.5 от Общите условия на услугата MyEnergy (Приложение № 3)", 9, center=True),
        Spacer(1, 5 * mm),
        *_parties(doc, width),
        _p(
            f"Днес, {doc.at:%d.%m.%Y}, при посещение на обекта техническото лице на "
            f"{_esc(COMPANY)} констатира, че необходимото оборудване не може да бъде "
            "инсталирано по следната причина (т. 1.5):"
        ),
        Spacer(1, 2 * mm),
        _p(_esc(REASONS_1_5[doc.reason]), 10, bold=True),
        Spacer(1, 3 * mm),
    ]
    if doc.measurements:
        story += [_p("Установени стойности в подкрепа на констатацията:", bold=True)]
        story += [_p(f"• {_esc(line)}", 9) for line in doc.measurements]
        story.append(Spacer(1, 3 * mm))
    story += _checks(doc, width)
    if doc.note:
        story += [_p(f"Забележка: {_esc(doc.note)}", 8.5), Spacer(1, 2 * mm)]
    story += [CondPageBreak(40 * mm), _p(_esc(TERMINATED_1_5), 10, bold=True)]
    story.append(_signatures(doc, width, "Съставил (техническо лице):"))
    return _build(doc, "Констативен протокол", story, {})
