"""Clause 6.5 import through the real portal: the API, the staff page, the CSV, the limits.

The fixture's day (2026-03-02, varna-0001, minute records up to 14:00 Sofia with a
gap 10:10-10:40 Sofia) is our side; the operator's file is built from our own
quarter-hours, one of them 10 % higher at the operator, so the site is flagged.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from contextlib import closing
from decimal import Decimal
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import select

from portal_api.consumption.service import ConsumptionService
from portal_api.contracts.app.quality import MAX_FILE_BYTES
from portal_api.db.models import AuditEntry
from portal_api.web.routes import pages_quality
from tests.portal.web.conftest import OWNER, SITE, Portal, csrf_of

SOFIA = ZoneInfo("Europe/Sofia")
POINT = "32Z4000100000017"  # varna-0001's metering point (ИТН)
SKEWED = dt.datetime(2026, 3, 2, 9, 0, tzinfo=SOFIA)  # the operator says 10 % more here
ENDPOINT = "/api/v1/quality/imports"


def operator_file(consumption: ConsumptionService) -> tuple[bytes, int]:
    """The operator's quarter-hours of 2026-03-02 00:00-14:00 Sofia, and how many."""
    ours = consumption.energy(
        SITE,
        dt.datetime(2026, 3, 2, tzinfo=SOFIA),
        dt.datetime(2026, 3, 2, 14, tzinfo=SOFIA),
        "15min",
    )
    lines = ["ИТН;начало;край;количество"]
    for interval in ours:
        kwh = Decimal(str(interval.import_kwh)) if interval.import_kwh is not None else Decimal(1)
        if interval.interval_start == SKEWED:
            kwh = (kwh * Decimal("1.10")).quantize(Decimal("0.001"))
        start, end = interval.interval_start, interval.interval_end
        lines.append(
            f"{POINT};{start:%d.%m.%Y %H:%M};{end:%d.%m.%Y %H:%M};{str(kwh).replace('.', ',')}"
        )
    return ("\n".join(lines) + "\n").encode("utf-8"), len(ours)


def upload(client: httpx.Client, data: bytes, per: str = "row", **params: str) -> httpx.Response:
    return client.post(
        ENDPOINT,
        params=params,
        data={"per": per},
        files={"file": ("operator-2026-03-02.csv", data, "text/csv")},
    )


def test_6_5_api_compares_a_day_of_quarter_hours_and_flags_the_site(portal: Portal) -> None:
    data, quarters = operator_file(portal.services.consumption)
    assert quarters == 56
    with closing(portal.api("operator")) as client:
        answer = upload(client, data)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["stored"] is False and body["readings"] == quarters
    assert body["flagged_sites"] == [SITE]
    by_start = {r["period_start"]: r for r in body["results"]}
    skewed = by_start[SKEWED.isoformat()]
    assert skewed["verdict"] == "flagged" and skewed["clause"] == "6.5"
    ours, theirs = Decimal(skewed["our_kwh"]), Decimal(skewed["operator_kwh"])
    assert theirs == (ours * Decimal("1.10")).quantize(Decimal("0.001"))
    # Relative to the operator's value: about -9.09 %, not the -10 % of ours.
    deviation = Decimal(skewed["deviation_percent"])
    assert deviation == ((ours - theirs) / theirs * 100).quantize(Decimal("0.01"))
    assert Decimal("-9.2") < deviation < Decimal("-9.0")
    assert skewed["explanation"]["numbers"]["site"] == SITE
    # The day's first quarter-hour (no reading before midnight to count from) and the
    # three the gap 10:10-10:40 Sofia touches are incomplete on our side: not judged.
    not_judged = sorted(r["period_start"] for r in body["results"] if r["verdict"] == "not_judged")
    assert not_judged == [
        "2026-03-02T00:00:00+02:00",
        "2026-03-02T10:00:00+02:00",
        "2026-03-02T10:15:00+02:00",
        "2026-03-02T10:30:00+02:00",
    ]
    assert (body["flagged"], body["within"], body["not_judged"]) == (1, quarters - 5, 4)
    with portal.services.sessions() as session:
        audited = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "quality_import")
        ).all()
    assert any(e.detail["sha256"] == body["sha256"] for e in audited)


def test_6_5_api_answers_csv_on_request(portal: Portal) -> None:
    data, quarters = operator_file(portal.services.consumption)
    with closing(portal.api("admin")) as client:
        answer = upload(client, data, format="csv", lang="en")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/csv")
    assert "attachment" in answer.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(answer.text.lstrip("\ufeff"))))
    assert len(rows) == quarters
    flagged = [r for r in rows if r["verdict"] == "flagged"]
    assert len(flagged) == 1 and flagged[0]["period_start"] == SKEWED.isoformat()
    assert flagged[0]["deviation_percent"].startswith("-9.")
    assert "outside the ±5% norm" in flagged[0]["reason"]


def test_6_5_bad_lines_refuse_the_file_with_their_numbers(portal: Portal) -> None:
    data = (
        "metering_point;period_start;period_end;kwh\n"
        f"{POINT};2026-03-02 09:00;2026-03-02 09:15;1,5\n"
        "32Z0000000000000;2026-03-02 09:00;2026-03-02 09:15;1,5\n"
        f"{POINT};2026-03-02 09:15;2026-03-02 09:30;много\n"
    ).encode()
    with closing(portal.api("operator")) as client:
        answer = upload(client, data)
    assert answer.status_code == 422
    body = answer.json()
    assert [e["line"] for e in body["errors"]] == [3, 4]
    assert "unknown metering point" in body["errors"][0]["message"]


def test_6_5_a_file_over_the_limit_is_413(portal: Portal) -> None:
    big = b"metering_point;period_start;period_end;kwh\n" + b"x" * MAX_FILE_BYTES
    with closing(portal.api("operator")) as client:
        answer = upload(client, big)
        missing = client.post(ENDPOINT, data={"per": "row"})
    assert answer.status_code == 413
    assert "MiB" in answer.json()["detail"]
    assert missing.status_code == 422


def test_6_5_customers_and_installers_may_not_import(portal: Portal) -> None:
    data, _ = operator_file(portal.services.consumption)
    for username in (OWNER, "installer"):
        with closing(portal.api(username)) as client:
            assert upload(client, data).status_code == 403


def test_6_5_staff_page_uploads_and_marks_flagged_rows(portal: Portal) -> None:
    data, _ = operator_file(portal.services.consumption)
    with closing(portal.browser_session("operator")) as client:
        page = client.get("/staff/quality")
        assert page.status_code == 200
        assert 'enctype="multipart/form-data"' in page.text
        token = csrf_of(page.text)
        files = {"file": ("operator.csv", data, "text/csv")}
        shown = client.post("/staff/quality", data={"csrf_token": token, "per": "row"}, files=files)
        download = client.post(
            "/staff/quality",
            data={"csrf_token": token, "per": "row", "format": "csv"},
            files=files,
        )
        forged = client.post("/staff/quality", data={"csrf_token": "x"}, files=files)
    assert shown.status_code == 200, shown.text
    html = shown.text
    assert html.count('data-verdict="flagged"') == 1
    assert "⚠" in html and "varna-0001" in html
    # Bulgarian first: the verdict in words beside the mark, the reason in Bulgarian.
    assert "⚠ Извън нормата" in html and "извън нормата" in html
    assert download.status_code == 200 and download.headers["content-type"].startswith("text/csv")
    assert forged.status_code == 403


def test_6_5_staff_page_lists_bad_lines_and_keeps_the_choice(portal: Portal) -> None:
    data = b"metering_point;period_start;period_end;kwh\nnobody;2026-03-02;2026-03-02;1\n"
    with closing(portal.browser_session("admin")) as client:
        token = csrf_of(client.get("/staff/quality").text)
        answer = client.post(
            "/staff/quality",
            data={"csrf_token": token, "per": "day"},
            files={"file": ("bad.csv", data, "text/csv")},
        )
        empty = client.post("/staff/quality", data={"csrf_token": token})
    assert answer.status_code == 422
    # The admin's language is English.
    assert "The file was not compared" in answer.text and "unknown metering point" in answer.text
    assert '<option value="day" selected>' in answer.text
    assert empty.status_code == 422 and "Choose the network operator" in empty.text


def test_6_5_a_long_result_lists_only_the_periods_to_look_at(
    portal: Portal, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The server runs in this process: a lower limit stands in for a month of rows.
    monkeypatch.setattr(pages_quality, "MAX_PAGE_ROWS", 10)
    data, _ = operator_file(portal.services.consumption)
    with closing(portal.browser_session("operator")) as client:
        token = csrf_of(client.get("/staff/quality").text)
        answer = client.post(
            "/staff/quality",
            data={"csrf_token": token, "per": "row"},
            files={"file": ("operator.csv", data, "text/csv")},
        )
    assert answer.status_code == 200
    assert answer.text.count("data-verdict=") == 5  # 1 flagged + 4 not judged
    assert 'data-verdict="within"' not in answer.text
    assert "Тук са изброени само периодите" in answer.text
