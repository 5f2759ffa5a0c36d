"""API shapes of the staff's request queue (issue 6): the queue, one request, the actions.

Titles come in both languages (the catalogue's), so an API client shows the
customer's words whatever its own language. The timeline, the documents and a
refusal (``RequestRefusalOut``: ``detail``, ``reason`` in both languages, ``fields``)
have the customer API's shapes (schemas_requests).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from portal_api.service_requests.catalogue import RequestState, ServiceKind, Step, step_title
from portal_api.service_requests.workflow import REASON_MAX, RequestView
from portal_api.web.schemas_requests import BilingualText, RequestDocumentOut, TimelineStepOut

__all__ = [
    "AdvanceIn",
    "AssignIn",
    "QueueItemOut",
    "QueueOut",
    "RejectIn",
    "RequestOut",
    "queue_item_out",
    "request_out",
]


def _step_texts(step: Step) -> BilingualText:
    return BilingualText(bg=step_title(step, "bg"), en=step_title(step, "en"))


class QueueItemOut(BaseModel):
    """A request as the queue lists it."""

    number: str
    kind: ServiceKind
    service: BilingualText
    company: BilingualText
    state: RequestState
    step: Step
    step_title: BilingualText
    customer_number: str
    customer_name: str
    submitted_at: dt.datetime
    last_step_at: dt.datetime
    waiting_working_days: int | None = Field(
        description="working days since the last step (Bulgarian calendar); null when closed"
    )
    assigned_to: int | None
    assignee_name: str | None
    contract_number: str | None
    follows_contract: bool


class QueueOut(BaseModel):
    """The filtered queue, oldest first, with how many requests each state holds."""

    counts: dict[str, int]
    requests: list[QueueItemOut]


class RequestOut(QueueItemOut):
    """One request with everything: fields, contact, documents, timeline, the next step."""

    fields: dict[str, Any]
    contact_email: str
    updated_at: dt.datetime
    next_step: Step | None
    steps: list[TimelineStepOut]
    attachments: list[RequestDocumentOut]


def queue_item_out(
    view: RequestView, last_step_at: dt.datetime, waiting: int | None
) -> QueueItemOut:
    service = view.service
    return QueueItemOut(
        number=view.number,
        kind=view.kind,
        service=BilingualText(bg=service.title("bg"), en=service.title("en")),
        company=BilingualText(bg=service.provider_name("bg"), en=service.provider_name("en")),
        state=view.state,
        step=view.step,
        step_title=_step_texts(view.step),
        customer_number=view.customer_number,
        customer_name=view.customer_name,
        submitted_at=view.submitted_at,
        last_step_at=last_step_at,
        waiting_working_days=waiting,
        assigned_to=view.assigned_to,
        assignee_name=view.assignee_name,
        contract_number=view.contract_number,
        follows_contract=service.follows_contract,
    )


def request_out(view: RequestView, waiting: int | None, api_prefix: str) -> RequestOut:
    last = view.steps[-1].at if view.steps else view.submitted_at
    item = queue_item_out(view, last, waiting)
    base = f"{api_prefix}/staff/service-requests/{view.number}/attachments"
    return RequestOut(
        **item.model_dump(),
        fields=dict(view.fields),
        contact_email=view.contact_email,
        updated_at=view.updated_at,
        next_step=view.next_step,
        steps=[
            TimelineStepOut(
                step=s.step,
                title=_step_texts(s.step),
                at=s.at,
                actor_kind=s.actor_kind,
                actor_name=s.actor_name,
                note=s.note,
            )
            for s in view.steps
        ],
        attachments=[
            RequestDocumentOut(
                id=a.id,
                label=a.label,
                filename=a.filename,
                media_type=a.media_type,
                size=a.size,
                sha256=a.sha256,
                url=f"{base}/{a.id}",
            )
            for a in view.attachments
        ],
    )


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AssignIn(_In):
    assignee: int | None = Field(description="an operator's or admin's user id; null releases")


class AdvanceIn(_In):
    expected: Step = Field(
        description="the step the caller means to reach: a stale page or a double submit gets 409"
    )
    note: Annotated[str, Field(max_length=REASON_MAX)] = ""


class RejectIn(_In):
    reason: Annotated[
        str, Field(max_length=REASON_MAX, description="required; the customer reads it")
    ]
