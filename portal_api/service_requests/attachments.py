"""Checking the documents sent with a request form: type by content, size, count, name.

Only PDF, JPEG and PNG are kept, decided by the file's first bytes (its magic),
never by the browser's content type or the file's extension: an executable named
``deed.pdf`` is refused. A file is at most 5 MiB and not empty; a request carries
at most 5 files. The stored name is a safe base name: no directories, no control
characters, at most 120 characters, and its extension says what the content is.
Errors are ``RequestError`` with the document's form field as the field name.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from portal_api.service_requests.workflow import RequestError, Upload

__all__ = [
    "MAX_BYTES",
    "MAX_FILES",
    "NAME_MAX",
    "Part",
    "check_documents",
    "check_upload",
    "safe_name",
    "sniff",
]

MAX_BYTES = 5 * 1024 * 1024
MAX_FILES = 5
NAME_MAX = 120

# (magic prefix, media type, extensions the name may keep; the first is given otherwise)
_KINDS: tuple[tuple[bytes, str, tuple[str, ...]], ...] = (
    (b"%PDF-", "application/pdf", (".pdf",)),
    (b"\xff\xd8\xff", "image/jpeg", (".jpg", ".jpeg")),
    (b"\x89PNG\r\n\x1a\n", "image/png", (".png",)),
)
# Characters no file system or Content-Disposition header should see in a name.
_UNSAFE = re.compile(r'[\x00-\x1f\x7f<>:"|?*;\\/]')


@dataclass(frozen=True)
class Part:
    """A file part as received: the form field it came in (the document's label)."""

    label: str
    filename: str
    content: bytes


def sniff(content: bytes) -> tuple[str, tuple[str, ...]] | None:
    """(media type, allowed extensions) of ``content`` by its magic, None if not allowed."""
    for magic, media_type, extensions in _KINDS:
        if content.startswith(magic):
            return media_type, extensions
    return None


def safe_name(filename: str, extensions: Sequence[str]) -> str:
    """A base name without path or control characters, ≤ NAME_MAX, ending in ``extensions``."""
    base = re.split(r"[\\/]", filename)[-1]
    base = unicodedata.normalize("NFC", _UNSAFE.sub("", base))
    base = " ".join(base.split()).strip(" .")
    stem, dot, ext = base.rpartition(".")
    if not dot:
        stem, ext = base, ""
    suffix = "." + ext.lower() if ext else ""
    if suffix not in extensions:
        stem, suffix = base, extensions[0]  # the content decides: "photo.exe" -> "photo.exe.jpg"
    stem = stem.strip(" .") or "document"
    return stem[: NAME_MAX - len(suffix)] + suffix


def check_upload(label: str, filename: str, content: bytes) -> Upload:
    """One document: refused (RequestError 422 on ``label``) unless a non-empty PDF, JPEG
    or PNG of at most 5 MiB; its name made safe."""
    if not content:
        raise RequestError(
            422,
            "Файлът е празен.",
            "The file is empty.",
            {label: ("Файлът е празен.", "The file is empty.")},
        )
    if len(content) > MAX_BYTES:
        raise RequestError(
            413,
            "Файлът е по-голям от 5 MiB.",
            "The file is larger than 5 MiB.",
            {label: ("Файлът е по-голям от 5 MiB.", "The file is larger than 5 MiB.")},
        )
    kind = sniff(content)
    if kind is None:
        problem = ("Приемат се само PDF, JPEG и PNG.", "Only PDF, JPEG and PNG are accepted.")
        raise RequestError(422, *problem, {label: problem})
    media_type, extensions = kind
    return Upload(label, safe_name(filename, extensions), media_type, content)


def check_documents(
    parts: Sequence[Part], *, required: Collection[str], allowed: Collection[str]
) -> list[Upload]:
    """Every part checked, the required documents present, at most MAX_FILES in all:
    one RequestError(422) lists every document field that is wrong."""
    errors: dict[str, tuple[str, str]] = {}
    uploads: list[Upload] = []
    for part in parts:
        if part.label not in allowed:
            errors[part.label or "documents"] = (
                "Формата не иска такъв документ.",
                "The form asks for no such document.",
            )
            continue
        try:
            uploads.append(check_upload(part.label, part.filename, part.content))
        except RequestError as error:
            errors.update(error.fields)
    for label in required:
        if label not in errors and not any(u.label == label for u in uploads):
            errors[label] = ("Приложете документа.", "Attach this document.")
    if len(parts) > MAX_FILES:
        errors["documents"] = (
            f"Най-много {MAX_FILES} файла към една заявка.",
            f"At most {MAX_FILES} files per request.",
        )
    if errors:
        raise RequestError(
            422, "Проверете приложените документи.", "Check the attached documents.", errors
        )
    return uploads
