"""``myenergy-install protocol`` against a running portal (uvicorn, SQLite, the demo data).

The contract is drafted, signed and (for the handover) its visit booked through the
portal's API, as the service centre would; the CLI then fetches the contract's data,
writes the PDF, uploads it and the portal moves the contract (1.4.2 / 1.5). The check
result is written in the shared format of ``results.py``, as ``check`` leaves it.
"""

from __future__ import annotations

import io
import json
import os
import stat
from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from edge_agent.install import pending, results
from edge_agent.install.portal_client import DEFAULT_PASSWORD_ENV as PASSWORD_ENV
from portal_api.seed import DEMO_PASSWORD
from tests.portal.web.conftest import OWNER, Portal, fresh_portal
from tests.portal.web.test_installation_protocols import NEW_SITE, signed_contract

__all__ = ["CHECK", "fresh_portal", "pdf_text", "technician"]

Install = Callable[..., tuple[int, str, str]]

CHECK: dict[str, Any] = {
    "kind": "check",
    "version": 1,
    "at": "2026-03-02T11:20:00Z",
    "port": "/dev/ttyUSB0",
    "slave": 1,
    "model": "sdm630",
    "baud": 9600,
    "parity": "N",
    "verdict": "fail",
    "items": [
        {
            "id": "voltage_l1",
            "status": "pass",
            "message_bg": "231,2 V",
            "message_en": "231.2 V",
            "advice_bg": "",
            "advice_en": "",
            "values": {"u_v": 231.2},
        },
        {
            "id": "ct_ratio",
            "status": "pass",
            "message_bg": "Коефициентът съответства на предпазителя",
            "message_en": "The ratio fits the breaker",
            "advice_bg": "",
            "advice_en": "",
            "values": {"ct_ratio": "100/5", "breaker_a": 63},
        },
        {
            "id": "signal",
            "status": "fail",
            "message_bg": "Няма използваемо покритие (-112 dBm)",
            "message_en": "No usable coverage (-112 dBm)",
            "advice_bg": "основание за констативен протокол (т. 1.5)",
            "advice_en": "grounds for the statement of findings (1.5)",
            "values": {"signal_dbm": -112.0},
        },
    ],
    "signal_dbm": -112.0,
    "impossible_reason": "no_mobile_coverage",
    "meter_serial": "21004711",
}


def technician(*extra: str) -> list[str]:
    """Who signs, and when: the portal's clock stands at 2026-03-02 14:00 Sofia time."""
    return [
        "--technician",
        "Петър Петров",
        "--signatory",
        "Иван Петров Георгиев",
        "--at",
        "2026-03-02 13:30",
        *extra,
    ]


def pdf_text(path: Path) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(path.read_bytes())).pages)


@pytest.fixture(autouse=True)
def _password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PASSWORD_ENV, DEMO_PASSWORD)


def _state(portal: Portal, number: str) -> str:
    with closing(portal.api("installer")) as client:
        state: str = client.get(f"/api/v1/contracts/{number}").json()["state"]
    return state


def test_handover_online_fetches_the_contract_uploads_and_activates(
    fresh_portal: Portal, install: Install, state_dir: Path, tmp_path: Path
) -> None:
    number = signed_contract(fresh_portal, book_visit=True)
    results.save(state_dir, {**CHECK, "verdict": "pass", "items": CHECK["items"][:2]})
    out = tmp_path / "handover.pdf"
    status, stdout, _err = install(
        "--json",
        "protocol",
        "handover",
        "--contract",
        number,
        "--site",
        NEW_SITE,
        "--portal",
        fresh_portal.url,
        "--user",
        "installer",
        "--out",
        out,
        "--imei",
        "356938035643809",
        *technician(),
    )
    assert status == 0, stdout
    answer = json.loads(stdout)
    assert answer["uploaded"] is True and answer["contract_state"] == "active"
    assert _state(fresh_portal, number) == "active"
    text = pdf_text(out)
    # the contract's data came from the portal: no --customer, --address were given
    assert "Иван Петров Георгиев" in text and "3100000017" in text
    assert "ул. Складова 9, Варна" in text and "32Z0000000000009" in text
    assert "SDM630, сериен № 21004711" in text and "3 бр., 100/5 A" in text
    assert "IMEI 356938035643809" in text
    assert "Екземпляр 3 от 3" in text and "в норма" in text
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o600
    assert pending.items(state_dir) == []
    # cached for the next panel without coverage, without personal numbers
    cache = state_dir / "contracts" / f"{number}.json"
    assert stat.S_IMODE(os.stat(cache).st_mode) == 0o600
    assert json.loads(cache.read_text())["customer_name"] == "Иван Петров Георгиев"
    with closing(fresh_portal.api(OWNER)) as owner:  # the customer gets its copy
        assert owner.get(answer["download"]).content == out.read_bytes()


def test_findings_take_the_reason_and_the_signal_from_the_check(
    fresh_portal: Portal, install: Install, state_dir: Path, tmp_path: Path
) -> None:
    number = signed_contract(fresh_portal, book_visit=True)
    results.save(state_dir, CHECK)
    out = tmp_path / "findings.pdf"
    status, stdout, _err = install(
        "protocol",
        "findings",
        "--contract",
        number,
        "--site",
        NEW_SITE,
        "--portal",
        fresh_portal.url,
        "--user",
        "installer",
        "--out",
        out,
        *technician(),
    )
    assert status == 0, stdout
    assert "✔ Качен в портала" in stdout  # Bulgarian first by default
    assert _state(fresh_portal, number) == "ended_installation_impossible"
    flat = " ".join(pdf_text(out).split())
    assert "КОНСТАТИВЕН ПРОТОКОЛ" in flat and "ограничение във връзката с мрежата" in flat
    assert "Сигнал на мобилната мрежа: -112 dBm" in flat
    assert "без санкции и неустойки" in flat


def test_a_refusal_of_the_contract_engine_is_reported_and_nothing_is_kept(
    fresh_portal: Portal, install: Install, state_dir: Path, tmp_path: Path
) -> None:
    number = signed_contract(fresh_portal, book_visit=False)  # no visit booked
    status, _out, err = install(
        "protocol",
        "handover",
        "--contract",
        number,
        "--site",
        NEW_SITE,
        "--portal",
        fresh_portal.url,
        "--user",
        "installer",
        "--out",
        tmp_path / "h.pdf",
        *technician(),
    )
    assert status == 1
    assert "1.4.2" in err or "nothing was recorded" in err
    assert (tmp_path / "h.pdf").is_file()  # the paper is still there to show
    assert pending.items(state_dir) == []
    assert _state(fresh_portal, number) == "signed"


def test_a_wrong_password_is_a_clear_error(
    fresh_portal: Portal, install: Install, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PASSWORD_ENV, "not-the-password")
    status, stdout, err = install(
        "--json",
        "protocol",
        "handover",
        "--contract",
        "MYE-2025-0001",
        "--site",
        "varna-0001",
        "--portal",
        fresh_portal.url,
        "--user",
        "installer",
        *technician(),
    )
    assert status == 1
    assert json.loads(stdout)["error"]["code"] == "login_refused"
    assert "login refused" in err


def test_bad_arguments_are_refused_before_any_work(install: Install, state_dir: Path) -> None:
    common = ["--contract", "MYE-2026-0001", "--site", "varna-0009", "--offline"]
    status, _out, err = install("protocol", "findings", *common, *technician())
    assert status == 2 and "--reason" in err
    status, _out, err = install(
        "protocol", "handover", *common, *technician("--capacity", "employee")
    )
    assert status == 2 and "--position" in err
    status, _out, err = install("protocol", "handover", *common, *technician())
    assert status == 2 and "--customer" in err  # no coverage and nothing cached
    status, _out, err = install(
        "protocol", "handover", *common, "--check-file", state_dir / "nope.json", *technician()
    )
    assert status == 2 and "nope.json" in err
    status, _out, err = install(
        "protocol",
        "handover",
        *common[:4],
        "--portal",
        "http://127.0.0.1:9",
        "--code",
        "ABCDE-FGHJK",
        *technician(),
    )
    assert status == 2 and "--user" in err  # a provisioning code does not record outcomes
    assert pending.items(state_dir) == []


def test_help_reads_as_docs(install: Install) -> None:
    with pytest.raises(SystemExit) as exited:
        install("protocol", "--help")
    assert exited.value.code == 0
