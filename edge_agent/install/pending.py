"""Uploads that wait for coverage: ``<state-dir>/pending/``, one JSON + one PDF each.

A panel in a basement often has no coverage: ``protocol`` then keeps its upload here
and ``sync`` sends it later. Each item is named by the client UUID drawn when the
document was made; the portal stores one document per client UUID, so sending an
item twice (a lost answer, two syncs) records it once.

Crash safety: both files are written to a temporary name, flushed, then renamed
(atomic on one file system); the PDF first and the JSON last, so a JSON on disk
always has its PDF. Files are 0600 and the folder 0700: the documents name the
customer. An item is removed only after the portal confirmed it (``sync``).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["PENDING_DIR", "PendingItem", "items", "keep", "remove", "write_private"]

PENDING_DIR = "pending"
_VERSION = 1


@dataclass(frozen=True)
class PendingItem:
    """One upload waiting: the outcome sent with the PDF, and where both lie."""

    client_id: str
    created_at: dt.datetime
    contract_number: str
    filename: str  # the name the portal stores the PDF under
    outcome: dict[str, Any]
    json_path: Path
    pdf_path: Path
    portal: str | None = None

    def pdf(self) -> bytes:
        return self.pdf_path.read_bytes()


def write_private(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically with mode 0600 (tmp, fsync, rename)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _folder(state_dir: Path) -> Path:
    return state_dir / PENDING_DIR


def keep(
    state_dir: Path,
    *,
    contract_number: str,
    outcome: Mapping[str, Any],
    pdf: bytes,
    filename: str,
    portal: str | None = None,
    now: dt.datetime | None = None,
) -> PendingItem:
    """Queue one upload; ``outcome["client_id"]`` (a UUID) names it."""
    client_id = str(uuid.UUID(str(outcome["client_id"])))  # refuses anything else
    created = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    folder = _folder(state_dir)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(folder, 0o700)
    # The creation time first in the name: a plain sort is oldest first.
    stem = f"{created:%Y%m%dT%H%M%S%fZ}-{client_id}"
    pdf_path, json_path = folder / f"{stem}.pdf", folder / f"{stem}.json"
    write_private(pdf_path, pdf)
    record = {
        "version": _VERSION,
        "client_id": client_id,
        "created_at": created.isoformat(),
        "contract_number": contract_number,
        "filename": filename,
        "portal": portal,
        "outcome": dict(outcome),
        "pdf": pdf_path.name,
    }
    write_private(json_path, json.dumps(record, ensure_ascii=False, indent=2).encode())
    return _item(json_path, record)


def _item(json_path: Path, record: Mapping[str, Any]) -> PendingItem:
    return PendingItem(
        client_id=str(record["client_id"]),
        created_at=dt.datetime.fromisoformat(str(record["created_at"])),
        contract_number=str(record["contract_number"]),
        filename=str(record["filename"]),
        outcome=dict(record["outcome"]),
        json_path=json_path,
        pdf_path=json_path.with_name(str(record["pdf"])),
        portal=record.get("portal"),
    )


def items(state_dir: Path) -> list[PendingItem]:
    """Every complete item, oldest first (a JSON without its PDF, or one that cannot be
    read, is skipped and left on disk: never deleted, never fatal)."""
    folder = _folder(state_dir)
    if not folder.is_dir():
        return []
    found: list[PendingItem] = []
    for json_path in sorted(folder.glob("*.json")):
        try:
            item = _item(json_path, json.loads(json_path.read_text(encoding="utf-8")))
        except (OSError, ValueError, KeyError, TypeError):
            continue  # not ours or damaged: left on disk for a person, never fatal
        if item.pdf_path.is_file():
            found.append(item)
    found.sort(key=lambda item: (item.created_at, item.json_path.name))
    return found


def remove(item: PendingItem) -> None:
    """Forget ``item`` once the portal confirmed it: the JSON first (it marks the item)."""
    item.json_path.unlink(missing_ok=True)
    item.pdf_path.unlink(missing_ok=True)
