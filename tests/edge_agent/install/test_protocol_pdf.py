"""The installation documents as PDF: Bulgarian text that extracts (fonts embedded),
three copies of the handover protocol (1.4.2, Appendix 2), the 1.5 reason and the
"no sanctions or penalties" statement of the statement of findings (Appendix 3)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from edge_agent.install import protocol_pdf
from edge_agent.install.protocol_pdf import (
    COPY_LABELS,
    CheckLine,
    EquipmentLine,
    FontMissingError,
    ProtocolDocument,
    render_findings,
    render_handover,
)

DOCUMENT = ProtocolDocument(
    contract_number="MYE-2026-0007",
    contract_date=dt.date(2026, 3, 2),
    customer_name="Добруджа Агро ООД",
    customer_number="3100000041",
    site_id="dobrich-0002",
    site_name="Склад Добрич",
    site_address="ул. Независимост 12, Добрич",
    metering_point="32Z0000000000012",
    at=dt.datetime(2026, 3, 9, 10, 45),
    technician="Петър Петров",
    signatory_name="Георги Иванов Петров",
    signatory_capacity="employee",
    signatory_position="склададжия",
    equipment=(
        EquipmentLine("Мултимер", "SDM630, сериен № 21004711"),
        EquipmentLine("Токови трансформатори", "3 бр., 100/5 A"),
        EquipmentLine("Комуникационен модул", "cm-0042, IMEI 356938035643809"),
    ),
    checks=(
        CheckLine("Напрежение L1", "pass", "231,0 V"),
        CheckLine("Посока на ТТ L2", "fail", "фаза L2 отдава енергия"),
        CheckLine("Последователност на фазите", "skipped", "мултимерът не дава ъгли"),
    ),
    document_id="5d2f0c1e-8f51-4c55-9a35-3b1f0e1d7a10",
)


def _pages(pdf: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages]


def _embedded_fonts(pdf: bytes) -> dict[str, bool]:
    """Every font a page uses for text, and whether its program is in the file."""
    fonts: dict[str, bool] = {}
    for page in PdfReader(io.BytesIO(pdf)).pages:
        resources: Any = page["/Resources"]
        for reference in resources["/Font"].values():
            font = reference.get_object()
            descriptor = font.get("/FontDescriptor")
            embedded = descriptor is not None and any(
                key in descriptor.get_object() for key in ("/FontFile", "/FontFile2", "/FontFile3")
            )
            fonts[str(font["/BaseFont"])] = embedded
    return fonts


def test_1_4_2_handover_has_three_marked_copies_in_bulgarian() -> None:
    pages = _pages(render_handover(DOCUMENT))
    assert len(pages) == 3  # one page per copy for this document
    for page, label in zip(pages, COPY_LABELS, strict=True):
        assert label in page  # at the top and in the footer
        assert "ПРИЕМО-ПРЕДАВАТЕЛЕН ПРОТОКОЛ" in page
        assert "Приложение № 2" in page
        assert "MYE-2026-0007 от 02.03.2026" in page
        assert "Добруджа Агро ООД" in page and "3100000041" in page
        assert "ул. Независимост 12, Добрич" in page and "32Z0000000000012" in page
        assert "09.03.2026 10:45" in page
        assert "SDM630, сериен № 21004711" in page and "100/5 A" in page
        assert "IMEI 356938035643809" in page
        # the check results with their verdicts
        assert "Напрежение L1" in page and "в норма" in page
        assert "несъответствие" in page and "фаза L2 отдава енергия" in page
        assert "не е проверено" in page
        # 1.4.2: signatory of a legal entity: an employee, with names and position
        assert "Георги Иванов Петров" in page and "длъжност: склададжия" in page
        assert "Петър Петров" in page and page.count("подпис:") == 2
    assert "за ПОТРЕБИТЕЛЯ" in pages[0]
    assert "2 от 3 — за ЕНЕРГО-ПРО Енергийни услуги ЕАД" in pages[1]
    assert "3 от 3 — за ЕНЕРГО-ПРО Енергийни услуги ЕАД" in pages[2]


def test_a_long_check_list_keeps_each_copy_marked_on_every_page() -> None:
    checks = tuple(CheckLine(f"Проверка {n}", "pass", "в граници") for n in range(60))
    pages = _pages(render_handover(dataclasses.replace(DOCUMENT, checks=checks)))
    assert len(pages) > 3
    copies = [next(label for label in COPY_LABELS if label in page) for page in pages]
    # every page is marked, the copies come in order, each starts on a new page
    assert copies == sorted(copies) and set(copies) == set(COPY_LABELS)


@pytest.mark.parametrize(
    ("reason", "words"),
    [
        ("no_mobile_coverage", "ограничение във връзката с мрежата"),
        ("no_technical_way", "Липсва техническа възможност за свързване на мултимера"),
    ],
)
def test_1_5_findings_give_the_reason_and_end_without_penalties(reason: str, words: str) -> None:
    document = dataclasses.replace(
        DOCUMENT, reason=reason, measurements=("Сигнал на мобилната мрежа: −112 dBm",)
    )
    text = "\n".join(_pages(render_findings(document)))
    assert "КОНСТАТИВЕН ПРОТОКОЛ" in text and "Приложение № 3" in text
    assert words in " ".join(text.split())
    assert "−112 dBm" in text
    flat = " ".join(text.split())
    assert "се счита за прекратен без санкции и неустойки за коя да е от страните" in flat
    assert "MYE-2026-0007" in text and "dobrich-0002" in text
    assert "Екземпляр" not in text


def test_findings_need_a_1_5_reason() -> None:
    with pytest.raises(ValueError, match=r"1\.5 reason"):
        render_findings(dataclasses.replace(DOCUMENT, reason="too_far"))


def test_the_cyrillic_fonts_are_embedded() -> None:
    for pdf in (
        render_handover(DOCUMENT),
        render_findings(dataclasses.replace(DOCUMENT, reason="no_technical_way")),
    ):
        fonts = _embedded_fonts(pdf)
        dejavu = {name: embedded for name, embedded in fonts.items() if "DejaVu" in name}
        assert dejavu and all(dejavu.values()), fonts


def test_the_same_document_gives_the_same_bytes() -> None:
    assert render_handover(DOCUMENT) == render_handover(DOCUMENT)


def test_no_personal_number_is_printed() -> None:
    text = "\n".join(_pages(render_handover(DOCUMENT)))
    assert "ЕГН" not in text and "ЕИК" not in text


def test_a_missing_font_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(protocol_pdf, "_FONT_DIRS", (tmp_path,))
    monkeypatch.delenv(protocol_pdf.FONT_DIR_ENV, raising=False)
    with pytest.raises(FontMissingError, match="fonts-dejavu-core"):
        protocol_pdf.find_font_dir()
