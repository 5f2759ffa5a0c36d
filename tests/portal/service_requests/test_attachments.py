"""service_requests/attachments.py: type by content, size and count limits, safe names."""

from __future__ import annotations

import pytest

from portal_api.service_requests.attachments import (
    MAX_BYTES,
    MAX_FILES,
    NAME_MAX,
    Part,
    check_documents,
    check_upload,
    safe_name,
)
from portal_api.service_requests.workflow import RequestError

PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n%%EOF\n"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 32
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
EXE = b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 32


def _refused(label: str, filename: str, content: bytes) -> RequestError:
    with pytest.raises(RequestError) as caught:
        check_upload(label, filename, content)
    assert set(caught.value.fields) == {label}
    return caught.value


def test_a_pdf_is_accepted() -> None:
    upload = check_upload("ownership", "нотариален акт.pdf", PDF)
    assert upload.label == "ownership"
    assert upload.filename == "нотариален акт.pdf"
    assert upload.media_type == "application/pdf"
    assert upload.content == PDF


@pytest.mark.parametrize(
    ("content", "media_type", "name"),
    [(JPEG, "image/jpeg", "скица.jpeg"), (PNG, "image/png", "скица.png")],
)
def test_images_are_accepted(content: bytes, media_type: str, name: str) -> None:
    upload = check_upload("site_plan", name.upper(), content)
    assert upload.media_type == media_type
    stem, ext = name.upper().rsplit(".", 1)
    assert upload.filename == f"{stem}.{ext.lower()}"


def test_an_exe_renamed_pdf_is_refused() -> None:
    error = _refused("ownership", "deed.pdf", EXE)
    assert error.fields["ownership"][1] == "Only PDF, JPEG and PNG are accepted."


def test_the_browser_type_does_not_matter_the_content_decides() -> None:
    # A PDF named .png keeps its content's type and gets its extension.
    upload = check_upload("ownership", "scan.png", PDF)
    assert upload.media_type == "application/pdf"
    assert upload.filename == "scan.png.pdf"


def test_five_mib_is_the_limit() -> None:
    at_limit = PDF + b"0" * (MAX_BYTES - len(PDF))
    assert len(check_upload("ownership", "a.pdf", at_limit).content) == MAX_BYTES
    error = _refused("ownership", "a.pdf", at_limit + b"0")
    assert error.status == 413


def test_an_empty_file_is_refused() -> None:
    assert _refused("ownership", "a.pdf", b"").fields["ownership"][1] == "The file is empty."


@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("../../etc/passwd.pdf", "passwd.pdf"),
        ("C:\\Users\\ivan\\Desktop\\акт.pdf", "акт.pdf"),
        ("a\x00b\r\nc.pdf", "abc.pdf"),
        ('x"; filename="evil.pdf', "x filename=evil.pdf"),
        ("", "document.pdf"),
        ("..", "document.pdf"),
        ("report.PDF", "report.pdf"),
        ("no extension", "no extension.pdf"),
    ],
)
def test_path_names_are_stripped(name: str, safe: str) -> None:
    assert check_upload("ownership", name, PDF).filename == safe


def test_long_names_are_cut_keeping_the_extension() -> None:
    name = safe_name("я" * 300 + ".jpg", (".jpg", ".jpeg"))
    assert len(name) == NAME_MAX and name.endswith(".jpg")


def test_documents_required_known_and_at_most_five() -> None:
    with pytest.raises(RequestError) as caught:
        check_documents(
            [Part("site_plan", "a.pdf", PDF), Part("passport", "p.pdf", PDF)],
            required=["ownership", "site_plan"],
            allowed=["ownership", "site_plan"],
        )
    assert set(caught.value.fields) == {"ownership", "passport"}
    assert caught.value.fields["ownership"][1] == "Attach this document."
    six = [Part("ownership", f"{i}.pdf", PDF) for i in range(MAX_FILES + 1)]
    with pytest.raises(RequestError) as caught:
        check_documents(six, required=["ownership"], allowed=["ownership"])
    assert set(caught.value.fields) == {"documents"}
    five = check_documents(six[:MAX_FILES], required=["ownership"], allowed=["ownership"])
    assert len(five) == MAX_FILES
