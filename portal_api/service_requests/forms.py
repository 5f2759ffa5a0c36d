"""The forms of the four hand-worked services: their fields, documents and validation.

One definition per service (``FORMS``) is data: the page renders the form from it,
the API describes it from it, the request page labels the stored fields from it and
``validate`` checks a submission against it. MyEnergy is not here: its order form
belongs to the contract engine (routes/pages_myenergy.py).

``validate`` is pure: the caller passes "today" (the service's clock, a Sofia
calendar day), nothing is looked up on the network (e-mail addresses are checked
for syntax only, never by DNS) and every bad field is reported at once, so the
customer fixes them all in one go. The cleaned values are JSON-ready, as they are
stored: decimals as strings with two places ("7.50"), days as ISO dates, yes/no
as booleans, phone numbers in E.164.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import StrEnum

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from portal_api.service_requests.attachments import Part, check_documents
from portal_api.service_requests.catalogue import ServiceKind
from portal_api.service_requests.workflow import RequestError, Upload

__all__ = [
    "FORMS",
    "Choice",
    "DocumentSpec",
    "FieldSpec",
    "FieldType",
    "FormDefinition",
    "display_fields",
    "form_for",
    "submission",
    "validate",
]

NOTE_MAX = 2000
# A cadastral identifier (кадастрален идентификатор): EKATTE code of the settlement,
# cadastral region and plot, then optionally the building and the unit in it.
CADASTRAL = re.compile(r"\d{5}\.\d{1,4}\.\d{1,4}(?:\.\d{1,3}(?:\.\d{1,4})?)?")
METERING_POINT = re.compile(r"\d{7,10}")  # ИТН as the invoice prints it


class FieldType(StrEnum):
    TEXT = "text"
    TEXTAREA = "textarea"
    EMAIL = "email"
    PHONE = "phone"
    CHOICE = "choice"
    YES_NO = "yes_no"
    DECIMAL = "decimal"
    DATE = "date"
    CADASTRAL = "cadastral"
    METERING_POINT = "metering_point"


@dataclass(frozen=True)
class Choice:
    value: str
    label_bg: str
    label_en: str

    def label(self, lang: str) -> str:
        return self.label_bg if lang == "bg" else self.label_en


@dataclass(frozen=True)
class FieldSpec:
    """One field of a form. ``required_when`` = (other field, its value) makes the field
    required only then (and ignored otherwise); decimals lie in (``low``, ``high``]."""

    name: str
    label_bg: str
    label_en: str
    type: FieldType = FieldType.TEXT
    required: bool = True
    choices: tuple[Choice, ...] = ()
    help_bg: str = ""
    help_en: str = ""
    max_length: int = 200
    low: Decimal = Decimal(0)
    high: Decimal = Decimal(10_000)
    unit: str = ""
    not_past: bool = False
    required_when: tuple[str, str] | None = None

    def label(self, lang: str) -> str:
        return self.label_bg if lang == "bg" else self.label_en

    def help(self, lang: str) -> str:
        return self.help_bg if lang == "bg" else self.help_en


@dataclass(frozen=True)
class DocumentSpec:
    """A document the form asks for; ``label`` is the form part's name and is stored."""

    label: str
    title_bg: str
    title_en: str
    required: bool = True

    def title(self, lang: str) -> str:
        return self.title_bg if lang == "bg" else self.title_en


@dataclass(frozen=True)
class FormDefinition:
    kind: ServiceKind
    fields: tuple[FieldSpec, ...]
    documents: tuple[DocumentSpec, ...]

    def field(self, name: str) -> FieldSpec | None:
        return next((f for f in self.fields if f.name == name), None)


# -- the definitions --------------------------------------------------------------------

_YES_NO = (Choice("yes", "Да", "Yes"), Choice("no", "Не", "No"))
_VOLTAGE = FieldSpec(
    "voltage",
    "Ниво на напрежение",
    "Voltage level",
    FieldType.CHOICE,
    choices=(
        Choice("low", "Ниско напрежение (НН, 0,4 kV)", "Low voltage (LV, 0.4 kV)"),
        Choice("medium", "Средно напрежение (СрН, 20 kV)", "Medium voltage (MV, 20 kV)"),
    ),
)
_CADASTRAL_HELP = (
    "Например 10135.2558.231 или 10135.2558.231.1.5 — от скицата на имота.",
    "For example 10135.2558.231 or 10135.2558.231.1.5 — from the plot's sketch.",
)
_CONTACT = (
    FieldSpec(
        "contact_email",
        "Имейл за известия",
        "E-mail for notifications",
        FieldType.EMAIL,
        help_bg="На него ще получавате писмо при всяка стъпка по заявката.",
        help_en="You get an e-mail there at every step of the request.",
        max_length=254,
    ),
    FieldSpec(
        "contact_phone",
        "Телефон за връзка",
        "Contact phone",
        FieldType.PHONE,
        help_bg="Например 0888 123 456 или +359 52 123 456.",
        help_en="For example 0888 123 456 or +359 52 123 456.",
        max_length=32,
    ),
)
_SITE = (
    FieldSpec(
        "settlement",
        "Населено място",
        "Settlement",
        help_bg="Град или село.",
        help_en="Town or village.",
    ),
    FieldSpec(
        "address",
        "Адрес на обекта",
        "Site address",
        help_bg="Улица и номер (ж.к., блок, вход, етаж, апартамент).",
        help_en="Street and number (district, block, entrance, floor, flat).",
    ),
)
_NOTE = FieldSpec(
    "note",
    "Бележка",
    "Note",
    FieldType.TEXTAREA,
    required=False,
    max_length=NOTE_MAX,
    help_bg="По желание, до 2000 знака.",
    help_en="Optional, up to 2000 characters.",
)
_METERING_POINT = FieldSpec(
    "metering_point",
    "Идентификационен номер на точката на измерване (ИТН)",
    "Metering point number (ИТН)",
    FieldType.METERING_POINT,
    help_bg="От 7 до 10 цифри — отпечатан е на фактурата за електроенергия.",
    help_en="7 to 10 digits, printed on the electricity invoice.",
    max_length=16,
)
_DATE_FROM = FieldSpec(
    "date_from",
    "Желана дата на встъпване",
    "Contract to start on",
    FieldType.DATE,
    not_past=True,
    help_bg="Не по-рано от днес.",
    help_en="Today or later.",
    max_length=10,
)
_OWNERSHIP = DocumentSpec(
    "ownership",
    "Документ за собственост или право на строеж",
    "Proof of ownership or right to build",
)
_RIGHT_OF_USE = DocumentSpec(
    "ownership",
    "Документ за собственост или право на ползване (напр. договор за наем)",
    "Proof of ownership or right of use (e.g. a tenancy agreement)",
)
_SITE_PLAN = DocumentSpec(
    "site_plan",
    "Скица на имота или виза за проектиране",
    "Sketch of the plot or site plan",
)
_POWER_OF_ATTORNEY = DocumentSpec(
    "power_of_attorney",
    "Пълномощно (ако заявявате от името на друг)",
    "Power of attorney (when applying for someone else)",
    required=False,
)

FORMS: dict[ServiceKind, FormDefinition] = {
    ServiceKind.CONNECT_CONSUMER: FormDefinition(
        ServiceKind.CONNECT_CONSUMER,
        (
            *_CONTACT,
            *_SITE,
            FieldSpec(
                "purpose",
                "Предназначение на обекта",
                "Use of the site",
                FieldType.CHOICE,
                choices=(
                    Choice("household", "Битов", "Household"),
                    Choice("non_household", "Небитов", "Non-household (business)"),
                ),
            ),
            FieldSpec(
                "power_kw",
                "Заявена мощност (kW)",
                "Requested power (kW)",
                FieldType.DECIMAL,
                high=Decimal(10_000),
                unit="kW",
                help_bg="Над 0 и до 10 000 kW, до два знака след десетичния знак.",
                help_en="Above 0 and up to 10,000 kW, at most two decimals.",
                max_length=16,
            ),
            FieldSpec(
                "phases",
                "Брой фази",
                "Phases",
                FieldType.CHOICE,
                choices=(
                    Choice("1", "Монофазно (1 фаза)", "Single-phase"),
                    Choice("3", "Трифазно (3 фази)", "Three-phase"),
                ),
            ),
            _VOLTAGE,
            FieldSpec(
                "cadastral_id",
                "Кадастрален идентификатор на имота",
                "Cadastral identifier of the plot",
                FieldType.CADASTRAL,
                required=False,
                help_bg=_CADASTRAL_HELP[0],
                help_en=_CADASTRAL_HELP[1],
                max_length=32,
            ),
            FieldSpec(
                "connection_date",
                "Желана дата на присъединяване",
                "Desired connection date",
                FieldType.DATE,
                required=False,
                not_past=True,
                help_bg="По желание; не по-рано от днес.",
                help_en="Optional; today or later.",
                max_length=10,
            ),
            _NOTE,
        ),
        (_OWNERSHIP, _SITE_PLAN, _POWER_OF_ATTORNEY),
    ),
    ServiceKind.CONNECT_PRODUCER: FormDefinition(
        ServiceKind.CONNECT_PRODUCER,
        (
            *_CONTACT,
            *_SITE,
            FieldSpec(
                "technology",
                "Вид на централата",
                "Type of plant",
                FieldType.CHOICE,
                choices=(
                    Choice("pv", "Фотоволтаична", "Photovoltaic"),
                    Choice("wind", "Вятърна", "Wind"),
                    Choice("hydro", "Водна", "Hydro"),
                    Choice("biomass", "Биомаса", "Biomass"),
                    Choice("other", "Друга", "Other"),
                ),
            ),
            FieldSpec(
                "capacity_kwp",
                "Инсталирана мощност (kWp)",
                "Installed capacity (kWp)",
                FieldType.DECIMAL,
                high=Decimal(30_000),
                unit="kWp",
                help_bg="Над 0 и до 30 000 kWp, до два знака след десетичния знак.",
                help_en="Above 0 and up to 30,000 kWp, at most two decimals.",
                max_length=16,
            ),
            FieldSpec(
                "storage",
                "Съоръжение за съхранение на енергия (батерия)",
                "Energy storage (battery)",
                FieldType.YES_NO,
                choices=_YES_NO,
            ),
            FieldSpec(
                "storage_kwh",
                "Капацитет на съхранението (kWh)",
                "Storage capacity (kWh)",
                FieldType.DECIMAL,
                required=False,
                required_when=("storage", "yes"),
                high=Decimal(100_000),
                unit="kWh",
                help_bg="Само ако има съхранение.",
                help_en="Only with storage.",
                max_length=16,
            ),
            FieldSpec(
                "own_consumption",
                "Собствено потребление в обекта",
                "Own consumption on the site",
                FieldType.YES_NO,
                choices=_YES_NO,
            ),
            _VOLTAGE,
            FieldSpec(
                "cadastral_id",
                "Кадастрален идентификатор на имота",
                "Cadastral identifier of the plot",
                FieldType.CADASTRAL,
                help_bg=_CADASTRAL_HELP[0],
                help_en=_CADASTRAL_HELP[1],
                max_length=32,
            ),
            _NOTE,
        ),
        (
            _OWNERSHIP,
            _SITE_PLAN,
            DocumentSpec(
                "single_line_diagram",
                "Еднолинейна схема на централата",
                "Single-line diagram of the plant",
            ),
            _POWER_OF_ATTORNEY,
        ),
    ),
    ServiceKind.NETWORK_CONTRACT: FormDefinition(
        ServiceKind.NETWORK_CONTRACT,
        (
            *_CONTACT,
            _METERING_POINT,
            *_SITE,
            FieldSpec(
                "reason",
                "Основание",
                "Reason",
                FieldType.CHOICE,
                choices=(
                    Choice("new_owner", "Нов собственик", "New owner"),
                    Choice("new_tenant", "Нов наемател или ползвател", "New tenant or user"),
                    Choice("name_change", "Промяна на наименованието", "Change of name"),
                ),
            ),
            _DATE_FROM,
            _NOTE,
        ),
        (_RIGHT_OF_USE, _POWER_OF_ATTORNEY),
    ),
    ServiceKind.SUPPLY_CONTRACT: FormDefinition(
        ServiceKind.SUPPLY_CONTRACT,
        (
            *_CONTACT,
            _METERING_POINT,
            *_SITE,
            _DATE_FROM,
            FieldSpec(
                "e_invoice",
                "Електронна фактура по имейл",
                "Electronic invoice by e-mail",
                FieldType.YES_NO,
                choices=_YES_NO,
            ),
            _NOTE,
        ),
        (_RIGHT_OF_USE, _POWER_OF_ATTORNEY),
    ),
}


def form_for(kind: ServiceKind | str) -> FormDefinition:
    """The form of ``kind``; 404 for MyEnergy (ordered elsewhere) and unknown kinds."""
    try:
        return FORMS[ServiceKind(kind)]
    except (KeyError, ValueError):
        raise RequestError(404, "Няма такава услуга.", "No such service.") from None


# -- validation ---------------------------------------------------------------------------


class _FieldError(Exception):
    """One field's problem, in Bulgarian and English."""

    def __init__(self, bg: str, en: str) -> None:
        super().__init__(en)
        self.bg = bg
        self.en = en


_REQUIRED = ("Задължително поле.", "Required.")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _text(raw: str, spec: FieldSpec) -> str:
    # Control characters never belong in a form field (tabs and newlines only in a note).
    text = unicodedata.normalize("NFC", _CONTROL.sub("", raw)).strip()
    if spec.type is not FieldType.TEXTAREA:
        text = " ".join(text.split())
    if len(text) > spec.max_length:
        raise _FieldError(
            f"Най-много {spec.max_length} знака.", f"At most {spec.max_length} characters."
        )
    return text


def _email(text: str) -> str:
    try:
        # Syntax only: a form must never cause a DNS lookup.
        return validate_email(text, check_deliverability=False).normalized
    except EmailNotValidError:
        raise _FieldError("Невалиден имейл адрес.", "Not a valid e-mail address.") from None


def _phone(text: str) -> str:
    try:
        number = phonenumbers.parse(text, "BG")
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        raise _FieldError("Невалиден телефонен номер.", "Not a valid phone number.")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _decimal(text: str, spec: FieldSpec) -> str:
    try:
        value = Decimal(text.replace(" ", "").replace(",", "."))
    except InvalidOperation:
        raise _FieldError("Въведете число, напр. 12,5.", "Enter a number, e.g. 12.5.") from None
    if not value.is_finite():
        raise _FieldError("Въведете число, напр. 12,5.", "Enter a number, e.g. 12.5.")
    if value != value.quantize(Decimal("0.01")):
        raise _FieldError("До два знака след десетичния знак.", "At most two decimals.")
    if value <= spec.low or value > spec.high:
        raise _FieldError(
            f"Стойност над {spec.low} и до {spec.high} {spec.unit}.",
            f"A value above {spec.low} and up to {spec.high} {spec.unit}.",
        )
    return str(value.quantize(Decimal("0.01")))


def _date(text: str, spec: FieldSpec, today: dt.date) -> str:
    day: dt.date | None = None
    for pattern in ("%Y-%m-%d", "%d.%m.%Y"):
        try:
            day = dt.datetime.strptime(text, pattern).date()
            break
        except ValueError:
            continue
    if day is None:
        raise _FieldError("Дата във вида ДД.ММ.ГГГГ.", "A date as DD.MM.YYYY.")
    if spec.not_past and day < today:
        raise _FieldError("Датата не може да е в миналото.", "The date cannot be in the past.")
    if day > today + dt.timedelta(days=3 * 366):
        raise _FieldError("Датата е твърде далеч в бъдещето.", "The date is too far ahead.")
    return day.isoformat()


def _clean(spec: FieldSpec, text: str, today: dt.date) -> object:
    match spec.type:
        case FieldType.EMAIL:
            return _email(text)
        case FieldType.PHONE:
            return _phone(text)
        case FieldType.CHOICE | FieldType.YES_NO:
            if text not in {c.value for c in spec.choices}:
                raise _FieldError("Изберете от списъка.", "Choose from the list.")
            return text == "yes" if spec.type is FieldType.YES_NO else text
        case FieldType.DECIMAL:
            return _decimal(text, spec)
        case FieldType.DATE:
            return _date(text, spec, today)
        case FieldType.CADASTRAL:
            if not CADASTRAL.fullmatch(text):
                raise _FieldError(
                    "Кадастрален идентификатор във вида NNNNN.NNN.NNN[.N[.N]].",
                    "A cadastral identifier as NNNNN.NNN.NNN[.N[.N]].",
                )
            return text
        case FieldType.METERING_POINT:
            digits = text.replace(" ", "")
            if not METERING_POINT.fullmatch(digits):
                raise _FieldError("ИТН е от 7 до 10 цифри.", "The number has 7 to 10 digits.")
            return digits
        case _:
            return text


def validate(
    kind: ServiceKind | str, raw: Mapping[str, str], *, today: dt.date
) -> dict[str, object]:
    """The cleaned fields of a ``kind`` form, or RequestError(422) naming every bad field.

    Fields the form does not define are dropped; ``today`` is the service clock's
    Sofia day (a desired date may not lie before it)."""
    definition = form_for(kind)
    cleaned: dict[str, object] = {}
    errors: dict[str, tuple[str, str]] = {}
    for spec in definition.fields:
        required = spec.required
        if spec.required_when is not None:
            other, wanted = spec.required_when
            if str(raw.get(other, "")).strip() != wanted:
                continue  # not asked for: whatever was typed is ignored
            required = True
        try:
            text = _text(str(raw.get(spec.name, "")), spec)
            if not text:
                if required:
                    raise _FieldError(*_REQUIRED)
                continue
            cleaned[spec.name] = _clean(spec, text, today)
        except _FieldError as bad:
            errors[spec.name] = (bad.bg, bad.en)
    if errors:
        raise RequestError(
            422,
            "Поправете отбелязаните полета.",
            "Correct the marked fields.",
            errors,
        )
    return cleaned


def submission(
    kind: ServiceKind | str,
    raw: Mapping[str, str],
    parts: Sequence[Part],
    *,
    today: dt.date,
) -> tuple[dict[str, object], list[Upload]]:
    """Fields and documents checked together: one error lists every bad field and file."""
    definition = form_for(kind)
    errors: dict[str, tuple[str, str]] = {}
    fields: dict[str, object] = {}
    uploads: list[Upload] = []
    try:
        fields = validate(kind, raw, today=today)
    except RequestError as error:
        errors.update(error.fields)
    try:
        uploads = check_documents(
            parts,
            required=[d.label for d in definition.documents if d.required],
            allowed=[d.label for d in definition.documents],
        )
    except RequestError as error:
        errors.update(error.fields)
    if errors:
        raise RequestError(
            422, "Поправете отбелязаните полета.", "Correct the marked fields.", errors
        )
    return fields, uploads


def _readable_phone(e164: str) -> str:
    """+359888123456 -> "+359 88 812 3456" (as stored when it does not parse)."""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def display_fields(
    kind: ServiceKind | str, fields: Mapping[str, object], lang: str
) -> list[tuple[str, str]]:
    """(label, value as text) of the stored ``fields`` in the form's order, in ``lang``."""
    try:
        definition = FORMS[ServiceKind(kind)]
    except (KeyError, ValueError):
        return [(name, str(value)) for name, value in fields.items()]
    shown: list[tuple[str, str]] = []
    for spec in definition.fields:
        if spec.name not in fields:
            continue
        value = fields[spec.name]
        if isinstance(value, bool):
            text = _YES_NO[0 if value else 1].label(lang)
        elif spec.choices:
            choice = next((c for c in spec.choices if c.value == value), None)
            text = choice.label(lang) if choice is not None else str(value)
        elif spec.type is FieldType.DECIMAL:
            number = str(value)
            text = (number.replace(".", ",") if lang == "bg" else number) + f" {spec.unit}"
        elif spec.type is FieldType.PHONE:
            text = _readable_phone(str(value))
        elif spec.type is FieldType.DATE:
            day = dt.date.fromisoformat(str(value))
            text = day.strftime("%d.%m.%Y") if lang == "bg" else day.isoformat()
        else:
            text = str(value)
        shown.append((spec.label(lang), text.strip()))
    return shown
