"""Results of ``scan`` and ``check`` kept in the state dir, for ``provision``, ``protocol``
and ``sync`` to reuse (the panel may have no coverage: nothing is lost meanwhile).

Files: ``<state-dir>/results/<kind>-<UTC yyyymmddThhmmssZ>.json``, one JSON document
each, written atomically (a temporary file in the same directory, fsync, rename) with
mode 0600: a half-written file is never read, and other users of a shared laptop do not
read a customer's site data. The format is shared with ``protocol`` (helper G): see
docs/installer.md. No personal numbers (EGN/EIK) ever go into these files.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

__all__ = ["KINDS", "latest", "results_dir", "save", "utc_iso", "utc_stamp"]

KINDS = ("scan", "check")
_STAMP = "%Y%m%dT%H%M%SZ"
_NEVER = datetime.min.replace(tzinfo=UTC)  # a result without a readable time: oldest


def results_dir(state_dir: Path) -> Path:
    return Path(state_dir) / "results"


def utc_stamp(at: datetime) -> str:
    """``20261122T231500Z``: the file-name form of a UTC time."""
    return at.astimezone(UTC).strftime(_STAMP)


def utc_iso(at: datetime) -> str:
    """``2026-11-22T23:15:00Z``: the ``at`` field's form."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _at(result: Mapping[str, Any], default: datetime) -> datetime:
    text = str(result.get("at", ""))
    try:
        at = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return default
    return at.astimezone(UTC) if at.tzinfo else at.replace(tzinfo=UTC)


def save(state_dir: Path, result: Mapping[str, Any]) -> Path:
    """Write ``result`` (its ``kind`` is ``scan`` or ``check``) and return its path.

    Two results within the same second get ``-1``, ``-2``... so none overwrites another.
    """
    kind = result.get("kind")
    if kind not in KINDS:
        raise ValueError(f"result kind must be one of {KINDS}, got {kind!r}")
    folder = results_dir(state_dir)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    stem = f"{kind}-{utc_stamp(_at(result, datetime.now(UTC)))}"
    path = folder / f"{stem}.json"
    n = 0
    while path.exists():
        n += 1
        path = folder / f"{stem}-{n}.json"
    fd, tmp = tempfile.mkstemp(prefix=f".{stem}.", suffix=".tmp", dir=folder)
    try:
        os.fchmod(fd, 0o600)  # mkstemp already makes 0600; say it, do not rely on it
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(result, out, ensure_ascii=False, indent=2)
            out.write("\n")
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return path


def latest(state_dir: Path, kind: str) -> dict[str, Any] | None:
    """The newest readable result of ``kind`` (by its ``at``), or None when there is none."""
    folder = results_dir(state_dir)
    if kind not in KINDS or not folder.is_dir():
        return None
    best: tuple[datetime, str, dict[str, Any]] | None = None
    for path in folder.glob(f"{kind}-*.json"):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue  # unreadable or foreign: never fatal for the next command
        if not isinstance(data, dict) or data.get("kind") != kind:
            continue
        key = (_at(data, _NEVER), path.name)
        if best is None or key > best[:2]:
            best = (key[0], key[1], data)
    return None if best is None else best[2]
