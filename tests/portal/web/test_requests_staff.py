"""The staff's request queue (issue 6): filter, assign, advance, reject; pages and API.

Requests are made with the workflow directly for the seeded customers; the staff
then work them through the portal on a real server, as an operator would.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from contextlib import closing

import httpx
import pytest
from sqlalchemy import select

from portal_api.db.models import OutboxMessage, User
from portal_api.service_requests.catalogue import CATALOGUE, ServiceKind, Step, step_title
from portal_api.service_requests.workflow import RequestService, RequestView, Upload
from tests.portal.web.conftest import NOW, OTHER, OWNER, Portal, csrf_of

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
OPERATOR_NAME = "Елена Колева (ЦОК)"


def _user(portal: Portal, username: str) -> User:
    with portal.services.sessions() as session:
        return session.scalars(select(User).where(User.username == username)).one()


def _submit(
    portal: Portal,
    username: str,
    kind: ServiceKind,
    *,
    at: dt.datetime = NOW,
    uploads: tuple[Upload, ...] = (),
) -> RequestView:
    """A request of ``username``'s customer, submitted by that user at ``at``."""
    user = _user(portal, username)
    assert user.customer_id is not None
    service = RequestService(portal.services.sessions, lambda: at, portal.url)
    return service.submit(
        customer_id=user.customer_id,
        actor_user_id=user.id,
        kind=kind,
        fields={"settlement": "Варна", "address": "ул. „Шипка“ 3", "requested_power_kw": "12.00"},
        contact_email=f"{username}@example.bg",
        uploads=uploads,
    )


def _mails(portal: Portal, number: str) -> list[OutboxMessage]:
    with portal.services.sessions() as session:
        return list(
            session.scalars(
                select(OutboxMessage)
                .where(OutboxMessage.kind == "service_request")
                .where(OutboxMessage.subject.contains(number))
                .order_by(OutboxMessage.id)
            )
        )


@pytest.fixture
def operator(fresh_portal: Portal) -> Iterator[httpx.Client]:
    with closing(fresh_portal.browser_session("operator")) as client:
        yield client


def _post(client: httpx.Client, path: str, **data: str) -> httpx.Response:
    """A form post from the page it belongs to (its CSRF token)."""
    token = csrf_of(client.get("/staff/requests").text)
    return client.post(path, data={"csrf_token": token, **data})


def _numbers(html: str) -> list[str]:
    return re.findall(r'<tr id="request-(SR-\d{4}-\d{6})"', html)


# -- the queue ---------------------------------------------------------------------------------


def test_queue_filters_by_kind_state_and_assignee(fresh_portal: Portal) -> None:
    first = _submit(fresh_portal, OWNER, ServiceKind.CONNECT_CONSUMER)
    second = _submit(fresh_portal, OTHER, ServiceKind.SUPPLY_CONTRACT)
    third = _submit(fresh_portal, OWNER, ServiceKind.NETWORK_CONTRACT)
    operator_id = _user(fresh_portal, "operator").id
    admin_id = _user(fresh_portal, "admin").id
    workflow = RequestService(fresh_portal.services.sessions, lambda: NOW, fresh_portal.url)
    workflow.assign(first.number, operator_id, actor_user_id=operator_id)
    workflow.assign(second.number, admin_id, actor_user_id=operator_id)
    workflow.reject(third.number, actor_user_id=operator_id, reason="Липсва пълномощно.")

    with closing(fresh_portal.api("operator")) as api:

        def listed(query: str) -> list[str]:
            answer = api.get("/api/v1/staff/service-requests" + query)
            assert answer.status_code == 200, answer.text
            return [r["number"] for r in answer.json()["requests"]]

        assert listed("") == [first.number, second.number]  # open, oldest first
        assert listed("?state=all") == [first.number, second.number, third.number]
        assert listed("?state=rejected") == [third.number]
        assert listed("?state=completed") == []
        assert listed("?kind=supply_contract") == [second.number]
        assert listed("?assigned=me") == [first.number]
        assert listed(f"?assigned={admin_id}") == [second.number]
        assert listed("?assigned=none&state=all") == [third.number]
        assert listed("?customer_number=3100000033") == [second.number]
        counts = api.get("/api/v1/staff/service-requests").json()["counts"]
        assert counts == {"open": 2, "completed": 0, "rejected": 1, "all": 3}
        item = api.get("/api/v1/staff/service-requests?kind=connect_consumer").json()["requests"]
        assert item[0]["assignee_name"] == OPERATOR_NAME
        assert item[0]["service"]["bg"] == CATALOGUE[ServiceKind.CONNECT_CONSUMER].title_bg
        assert item[0]["customer_number"] == "3100000017"
        assert api.get("/api/v1/staff/service-requests?assigned=somebody").status_code == 422

    with closing(fresh_portal.browser_session("operator")) as page:
        html = page.get("/staff/requests").text
        assert _numbers(html) == [first.number, second.number]
        assert "Иван Петров Георгиев" in html and "Заявката е получена" in html
        assert _numbers(page.get("/staff/requests?assigned=me").text) == [first.number]
        assert _numbers(page.get("/staff/requests?assigned=none").text) == []
        assert _numbers(page.get("/staff/requests?state=rejected").text) == [third.number]
        assert _numbers(page.get("/staff/requests?kind=supply_contract&state=all").text) == [
            second.number
        ]
        # The filter is in the URL: the form is a GET form carrying every criterion.
        assert re.search(r'<form[^>]*method="get"[^>]*action="/staff/requests"', html)
        assert 'name="assigned"' in html and 'name="customer_number"' in html


def test_queue_shows_the_wait_in_working_days(fresh_portal: Portal) -> None:
    # Friday 20 February 2026 to Monday 2 March: 23-27 February and 2 March.
    waiting = _submit(
        fresh_portal,
        OWNER,
        ServiceKind.CONNECT_CONSUMER,
        at=dt.datetime(2026, 2, 20, 9, tzinfo=dt.UTC),
    )
    today = _submit(fresh_portal, OTHER, ServiceKind.SUPPLY_CONTRACT)
    with closing(fresh_portal.api("operator")) as api:
        found = {
            r["number"]: r["waiting_working_days"]
            for r in api.get("/api/v1/staff/service-requests").json()["requests"]
        }
    assert found == {waiting.number: 6, today.number: 0}


# -- assigning ---------------------------------------------------------------------------------


def test_assign_to_self_then_to_admin_then_release(
    fresh_portal: Portal, operator: httpx.Client
) -> None:
    view = _submit(fresh_portal, OWNER, ServiceKind.CONNECT_CONSUMER)
    path = f"/staff/requests/{view.number}"
    answer = _post(operator, path + "/assign", assignee="me")
    assert answer.status_code == 303
    assert answer.headers["location"] == path + "?done=assigned"
    page = operator.get(answer.headers["location"]).text
    assert "Заявката е възложена." in page
    assert OPERATOR_NAME in page
    assert _numbers(operator.get("/staff/requests?assigned=me").text) == [view.number]

    admin_id = _user(fresh_portal, "admin").id
    assert _post(operator, path + "/assign", assignee=str(admin_id)).status_code == 303
    assert _numbers(operator.get("/staff/requests?assigned=me").text) == []
    assert _numbers(operator.get(f"/staff/requests?assigned={admin_id}").text) == [view.number]

    installer_id = _user(fresh_portal, "installer").id
    refused = _post(operator, path + "/assign", assignee=str(installer_id))
    assert refused.status_code == 400
    assert "Заявка се възлага само на служител на центъра." in refused.text

    assert _post(operator, path + "/assign", assignee="none").status_code == 303
    assert _numbers(operator.get("/staff/requests?assigned=none").text) == [view.number]
    # Neither a missing choice nor a missing CSRF token changes anything.
    assert _post(operator, path + "/assign").status_code == 400
    assert operator.post(path + "/assign", data={"assignee": "me"}).status_code == 403
    assert _numbers(operator.get("/staff/requests?assigned=none").text) == [view.number]


def test_api_assigns_and_refuses_non_staff(fresh_portal: Portal) -> None:
    view = _submit(fresh_portal, OWNER, ServiceKind.CONNECT_CONSUMER)
    admin_id = _user(fresh_portal, "admin").id
    url = f"/api/v1/staff/service-requests/{view.number}/assign"
    with closing(fresh_portal.api("operator")) as api:
        done = api.post(url, json={"assignee": admin_id})
        assert done.status_code == 200, done.text
        assert done.json()["assigned_to"] == admin_id
        refused = api.post(url, json={"assignee": _user(fresh_portal, OWNER).id})
        assert refused.status_code == 400
        assert refused.json()["reason"]["bg"] == "Заявка се възлага само на служител на центъра."
        assert api.post(url, json={"assignee": None}).json()["assigned_to"] is None


# -- advancing ---------------------------------------------------------------------------------


def test_advance_through_every_step_to_completed(
    fresh_portal: Portal, operator: httpx.Client
) -> None:
    view = _submit(fresh_portal, OWNER, ServiceKind.CONNECT_CONSUMER)
    path = f"/staff/requests/{view.number}"
    steps = CATALOGUE[ServiceKind.CONNECT_CONSUMER].steps
    for step in steps[1:]:
        page = operator.get(path).text
        # The button names the step it reaches and the form says which one it means.
        assert f'name="expected" value="{step.value}"' in page
        assert step_title(step, "bg") in page
        answer = _post(operator, path + "/advance", expected=step.value, note=f"бележка {step}")
        assert answer.status_code == 303, answer.text
        assert answer.headers["location"] == path + "?done=advanced"
    final = operator.get(path).text
    assert 'name="expected"' not in final and "/reject" not in final  # closed: no actions
    assert 'class="request-state state-completed"' in final

    with closing(fresh_portal.api("operator")) as api:
        body = api.get(f"/api/v1/staff/service-requests/{view.number}").json()
    assert body["state"] == "completed" and body["next_step"] is None
    assert [s["step"] for s in body["steps"]] == [s.value for s in steps]
    assert {s["actor_name"] for s in body["steps"][1:]} == {OPERATOR_NAME}
    assert body["steps"][-1]["note"] == "бележка connected"

    mails = _mails(fresh_portal, view.number)
    assert len(mails) == len(steps)  # one per step, "received" included
    for mail, step in zip(mails, steps, strict=True):
        assert mail.to_addr == f"{OWNER}@example.bg"
        assert step_title(step, "bg") in mail.subject
        assert mail.body_text.index("Здравейте") < mail.body_text.index("Hello")  # bg first
        assert step_title(step, "bg") in mail.body_text and step_title(step, "en") in mail.body_text


def test_stale_or_doubled_advance_is_409(fresh_portal: Portal, operator: httpx.Client) -> None:
    view = _submit(fresh_portal, OWNER, ServiceKind.CONNECT_CONSUMER)
    path = f"/staff/requests/{view.number}"
    assert _post(operator, path + "/advance", expected="documents_checked").status_code == 303
    # The same button again (a double click, or a second tab left open).
    again = _post(operator, path + "/advance", expected="documents_checked", note="отново")
    assert again.status_code == 409
    assert "Заявката вече е на стъпка „Документите са проверени“." in again.text
    assert "отново" in again.text  # the note is kept for a second try
    skipped = _post(operator, path + "/advance", expected="connected")
    assert skipped.status_code == 409
    assert _post(operator, path + "/advance").status_code == 400  # no step named
    assert len(_mails(fresh_portal, view.number)) == 2

    with closing(fresh_portal.api("operator")) as api:
        url = f"/api/v1/staff/service-requests/{view.number}/advance"
        stale = api.post(url, json={"expected": "documents_checked"})
        assert stale.status_code == 409
        assert stale.json()["reason"]["en"] == "The request is already at “Documents checked”."
        done = api.post(url, json={"expected": "connection_conditions", "note": ""})
        assert done.status_code == 200 and done.json()["step"] == "connection_conditions"
        unknown = api.get("/api/v1/staff/service-requests/SR-2026-999999")
        assert unknown.status_code == 404
        assert unknown.json() == {
            "detail": "No such request.",
            "reason": {"bg": "Няма такава заявка.", "en": "No such request."},
            "fields": {},
        }
    assert operator.get("/staff/requests/SR-2026-999999").status_code == 404


# -- rejecting ---------------------------------------------------------------------------------


def test_reject_needs_a_reason_the_customer_then_reads(
    fresh_portal: Portal, operator: httpx.Client
) -> None:
    view = _submit(fresh_portal, OWNER, ServiceKind.CONNECT_PRODUCER)
    path = f"/staff/requests/{view.number}"
    empty = _post(operator, path + "/reject", reason="   ")
    assert empty.status_code == 400
    assert "Посочете причината за отказа." in empty.text
    assert 'aria-invalid="true"' in empty.text

    reason = "Скицата на имота е нечетлива; подайте нова заявка с ясно копие."
    answer = _post(operator, path + "/reject", reason=reason)
    assert answer.status_code == 303
    assert "Заявката е отказана" in operator.get(answer.headers["location"]).text
    again = _post(operator, path + "/reject", reason=reason)
    assert again.status_code == 409 and "Заявката е приключена." in again.text

    # The customer's own view of the request: the rejection and its reason in the timeline.
    customer = _user(fresh_portal, OWNER)
    workflow = RequestService(fresh_portal.services.sessions, lambda: NOW, fresh_portal.url)
    timeline = workflow.one(view.number, customer_id=customer.customer_id).steps
    assert [s.step for s in timeline] == [Step.RECEIVED, Step.REJECTED]
    assert timeline[-1].note == reason and timeline[-1].actor_name == OPERATOR_NAME
    with closing(fresh_portal.browser_session(OWNER)) as page:
        own = page.get(f"/requests/{view.number}")
        assert own.status_code == 200
        assert reason in own.text
    mails = _mails(fresh_portal, view.number)
    assert len(mails) == 2 and reason in mails[-1].body_text

    with closing(fresh_portal.api("operator")) as api:
        other = _submit(fresh_portal, OTHER, ServiceKind.SUPPLY_CONTRACT)
        url = f"/api/v1/staff/service-requests/{other.number}/reject"
        blank = api.post(url, json={"reason": ""})
        assert blank.status_code == 400
        assert blank.json()["fields"]["reason"] == {
            "bg": "Задължително поле.",
            "en": "Required.",
        }
        done = api.post(url, json={"reason": "Няма права върху обекта."})
        assert done.status_code == 200 and done.json()["state"] == "rejected"


# -- MyEnergy: the steps follow the contract ------------------------------------------------


def _myenergy(portal: Portal, contract_number: str | None) -> RequestView:
    user = _user(portal, OWNER)
    assert user.customer_id is not None
    workflow = RequestService(portal.services.sessions, lambda: NOW, portal.url)
    with portal.services.sessions.begin() as session:
        row = workflow.submit_in(
            session,
            customer_id=user.customer_id,
            actor_user_id=user.id,
            kind=ServiceKind.MYENERGY,
            fields={"period_months": 24},
            contact_email=f"{OWNER}@example.bg",
            contract_number=contract_number,
        )
        number = row.number
    return workflow.one(number)


def test_myenergy_request_follows_its_contract(
    fresh_portal: Portal, operator: httpx.Client
) -> None:
    # MYE-2025-0001 is the owner's signed, active contract: no longer a draft to refuse.
    signed = _myenergy(fresh_portal, "MYE-2025-0001")
    path = f"/staff/requests/{signed.number}"
    page = operator.get(path).text
    assert 'name="expected"' not in page  # no advance button: the contract moves it
    assert 'href="/staff/contracts/MYE-2025-0001"' in page
    refused = _post(operator, path + "/reject", reason="Обектът не е подходящ.")
    assert refused.status_code == 409  # the MyEnergy service refuses once signed
    assert "Договор MYE-2025-0001 вече е подписан" in refused.text
    with closing(fresh_portal.api("operator")) as api:
        url = f"/api/v1/staff/service-requests/{signed.number}"
        moved = api.post(url + "/advance", json={"expected": "signed"})
        assert moved.status_code == 409
        assert moved.json()["reason"]["en"].startswith("MyEnergy steps follow the contract")
        assert api.get(url).json()["state"] == "open"
    assert len(_mails(fresh_portal, signed.number)) == 1

    # Without a contract left to refuse, the MyEnergy service rejects the request alone
    # (the plain workflow would refuse: a MyEnergy request goes with its contract).
    alone = _myenergy(fresh_portal, None)
    done = _post(operator, f"/staff/requests/{alone.number}/reject", reason="Няма обект.")
    assert done.status_code == 303
    with closing(fresh_portal.api("operator")) as api:
        body = api.get(f"/api/v1/staff/service-requests/{alone.number}").json()
    assert body["state"] == "rejected" and body["steps"][-1]["note"] == "Няма обект."


# -- the whole request -------------------------------------------------------------------------


def test_detail_shows_fields_documents_and_timeline(
    fresh_portal: Portal, operator: httpx.Client
) -> None:
    view = _submit(
        fresh_portal,
        OWNER,
        ServiceKind.CONNECT_CONSUMER,
        uploads=(Upload("ownership", "нотариален акт.pdf", "application/pdf", PDF),),
    )
    page = operator.get(f"/staff/requests/{view.number}").text
    assert "ул. „Шипка“ 3" in page and f"{OWNER}@example.bg" in page
    assert "3100000017" in page and "Иван Петров Георгиев" in page
    assert "нотариален акт.pdf" in page
    assert "Заявката е получена" in page  # the timeline the customer sees
    assert "Присъединяване на обект на потребител" in page

    item = view.attachments[0]
    download = operator.get(f"/staff/requests/{view.number}/attachments/{item.id}")
    assert download.status_code == 200 and download.content == PDF
    assert download.headers["content-disposition"].startswith("attachment;")
    assert "filename*=UTF-8''" in download.headers["content-disposition"]
    assert download.headers["x-content-type-options"] == "nosniff"
    assert download.headers["content-type"] == "application/pdf"
    other = _submit(fresh_portal, OTHER, ServiceKind.SUPPLY_CONTRACT)
    # A document is reached only through its own request.
    assert operator.get(f"/staff/requests/{other.number}/attachments/{item.id}").status_code == 404
    with closing(fresh_portal.api("operator")) as api:
        got = api.get(f"/api/v1/staff/service-requests/{view.number}/attachments/{item.id}")
        assert got.status_code == 200 and got.content == PDF


# -- who may -----------------------------------------------------------------------------------


@pytest.mark.parametrize("username", [OWNER, OTHER, "installer"])
def test_customers_and_installers_are_refused(fresh_portal: Portal, username: str) -> None:
    view = _submit(fresh_portal, OWNER, ServiceKind.CONNECT_CONSUMER)
    with closing(fresh_portal.api(username)) as api:
        assert api.get("/api/v1/staff/service-requests").status_code == 403
        assert api.get(f"/api/v1/staff/service-requests/{view.number}").status_code == 403
        url = f"/api/v1/staff/service-requests/{view.number}/advance"
        assert api.post(url, json={"expected": "documents_checked"}).status_code == 403
    with closing(fresh_portal.browser_session(username)) as page:
        assert page.get("/staff/requests").status_code == 403
        assert page.get(f"/staff/requests/{view.number}").status_code == 403
        token = csrf_of(page.get("/account").text)
        answer = page.post(
            f"/staff/requests/{view.number}/advance",
            data={"csrf_token": token, "expected": "documents_checked"},
        )
        assert answer.status_code == 403
    with closing(fresh_portal.client()) as anonymous:
        assert anonymous.get("/api/v1/staff/service-requests").status_code == 401
        answer = anonymous.get("/staff/requests")
        assert answer.status_code == 303 and answer.headers["location"].startswith("/login")
    assert len(_mails(fresh_portal, view.number)) == 1  # nobody moved it
