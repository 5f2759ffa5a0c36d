"""Customer API of the service requests (issue 6): the public catalogue, a multipart
submission with a document, the own list and timeline, 404 for another customer,
422 naming every bad field, 403 for staff, and the OpenAPI description."""

from __future__ import annotations

from contextlib import closing

from portal_api.service_requests.attachments import MAX_BYTES
from tests.portal.web.conftest import OTHER, OWNER, Portal

PDF = b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
SUPPLY = {
    "kind": "supply_contract",
    "contact_email": "ivan@example.bg",
    "contact_phone": "+359 52 123 456",
    "metering_point": "7654321",
    "settlement": "Варна",
    "address": "ул. Шипка 12",
    "date_from": "2026-03-15",
    "e_invoice": "yes",
}
API = "/api/v1/service-requests"


def test_catalogue_is_public_with_forms_and_steps(portal: Portal) -> None:
    with closing(portal.client()) as client:
        answer = client.get("/api/v1/service-catalogue")
    assert answer.status_code == 200
    services = {s["kind"]: s for s in answer.json()}
    assert list(services) == [
        "connect_consumer",
        "connect_producer",
        "network_contract",
        "supply_contract",
        "myenergy",
    ]
    consumer = services["connect_consumer"]
    assert consumer["provider_name"]["bg"] == "Електроразпределение Север АД"
    assert consumer["steps"][0]["step"] == "received"
    power = next(f for f in consumer["fields"] if f["name"] == "power_kw")
    assert power["type"] == "decimal" and power["label"]["en"] == "Requested power (kW)"
    assert {d["label"]: d["required"] for d in consumer["documents"]} == {
        "ownership": True,
        "site_plan": True,
        "power_of_attorney": False,
    }
    producer = services["connect_producer"]
    storage = next(f for f in producer["fields"] if f["name"] == "storage_kwh")
    assert storage["required_when"] == ["storage", "yes"]
    assert services["myenergy"]["follows_contract"] is True
    assert services["myenergy"]["fields"] == []


def test_submit_list_read_and_download(fresh_portal: Portal) -> None:
    portal = fresh_portal
    with closing(portal.api(OWNER)) as client:
        answer = client.post(
            API,
            data=SUPPLY,
            files=[
                ("ownership", ("договор.pdf", PDF, "image/png")),
                ("ownership", ("C:\\scan\\page2.png", PNG, "application/pdf")),
            ],
        )
        assert answer.status_code == 201, answer.text
        created = answer.json()
        number = created["number"]
        assert number == "SR-2026-000001"
        assert created["state"] == "open" and created["step"] == "received"
        assert created["fields"]["contact_phone"] == "+35952123456"
        assert created["fields"]["e_invoice"] is True
        assert [s["step"] for s in created["timeline"]] == ["received"]
        assert created["timeline"][0]["actor_kind"] == "customer"
        assert [s["step"] for s in created["steps_ahead"]] == [
            "documents_checked",
            "contract_concluded",
            "supply_started",
        ]
        files = {a["filename"]: a for a in created["attachments"]}
        assert files["договор.pdf"]["media_type"] == "application/pdf"
        assert files["page2.png"]["media_type"] == "image/png"

        listed = client.get(API).json()
        assert [r["number"] for r in listed] == [number]
        assert listed[0]["service"]["bg"].startswith("Встъпване в договорни отношения")
        read = client.get(f"{API}/{number}")
        assert read.status_code == 200 and read.json()["timeline"] == created["timeline"]
        document = client.get(files["page2.png"]["url"])
        assert document.status_code == 200 and document.content == PNG
        assert document.headers["x-content-type-options"] == "nosniff"
        assert document.headers["content-disposition"].startswith("attachment;")

    with closing(portal.api(OTHER)) as client:
        foreign = client.get(f"{API}/{number}")
        unknown = client.get(f"{API}/SR-2026-999999")
        assert foreign.status_code == unknown.status_code == 404
        assert foreign.json() == unknown.json()
        assert client.get(files["page2.png"]["url"]).status_code == 404
        assert client.get(API).json() == []
    with closing(portal.api(OWNER)) as client:
        # Out-of-range ids are refused as input, never reach the database.
        assert client.get(f"{API}/{number}/attachments/99999999999999999999").status_code == 422
        assert client.get(f"{API}/{number}/attachments/0").status_code == 422


def test_bad_input_is_422_with_every_field(portal: Portal) -> None:
    with closing(portal.api(OWNER)) as client:
        answer = client.post(
            API,
            data={**SUPPLY, "metering_point": "12", "date_from": "2026-03-01", "e_invoice": ""},
            files=[("ownership", ("big.pdf", PDF + b"0" * MAX_BYTES, "application/pdf"))],
        )
        assert answer.status_code == 422
        body = answer.json()
        assert set(body["fields"]) == {"metering_point", "date_from", "e_invoice", "ownership"}
        assert body["fields"]["ownership"]["en"] == "The file is larger than 5 MiB."
        assert body["reason"]["bg"] == "Поправете отбелязаните полета."
        unknown = client.post(API, data={**SUPPLY, "kind": "myenergy"})
        assert unknown.status_code == 422 and set(unknown.json()["fields"]) == {"kind"}
        assert client.get(API).json() == []  # nothing was created


def test_staff_use_the_staff_api(portal: Portal) -> None:
    with closing(portal.api("operator")) as client:
        assert client.get(API).status_code == 403
        assert client.post(API, data=SUPPLY).status_code == 403


def test_cookie_session_needs_the_csrf_header(portal: Portal) -> None:
    with closing(portal.browser_session(OWNER)) as client:
        answer = client.post(
            API, data=SUPPLY, files=[("ownership", ("a.pdf", PDF, "application/pdf"))]
        )
        assert answer.status_code == 403


def test_openapi_describes_the_routes(portal: Portal) -> None:
    with closing(portal.client()) as client:
        spec = client.get("/api/v1/openapi.json").json()
    for path, method in (
        ("/api/v1/service-catalogue", "get"),
        (API, "post"),
        (API, "get"),
        (API + "/{request_number}", "get"),
        (API + "/{request_number}/attachments/{attachment_id}", "get"),
    ):
        operation = spec["paths"][path][method]
        assert operation["tags"] == ["service requests"], path
    assert "multipart/form-data" in spec["paths"][API]["post"]["requestBody"]["content"]
    assert "MyRequestOut" in spec["components"]["schemas"]
    assert spec["paths"][API]["post"]["responses"]["422"]["content"]["application/json"]
