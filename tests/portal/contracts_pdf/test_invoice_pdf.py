"""The invoice PDF of one monthly fee (General Terms 4.1, 4.3, 4.4; ЗДДС art. 114).

Rendered for real and read back with pypdf: the Bulgarian labels, every amount
to the cent, the customer and invoice numbers, and the same bytes on every run.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import os
import shutil
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pypdf import PdfReader

from portal_api.contracts.invoice_format import format_amount, format_bgn, format_eur
from portal_api.contracts.invoice_pdf import InvoiceFontMissingError, render_invoice
from portal_api.contracts.invoice_view import InvoiceLine, InvoiceView

D = Decimal
SOFIA = ZoneInfo("Europe/Sofia")
IBAN, BIC = "BG80BNBG96611020345678", "BNBGBGSF"

# April 2026: the 10th is a Friday before Orthodox Easter (10-13 April), so the fee
# is due on Tue 14 April (docs/contract-rules.md "3.1a, 4.3").
APRIL = InvoiceView(
    invoice_number="0000012345",
    issue_date=dt.date(2026, 4, 1),
    tax_event_date=dt.date(2026, 4, 1),
    due_date=dt.date(2026, 4, 14),
    service_month=dt.date(2026, 4, 1),
    contract_number="ME-2026-0042",
    customer_number="3001234567",
    buyer_name="Зелена Енергия ООД",
    buyer_address="гр. Русе, ул. „Александровска“ № 12, ет. 3",
    buyer_eik="175074752",
    buyer_vat_number="BG175074752",
    lines=(
        InvoiceLine("32Z4000012345678", "LV", D("17.90"), 0, D("9.95"), "гр. Русе, склад"),
        InvoiceLine("32Z4000087654321", "LV", D("17.90"), 2, D("9.95"), "с. Николово, цех 2"),
        InvoiceLine("32Z4000011112222", "MV", D("1035.90"), 1, D("9.95"), "гр. Разград"),
    ),
    iban=IBAN,
    bic=BIC,
    bank="Българска народна банка",
    dual_display=True,
    created_at=dt.datetime(2026, 4, 1, 9, 0, tzinfo=SOFIA),  # EEST: 06:00 UTC
)


def _text(pdf: bytes) -> str:
    """All pages' text, whitespace (incl. no-break spaces) collapsed to single spaces."""
    reader = PdfReader(io.BytesIO(pdf))
    return " ".join(" ".join(page.extract_text() for page in reader.pages).split())


@pytest.fixture(scope="module")
def april_pdf() -> bytes:
    return render_invoice(APRIL)


def test_clause_4_3_invoice_has_bulgarian_labels_and_numbers(april_pdf: bytes) -> None:
    text = _text(april_pdf)
    for label in (
        "ФАКТУРА",
        "№ 0000012345",
        "ОРИГИНАЛ",
        "ДОСТАВЧИК",
        "ПОЛУЧАТЕЛ",
        "Дата на издаване: 01.04.2026 г.",
        "Дата на данъчното събитие: 01.04.2026 г.",
        "Срок за плащане: до 14.04.2026 г.",
        "ЕНЕРГО-ПРО Енергийни услуги ЕАД",
        "ЕИК: 201398872",
        "ИН по ЗДДС: BG201398872",
        "гр. Варна, бул. „Владислав Варненчик“ № 258, Варна Тауърс, кула Г",
        "Зелена Енергия ООД",
        "Клиентски номер: 3001234567",
        "ЕИК: 175074752",
        "за април 2026 г. по договор № ME-2026-0042",
        "Данъчна основа",
        "ДДС 20 %",
        "Сума за плащане",
        "IBAN: BG80 BNBG 9661 1020 3456 78",
        "BIC: BNBGBGSF",
        "Банка: Българска народна банка",
        "Основание за плащане: фактура № 0000012345, клиентски номер 3001234567",
        "Неполучаването на фактурата не освобождава от задължението за плащане",
    ):
        assert label in text, label


def test_clause_4_1_invoice_lines_per_site_to_the_cent(april_pdf: bytes) -> None:
    text = _text(april_pdf)
    # unit price, additional devices × price, the site's sum (4.1), in order per site
    assert "32Z4000012345678 гр. Русе, склад НН 17,90 € — 17,90 €" in text
    assert "32Z4000087654321 с. Николово, цех 2 НН 17,90 € 2 × 9,95 € 37,80 €" in text
    assert "32Z4000011112222 гр. Разград СН 1 035,90 € 1 × 9,95 € 1 045,85 €" in text
    # 17.90 + 37.80 + 1045.85 = 1101.55; VAT 220.31; total 1321.86
    assert (APRIL.subtotal, APRIL.vat, APRIL.total) == (D("1101.55"), D("220.31"), D("1321.86"))
    assert "Данъчна основа 1 101,55 € 2 154,44 лв." in text
    assert "ДДС 20 % 220,31 € 430,89 лв." in text
    assert "Сума за плащане 1 321,86 € 2 585,33 лв." in text
    assert "по фиксирания обменен курс 1 € = 1,95583 лв." in text


def test_clause_4_4_invoice_states_statutory_interest_and_suspension(april_pdf: bytes) -> None:
    text = _text(april_pdf)
    assert "има право да начисли лихва за забава в размер на законната лихва" in text
    assert "до пълното погасяване на задължението" in text
    assert "повече от 5 календарни дни" in text
    assert "(т. 4.4 от Общите условия)" in text


def test_clause_4_3_bgn_equivalent_rounds_half_up_per_amount() -> None:
    # 1 230.10 + 2 × 9.95 = 1 250.00; VAT 250.00; total 1 500.00 EUR
    # BGN: 2 444.7875 -> 2 444.79; 488.9575 -> 488.96; 2 933.745 -> 2 933.75 (half-up, not even)
    view = dataclasses.replace(
        APRIL,
        lines=(InvoiceLine("32Z4000099990000", "HV", D("1230.10"), 2, D("9.95")),),
    )
    text = _text(render_invoice(view))
    assert "32Z4000099990000 ВН 1 230,10 € 2 × 9,95 € 1 250,00 €" in text
    assert "Данъчна основа 1 250,00 € 2 444,79 лв." in text
    assert "ДДС 20 % 250,00 € 488,96 лв." in text
    assert "Сума за плащане 1 500,00 € 2 933,75 лв." in text


def test_clause_4_3_no_bgn_after_dual_display_ends() -> None:
    # January 2027: the 10th is a Sunday, due Mon 11 January.
    view = dataclasses.replace(
        APRIL,
        dual_display=False,
        service_month=dt.date(2027, 1, 1),
        issue_date=dt.date(2027, 1, 1),
        tax_event_date=dt.date(2027, 1, 1),
        due_date=dt.date(2027, 1, 11),
    )
    text = _text(render_invoice(view))
    assert "лв." not in text
    assert "за януари 2027 г." in text
    assert "Срок за плащане: до 11.01.2027 г." in text
    assert "Сума за плащане 1 321,86 €" in text


def test_clause_4_3_leap_day_invoice_and_many_sites_span_pages() -> None:
    lines = tuple(
        InvoiceLine(f"32Z40000{n:08d}", "LV", D("17.90"), n % 3, D("9.95"), f"обект {n}")
        for n in range(1, 61)
    )
    view = dataclasses.replace(
        APRIL,
        lines=lines,
        issue_date=dt.date(2028, 2, 29),
        tax_event_date=dt.date(2028, 2, 29),
        service_month=dt.date(2028, 2, 1),
        due_date=dt.date(2028, 3, 10),
    )
    pdf = render_invoice(view)
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) >= 2
    assert "Обект (точка на измерване)" in reader.pages[1].extract_text()  # header repeated
    text = _text(pdf)
    assert "Фактура № 0000012345 · стр. 2" in text
    assert "Дата на издаване: 29.02.2028 г." in text
    # 60 × 17.90 + 60 additional devices × 9.95 = 1074.00 + 597.00 = 1671.00
    assert view.subtotal == D("1671.00")
    assert "Данъчна основа 1 671,00 €" in text
    for n in range(1, 61):
        assert f"32Z40000{n:08d}" in text


def test_clause_4_3_same_view_same_bytes(april_pdf: bytes) -> None:
    assert render_invoice(APRIL) == april_pdf
    meta = PdfReader(io.BytesIO(april_pdf)).metadata
    assert meta is not None
    assert meta.creation_date_raw == "D:20260401060000+00'00'"
    assert meta.title == "Фактура № 0000012345"
    other = dataclasses.replace(APRIL, created_at=dt.datetime(2026, 4, 2, 6, 0, tzinfo=dt.UTC))
    assert render_invoice(other) != april_pdf


def test_clause_4_3_same_bytes_in_another_process(april_pdf: bytes, tmp_path: Path) -> None:
    script = (
        "import sys; from tests.portal.contracts_pdf.test_invoice_pdf import APRIL; "
        "from portal_api.contracts.invoice_pdf import render_invoice; "
        "sys.stdout.buffer.write(render_invoice(APRIL))"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345", "TZ": "America/New_York"}
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        check=True,
        env=env,
        cwd=Path(__file__).resolve().parents[3],
    )
    assert result.stdout == april_pdf


def test_clause_4_3_creation_date_on_dst_end_day_is_utc() -> None:
    # 2026-10-25 03:30 happens twice in Sofia: EEST (00:30 UTC), then EET (01:30 UTC).
    first = dt.datetime(2026, 10, 25, 3, 30, tzinfo=SOFIA, fold=0)
    second = first.replace(fold=1)
    dates: list[str | None] = []
    for moment in (first, second):
        pdf = render_invoice(dataclasses.replace(APRIL, created_at=moment))
        meta = PdfReader(io.BytesIO(pdf)).metadata
        assert meta is not None
        dates.append(meta.creation_date_raw)
    assert dates == ["D:20261025003000+00'00'", "D:20261025013000+00'00'"]


def test_invoice_font_missing_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(InvoiceFontMissingError, match="apt-get install fonts-dejavu-core"):
        render_invoice(APRIL, font_dir=tmp_path)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"iban": "BG00XXXX00000000000000"}, "bank account"),
        ({"iban": "BG81BNBG96611020345678"}, "bank account"),  # wrong check digits
        ({"bic": "XXXX"}, "bank account"),
        ({"bank": " "}, "bank"),
        ({"invoice_number": "12345"}, "10 digits"),
        ({"invoice_number": "00000A2345"}, "10 digits"),
        ({"service_month": dt.date(2026, 4, 2)}, "first day"),
        ({"lines": ()}, "at least one line"),
        ({"customer_number": ""}, "customer_number"),
        ({"created_at": dt.datetime(2026, 4, 1, 9, 0)}, "timezone-aware"),
    ],
)
def test_invoice_view_refuses_incomplete_data(change: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        dataclasses.replace(APRIL, **change)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"unit_price": D("17.905")}, "whole cents"),
        ({"unit_price": D("-1.00")}, "negative"),
        ({"additional_devices": -1}, "negative"),
        ({"voltage_level": "НН"}, "voltage level"),
        ({"metering_point": " "}, "metering point"),
    ],
)
def test_invoice_line_refuses_bad_values(kwargs: dict[str, object], message: str) -> None:
    base: dict[str, object] = {
        "metering_point": "32Z4000012345678",
        "voltage_level": "LV",
        "unit_price": D("17.90"),
    }
    with pytest.raises(ValueError, match=message):
        InvoiceLine(**{**base, **kwargs})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("amount", "text"),
    [
        (D("0"), "0,00"),
        (D("0.5"), "0,50"),
        (D("999.99"), "999,99"),
        (D("999.995"), "1 000,00"),
        (D("1234.56"), "1 234,56"),
        (D("1234567.891"), "1 234 567,89"),
        (D("-1234.5"), "-1 234,50"),
    ],
)
def test_amounts_are_written_the_bulgarian_way(amount: Decimal, text: str) -> None:
    assert format_amount(amount) == text
    assert format_eur(amount) == f"{text} €"
    assert format_bgn(amount) == f"{text} лв."


@given(st.decimals(min_value=0, max_value=10**9, places=2))
def test_bulgarian_amount_reads_back_to_the_same_cents(amount: Decimal) -> None:
    text = format_amount(amount)
    assert Decimal(text.replace(" ", "").replace(",", ".")) == amount
    whole = text.split(",")[0].split(" ")
    assert all(len(group) == 3 for group in whole[1:]) and 1 <= len(whole[0]) <= 3


def test_invoice_page_one_renders_to_png(april_pdf: bytes, tmp_path: Path) -> None:
    # scripts/test installs poppler-utils (scripts/apt-packages.txt): missing is a failure.
    assert shutil.which("pdftoppm"), "pdftoppm missing: apt-get install poppler-utils"
    source = tmp_path / "invoice.pdf"
    source.write_bytes(april_pdf)
    result = subprocess.run(
        ["pdftoppm", "-png", "-r", "50", "-f", "1", "-l", "1", source, tmp_path / "page"],
        capture_output=True,
        check=True,
    )
    assert result.stderr == b""  # poppler found nothing to complain about
    png = (tmp_path / "page-1.png").read_bytes()
    assert png.startswith(b"\x89PNG")
    width = int.from_bytes(png[16:20], "big")
    height = int.from_bytes(png[20:24], "big")
    assert abs(height / width - 297 / 210) < 0.01  # A4 portrait
