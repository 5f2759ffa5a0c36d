"""service_requests/forms.py: each service's form cleans good input, reports every bad
field at once, judges dates by the clock it is given and never looks up DNS."""

from __future__ import annotations

import datetime as dt
import socket
from collections.abc import Iterator

import pytest

from portal_api.service_requests.attachments import Part
from portal_api.service_requests.catalogue import CATALOGUE, ServiceKind
from portal_api.service_requests.forms import (
    FORMS,
    FieldType,
    display_fields,
    form_for,
    submission,
    validate,
)
from portal_api.service_requests.workflow import RequestError

TODAY = dt.date(2026, 3, 2)
PDF = b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\n%%EOF\n"
COMMON = {
    "contact_email": "Ivan.Georgiev@Example.BG",
    "contact_phone": "0888 123 456",
    "settlement": "  Варна ",
    "address": "ул. „Цар Симеон I“   № 12",
}
GOOD: dict[ServiceKind, dict[str, str]] = {
    ServiceKind.CONNECT_CONSUMER: {
        **COMMON,
        "purpose": "household",
        "power_kw": "12,5",
        "phases": "3",
        "voltage": "low",
        "cadastral_id": "10135.2558.231.1.5",
        "connection_date": "2026-04-01",
        "note": "Нова къща.",
    },
    ServiceKind.CONNECT_PRODUCER: {
        **COMMON,
        "technology": "pv",
        "capacity_kwp": "29.9",
        "storage": "yes",
        "storage_kwh": "20",
        "own_consumption": "no",
        "voltage": "low",
        "cadastral_id": "10135.2558.231",
    },
    ServiceKind.NETWORK_CONTRACT: {
        **COMMON,
        "metering_point": "1234 567",
        "reason": "new_owner",
        "date_from": "02.03.2026",
    },
    ServiceKind.SUPPLY_CONTRACT: {
        **COMMON,
        "metering_point": "9876543210",
        "date_from": "2026-03-10",
        "e_invoice": "yes",
    },
}


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Any DNS lookup or connection during validation fails the test."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("network access during form validation")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    yield


def _errors(kind: ServiceKind, raw: dict[str, str]) -> dict[str, tuple[str, str]]:
    with pytest.raises(RequestError) as caught:
        validate(kind, raw, today=TODAY)
    assert caught.value.status == 422
    return caught.value.fields


def test_every_form_service_but_myenergy_has_a_form() -> None:
    assert set(FORMS) == set(CATALOGUE) - {ServiceKind.MYENERGY}
    for form in FORMS.values():
        names = [f.name for f in form.fields]
        assert len(names) == len(set(names))
        assert {"contact_email", "contact_phone", "settlement", "address", "note"} <= set(names)
        assert any(d.required for d in form.documents)
        assert all(len(d.label) <= 32 for d in form.documents)  # the column's width


def test_myenergy_and_unknown_kinds_have_no_form_here() -> None:
    for kind in ("myenergy", "nonsense"):
        with pytest.raises(RequestError) as caught:
            form_for(kind)
        assert caught.value.status == 404


def test_connect_consumer_cleans_every_field() -> None:
    cleaned = validate(
        ServiceKind.CONNECT_CONSUMER, GOOD[ServiceKind.CONNECT_CONSUMER], today=TODAY
    )
    assert cleaned == {
        "contact_email": "Ivan.Georgiev@example.bg",
        "contact_phone": "+359888123456",
        "settlement": "Варна",
        "address": "ул. „Цар Симеон I“ № 12",
        "purpose": "household",
        "power_kw": "12.50",
        "phases": "3",
        "voltage": "low",
        "cadastral_id": "10135.2558.231.1.5",
        "connection_date": "2026-04-01",
        "note": "Нова къща.",
    }


def test_connect_producer_storage_capacity_only_with_storage() -> None:
    raw = GOOD[ServiceKind.CONNECT_PRODUCER]
    cleaned = validate(ServiceKind.CONNECT_PRODUCER, raw, today=TODAY)
    assert cleaned["storage"] is True and cleaned["storage_kwh"] == "20.00"
    assert cleaned["capacity_kwp"] == "29.90" and cleaned["own_consumption"] is False
    without = validate(
        ServiceKind.CONNECT_PRODUCER, {**raw, "storage": "no", "storage_kwh": "abc"}, today=TODAY
    )
    assert without["storage"] is False and "storage_kwh" not in without
    assert _errors(ServiceKind.CONNECT_PRODUCER, {**raw, "storage_kwh": ""}) == {
        "storage_kwh": ("Задължително поле.", "Required.")
    }


def test_contract_forms_clean_metering_point_and_dates() -> None:
    network = validate(
        ServiceKind.NETWORK_CONTRACT, GOOD[ServiceKind.NETWORK_CONTRACT], today=TODAY
    )
    assert network["metering_point"] == "1234567"
    assert network["date_from"] == "2026-03-02"  # today is allowed, DD.MM.YYYY accepted
    supply = validate(ServiceKind.SUPPLY_CONTRACT, GOOD[ServiceKind.SUPPLY_CONTRACT], today=TODAY)
    assert supply["e_invoice"] is True and supply["contact_phone"] == "+359888123456"


def test_every_bad_field_is_reported_at_once() -> None:
    raw = {
        "contact_email": "ivan@",
        "contact_phone": "12",
        "settlement": "",
        "address": "x" * 201,
        "purpose": "castle",
        "power_kw": "0",
        "phases": "2",
        "voltage": "",
        "cadastral_id": "10135-2558",
        "connection_date": "2026-03-01",
        "note": "n" * 2001,
    }
    errors = _errors(ServiceKind.CONNECT_CONSUMER, raw)
    assert set(errors) == set(raw)
    assert errors["settlement"] == ("Задължително поле.", "Required.")
    assert errors["connection_date"][1] == "The date cannot be in the past."
    for bg, en in errors.values():
        assert bg and en and bg != en


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("10000.01", "up to 10000"),
        ("-1", "above 0"),
        ("1.234", "At most two decimals."),
        ("many", "Enter a number"),
        ("NaN", "Enter a number"),
    ],
)
def test_power_bounds(value: str, problem: str) -> None:
    raw = {**GOOD[ServiceKind.CONNECT_CONSUMER], "power_kw": value}
    assert problem in _errors(ServiceKind.CONNECT_CONSUMER, raw)["power_kw"][1]


def test_power_upper_bound_is_allowed() -> None:
    raw = {**GOOD[ServiceKind.CONNECT_CONSUMER], "power_kw": "10000"}
    assert validate(ServiceKind.CONNECT_CONSUMER, raw, today=TODAY)["power_kw"] == "10000.00"


def test_the_date_follows_the_clock_given() -> None:
    raw = {**GOOD[ServiceKind.SUPPLY_CONTRACT], "date_from": "2026-03-10"}
    assert validate(ServiceKind.SUPPLY_CONTRACT, raw, today=dt.date(2026, 3, 10))
    with pytest.raises(RequestError) as caught:
        validate(ServiceKind.SUPPLY_CONTRACT, raw, today=dt.date(2026, 3, 11))
    assert caught.value.fields == {
        "date_from": ("Датата не може да е в миналото.", "The date cannot be in the past.")
    }


@pytest.mark.parametrize("number", ["123456", "12345678901", "12345a7"])
def test_metering_point_is_7_to_10_digits(number: str) -> None:
    raw = {**GOOD[ServiceKind.NETWORK_CONTRACT], "metering_point": number}
    assert set(_errors(ServiceKind.NETWORK_CONTRACT, raw)) == {"metering_point"}


@pytest.mark.parametrize(
    ("phone", "e164"),
    [("052 123 456", "+35952123456"), ("+359 888 123 456", "+359888123456")],
)
def test_phone_in_e164(phone: str, e164: str) -> None:
    raw = {**GOOD[ServiceKind.SUPPLY_CONTRACT], "contact_phone": phone}
    assert validate(ServiceKind.SUPPLY_CONTRACT, raw, today=TODAY)["contact_phone"] == e164


def test_email_of_an_unresolvable_domain_is_accepted_offline() -> None:
    raw = {**GOOD[ServiceKind.SUPPLY_CONTRACT], "contact_email": "a@no-such-domain-xq7.bg"}
    # check_deliverability=False: syntax only, and the fixture forbids any lookup.
    assert validate(ServiceKind.SUPPLY_CONTRACT, raw, today=TODAY)["contact_email"] == (
        "a@no-such-domain-xq7.bg"
    )


def test_control_characters_are_dropped_and_unknown_fields_ignored() -> None:
    raw = {**GOOD[ServiceKind.SUPPLY_CONTRACT], "address": "ул.\x00 Шипка\x1b 1", "egn": "x"}
    cleaned = validate(ServiceKind.SUPPLY_CONTRACT, raw, today=TODAY)
    assert cleaned["address"] == "ул. Шипка 1" and "egn" not in cleaned


def test_submission_reports_fields_and_documents_together() -> None:
    raw = {**GOOD[ServiceKind.CONNECT_CONSUMER], "power_kw": ""}
    parts = [Part("ownership", "deed.pdf", PDF), Part("site_plan", "plan.exe", b"MZ\x90\x00")]
    with pytest.raises(RequestError) as caught:
        submission(ServiceKind.CONNECT_CONSUMER, raw, parts, today=TODAY)
    assert set(caught.value.fields) == {"power_kw", "site_plan"}
    fields, uploads = submission(
        ServiceKind.CONNECT_CONSUMER,
        GOOD[ServiceKind.CONNECT_CONSUMER],
        [Part("ownership", "deed.pdf", PDF), Part("site_plan", "plan.pdf", PDF)],
        today=TODAY,
    )
    assert fields["power_kw"] == "12.50"
    assert [u.label for u in uploads] == ["ownership", "site_plan"]


def test_display_fields_label_in_the_form_order() -> None:
    cleaned = validate(
        ServiceKind.CONNECT_PRODUCER, GOOD[ServiceKind.CONNECT_PRODUCER], today=TODAY
    )
    shown_bg = dict(display_fields(ServiceKind.CONNECT_PRODUCER, cleaned, "bg"))
    assert shown_bg["Вид на централата"] == "Фотоволтаична"
    assert shown_bg["Инсталирана мощност (kWp)"] == "29,90 kWp"
    assert shown_bg["Собствено потребление в обекта"] == "Не"
    shown_en = display_fields(ServiceKind.CONNECT_PRODUCER, cleaned, "en")
    assert shown_en[0] == ("E-mail for notifications", "Ivan.Georgiev@example.bg")
    assert ("Energy storage (battery)", "Yes") in shown_en


def test_choice_fields_have_choices_and_others_none() -> None:
    for form in FORMS.values():
        for spec in form.fields:
            has_choices = spec.type in (FieldType.CHOICE, FieldType.YES_NO)
            assert bool(spec.choices) == has_choices, spec.name
