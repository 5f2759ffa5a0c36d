"""Response models of the service-requests API (issue 6): the catalogue with its forms,
a customer's requests with their timelines, and the refusal with per-field messages.

Texts meant for people come in both languages (``BilingualText``: bg, en); times are UTC
ISO 8601 instants; a request's ``fields`` are the form's cleaned values as stored
(decimals as strings, days as ISO dates, yes/no as booleans).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict

from portal_api.service_requests.catalogue import (
    CATALOGUE,
    RequestState,
    ServiceDefinition,
    ServiceKind,
    Step,
    step_title,
)
from portal_api.service_requests.forms import FORMS, DocumentSpec, FieldSpec, FieldType
from portal_api.service_requests.workflow import AttachmentView, RequestError, RequestView

__all__ = [
    "MyRequestOut",
    "MyRequestSummaryOut",
    "RequestRefusalOut",
    "ServiceOut",
    "catalogue_out",
    "error_body",
    "request_out",
    "summary_out",
]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True)


class BilingualText(_Model):
    bg: str
    en: str


class FormChoiceOut(_Model):
    value: str
    label: BilingualText


class FormFieldOut(_Model):
    """A form field: post it under ``name`` (multipart). ``required_when`` = [field, value]."""

    name: str
    label: BilingualText
    type: FieldType
    required: bool
    required_when: tuple[str, str] | None = None
    max_length: int
    choices: list[FormChoiceOut]
    help: BilingualText


class FormDocumentOut(_Model):
    """A document: post its files as file parts named ``label`` (PDF, JPEG, PNG ≤ 5 MiB)."""

    label: str
    title: BilingualText
    required: bool


class ServiceStepOut(_Model):
    step: Step
    title: BilingualText


class ServiceOut(_Model):
    kind: ServiceKind
    title: BilingualText
    provider: str
    provider_name: BilingualText
    steps: list[ServiceStepOut]
    follows_contract: bool
    # MyEnergy has no form here: it is ordered through the MyEnergy order (its own API).
    fields: list[FormFieldOut]
    documents: list[FormDocumentOut]


class TimelineStepOut(_Model):
    step: Step
    title: BilingualText
    at: dt.datetime
    actor_kind: str
    actor_name: str
    note: str


class RequestDocumentOut(_Model):
    id: int
    label: str
    filename: str
    media_type: str
    size: int
    sha256: str
    url: str


class MyRequestSummaryOut(_Model):
    number: str
    kind: ServiceKind
    service: BilingualText
    provider_name: BilingualText
    state: RequestState
    step: Step
    step_title: BilingualText
    submitted_at: dt.datetime
    updated_at: dt.datetime
    contract_number: str | None


class MyRequestOut(MyRequestSummaryOut):
    fields: dict[str, Any]
    contact_email: str
    timeline: list[TimelineStepOut]
    steps_ahead: list[ServiceStepOut]
    attachments: list[RequestDocumentOut]


class RequestRefusalOut(_Model):
    """A refused request: ``detail`` in English, ``reason`` in both, ``fields`` per field."""

    detail: str
    reason: BilingualText
    fields: dict[str, BilingualText]


def _text(definition: ServiceDefinition) -> BilingualText:
    return BilingualText(bg=definition.title("bg"), en=definition.title("en"))


def _step(step: Step) -> ServiceStepOut:
    return ServiceStepOut(
        step=step, title=BilingualText(bg=step_title(step, "bg"), en=step_title(step, "en"))
    )


def _field(spec: FieldSpec) -> FormFieldOut:
    return FormFieldOut(
        name=spec.name,
        label=BilingualText(bg=spec.label_bg, en=spec.label_en),
        type=spec.type,
        required=spec.required,
        required_when=spec.required_when,
        max_length=spec.max_length,
        choices=[
            FormChoiceOut(value=c.value, label=BilingualText(bg=c.label_bg, en=c.label_en))
            for c in spec.choices
        ],
        help=BilingualText(bg=spec.help_bg, en=spec.help_en),
    )


def _document(spec: DocumentSpec) -> FormDocumentOut:
    return FormDocumentOut(
        label=spec.label,
        title=BilingualText(bg=spec.title_bg, en=spec.title_en),
        required=spec.required,
    )


def catalogue_out() -> list[ServiceOut]:
    services: list[ServiceOut] = []
    for definition in CATALOGUE.values():
        form = FORMS.get(definition.kind)
        services.append(
            ServiceOut(
                kind=definition.kind,
                title=_text(definition),
                provider=definition.provider.value,
                provider_name=BilingualText(
                    bg=definition.provider_name("bg"), en=definition.provider_name("en")
                ),
                steps=[_step(s) for s in definition.steps],
                follows_contract=definition.follows_contract,
                fields=[_field(f) for f in form.fields] if form else [],
                documents=[_document(d) for d in form.documents] if form else [],
            )
        )
    return services


def _summary_fields(view: RequestView) -> dict[str, Any]:
    service = view.service
    return {
        "number": view.number,
        "kind": view.kind,
        "service": _text(service),
        "provider_name": BilingualText(
            bg=service.provider_name("bg"), en=service.provider_name("en")
        ),
        "state": view.state,
        "step": view.step,
        "step_title": BilingualText(bg=step_title(view.step, "bg"), en=step_title(view.step, "en")),
        "submitted_at": view.submitted_at,
        "updated_at": view.updated_at,
        "contract_number": view.contract_number,
    }


def summary_out(view: RequestView) -> MyRequestSummaryOut:
    return MyRequestSummaryOut(**_summary_fields(view))


def _attachment(number: str, item: AttachmentView) -> RequestDocumentOut:
    return RequestDocumentOut(
        id=item.id,
        label=item.label,
        filename=item.filename,
        media_type=item.media_type,
        size=item.size,
        sha256=item.sha256,
        url=f"/api/v1/service-requests/{number}/attachments/{item.id}",
    )


def request_out(view: RequestView) -> MyRequestOut:
    reached = {s.step for s in view.steps}
    ahead = [s for s in view.service.steps if s not in reached] if view.open else []
    return MyRequestOut(
        **_summary_fields(view),
        fields=dict(view.fields),
        contact_email=view.contact_email,
        timeline=[
            TimelineStepOut(
                step=s.step,
                title=BilingualText(bg=s.title("bg"), en=s.title("en")),
                at=s.at,
                actor_kind=s.actor_kind,
                actor_name=s.actor_name,
                note=s.note,
            )
            for s in view.steps
        ],
        steps_ahead=[_step(s) for s in ahead],
        attachments=[_attachment(view.number, a) for a in view.attachments],
    )


def error_body(error: RequestError) -> dict[str, object]:
    return RequestRefusalOut(
        detail=error.message_en,
        reason=BilingualText(bg=error.message_bg, en=error.message_en),
        fields={name: BilingualText(bg=bg, en=en) for name, (bg, en) in error.fields.items()},
    ).model_dump(mode="json")
