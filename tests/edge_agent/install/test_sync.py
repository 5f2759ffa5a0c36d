"""A panel without coverage: ``protocol`` keeps the upload, ``sync`` sends it later.

"No coverage" is a loopback port nobody listens on; then the real portal (uvicorn,
SQLite) answers. Items leave ``pending/`` only once the portal confirmed them, and a
retried item (the answer was lost) is recorded once.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import socket
import stat
import uuid
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

import pytest
from sqlalchemy import func, select

from edge_agent.install import pending
from edge_agent.install.portal_client import DEFAULT_PASSWORD_ENV as PASSWORD_ENV
from portal_api.installations.models import InstallationProtocolRow
from portal_api.seed import DEMO_PASSWORD
from tests.edge_agent.install.test_protocol import pdf_text, technician
from tests.portal.web.conftest import Portal, fresh_portal
from tests.portal.web.test_installation_protocols import NEW_SITE, signed_contract

__all__ = ["fresh_portal"]

Install = Callable[..., tuple[int, str, str]]


@pytest.fixture(autouse=True)
def _password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PASSWORD_ENV, DEMO_PASSWORD)


@pytest.fixture
def dead_portal() -> str:
    """A loopback address where nothing listens: the panel has no coverage."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def _stored(portal: Portal) -> int:
    with portal.services.sessions() as session:
        return session.scalar(select(func.count()).select_from(InstallationProtocolRow)) or 0


def _offline_handover(install: Install, number: str, portal: str, out: Path) -> tuple[int, str]:
    status, stdout, _err = install(
        "--json",
        "protocol",
        "handover",
        "--contract",
        number,
        "--site",
        NEW_SITE,
        "--portal",
        portal,
        "--user",
        "installer",
        "--customer",
        "Иван Петров Георгиев",
        "--customer-number",
        "3100000017",
        "--address",
        "ул. Складова 9, Варна",
        "--meter-model",
        "sdm630",
        "--meter-serial",
        "21004711",
        "--out",
        out,
        *technician(),
    )
    return status, stdout


def test_no_coverage_keeps_the_upload_and_sync_sends_it(
    fresh_portal: Portal, install: Install, state_dir: Path, dead_portal: str, tmp_path: Path
) -> None:
    number = signed_contract(fresh_portal, book_visit=True)
    out = tmp_path / "handover.pdf"
    status, stdout = _offline_handover(install, number, dead_portal, out)
    assert status == 3, stdout  # done, with a warning to read
    kept = json.loads(stdout)
    assert kept["uploaded"] is False and "myenergy-install sync" in kept["warning"]
    assert "Иван Петров Георгиев" in pdf_text(out)  # the paper is there to sign
    waiting = pending.items(state_dir)
    assert [item.client_id for item in waiting] == [kept["client_id"]]
    assert waiting[0].pdf() == out.read_bytes()
    folder = state_dir / "pending"
    assert stat.S_IMODE(os.stat(folder).st_mode) == 0o700
    assert {stat.S_IMODE(os.stat(p).st_mode) for p in folder.iterdir()} == {0o600}
    assert _stored(fresh_portal) == 0

    # Still no coverage: sync keeps everything.
    status, _out, err = install("sync", "--portal", dead_portal, "--user", "installer")
    assert status == 3 and "недостъпен" in err
    assert len(pending.items(state_dir)) == 1

    # Back in coverage: sent, confirmed, removed.
    status, stdout, _err = install(
        "--json", "sync", "--portal", fresh_portal.url, "--user", "installer"
    )
    assert status == 0, stdout
    report = json.loads(stdout)
    assert report["ok"] is True and report["left"] == [] and report["pending"] == 0
    assert [item["client_id"] for item in report["sent"]] == [kept["client_id"]]
    assert report["sent"][0]["contract_state"] == "active"
    assert pending.items(state_dir) == []
    with closing(fresh_portal.api("installer")) as client:
        assert client.get(f"/api/v1/contracts/{number}").json()["state"] == "active"
        stored = client.get(report["sent"][0]["download"])
    assert stored.content == out.read_bytes()

    status, stdout, _err = install("sync", "--portal", fresh_portal.url, "--user", "installer")
    assert status == 0 and "Няма нищо за изпращане" in stdout


def test_a_retry_after_a_lost_answer_is_recorded_once(
    fresh_portal: Portal, install: Install, state_dir: Path, dead_portal: str, tmp_path: Path
) -> None:
    number = signed_contract(fresh_portal, book_visit=True)
    status, _stdout = _offline_handover(install, number, dead_portal, tmp_path / "h.pdf")
    assert status == 3
    # The portal stored the upload but the answer never came back: the item is still here.
    backup = tmp_path / "backup"
    shutil.copytree(state_dir / "pending", backup)
    status, _out, _err = install("sync", "--portal", fresh_portal.url, "--user", "installer")
    assert status == 0
    shutil.rmtree(state_dir / "pending")
    shutil.copytree(backup, state_dir / "pending")
    status, stdout, _err = install(
        "--json", "sync", "--portal", fresh_portal.url, "--user", "installer"
    )
    assert status == 0, stdout
    assert json.loads(stdout)["sent"][0]["again"] is True
    assert pending.items(state_dir) == []
    assert _stored(fresh_portal) == 1


def test_a_refused_item_stays_and_the_others_go(
    fresh_portal: Portal, install: Install, state_dir: Path, dead_portal: str, tmp_path: Path
) -> None:
    number = signed_contract(fresh_portal, book_visit=True)
    # Two documents for one contract: the first activates it, the second is refused
    # (the contract is no longer waiting for installation) and stays for the office.
    assert _offline_handover(install, number, dead_portal, tmp_path / "1.pdf")[0] == 3
    assert _offline_handover(install, number, dead_portal, tmp_path / "2.pdf")[0] == 3
    first, second = pending.items(state_dir)
    status, stdout, _err = install(
        "--json", "sync", "--portal", fresh_portal.url, "--user", "installer"
    )
    assert status == 3, stdout
    report = json.loads(stdout)
    assert [item["client_id"] for item in report["sent"]] == [first.client_id]  # oldest first
    assert [item["client_id"] for item in report["left"]] == [second.client_id]
    assert report["left"][0]["status"] == 409
    assert [item.client_id for item in pending.items(state_dir)] == [second.client_id]


def test_nothing_pending_needs_no_portal(install: Install) -> None:
    status, stdout, _err = install("--json", "sync")
    assert status == 0 and json.loads(stdout) == {"ok": True, "sent": [], "left": [], "pending": 0}


def test_offline_flag_uses_the_cached_contract(
    fresh_portal: Portal, install: Install, state_dir: Path, tmp_path: Path
) -> None:
    """Fetched once with coverage (a findings run before the visit) -> usable offline."""
    number = signed_contract(fresh_portal, book_visit=True)
    cache = state_dir / "contracts"
    cache.mkdir(parents=True)
    (cache / f"{number}.json").write_text(
        json.dumps(
            {
                "contract_number": number,
                "customer_name": "Иван Петров Георгиев",
                "customer_number": "3100000017",
                "contract_date": "2026-03-02",
                "sites": {NEW_SITE: {"name": "Склад Варна", "address": "ул. Складова 9, Варна"}},
            }
        )
    )
    status, stdout, _err = install(
        "protocol",
        "handover",
        "--offline",
        "--contract",
        number,
        "--site",
        NEW_SITE,
        "--out",
        tmp_path / "h.pdf",
        *technician(),
    )
    assert status == 3
    assert "kept: will be sent by `myenergy-install sync`" in stdout
    text = pdf_text(tmp_path / "h.pdf")
    assert "Иван Петров Георгиев" in text and "Склад Варна" in text and "02.03.2026" in text
    status, _out, _err = install("sync", "--portal", fresh_portal.url, "--user", "installer")
    assert status == 0 and pending.items(state_dir) == []


def test_pending_queue_is_ordered_private_and_tolerant(state_dir: Path) -> None:
    def outcome() -> dict[str, str]:
        return {"client_id": str(uuid.uuid4()), "kind": "handover"}

    later = pending.keep(
        state_dir,
        contract_number="MYE-2026-0002",
        outcome=outcome(),
        pdf=b"%PDF-2",
        filename="b.pdf",
        now=dt.datetime(2026, 3, 2, 12, 0, tzinfo=dt.UTC),
    )
    earlier = pending.keep(
        state_dir,
        contract_number="MYE-2026-0001",
        outcome=outcome(),
        pdf=b"%PDF-1",
        filename="a.pdf",
        now=dt.datetime(2026, 3, 2, 11, 0, tzinfo=dt.UTC),
    )
    folder = state_dir / "pending"
    (folder / "garbage.json").write_text("{not json")  # damaged: skipped, kept on disk
    orphan = folder / "20260302T100000000000Z-x.json"  # a JSON whose PDF is missing
    orphan.write_text(
        json.dumps(
            {
                "client_id": str(uuid.uuid4()),
                "created_at": "2026-03-02T10:00:00+00:00",
                "contract_number": "MYE-2026-0003",
                "filename": "c.pdf",
                "outcome": {},
                "pdf": "missing.pdf",
            }
        )
    )
    waiting = pending.items(state_dir)
    assert [item.client_id for item in waiting] == [earlier.client_id, later.client_id]
    assert waiting[0].pdf() == b"%PDF-1"
    assert not list(folder.glob(".*.tmp"))  # no temporary file left behind
    pending.remove(waiting[0])
    assert [item.client_id for item in pending.items(state_dir)] == [later.client_id]
    assert (folder / "garbage.json").exists() and orphan.exists()
    with pytest.raises(ValueError):
        pending.keep(
            state_dir, contract_number="X", outcome={"client_id": "nope"}, pdf=b"", filename="x"
        )
