"""``myenergy-install protocol``: the handover protocol or the statement of findings.

``protocol handover`` makes the handover protocol (Appendix 2, General Terms 1.4.2) in
three copies, ``protocol findings`` the statement of findings (Appendix 3, 1.5) with
its reason, both as one Bulgarian PDF (:mod:`edge_agent.install.protocol_pdf`) from:

- the contract's data: ``GET /api/v1/contracts/{n}`` and ``/api/v1/sites/{site}``,
  cached in ``<state-dir>/contracts/`` for a panel without coverage; ``--customer``,
  ``--address`` ... on the command line win over both;
- the last ``check`` result (``results.latest(state_dir, "check")``, or
  ``--check-file``): the verdicts, the meter's model and serial, the signal in dBm
  and a 1.5 ground (``no_mobile_coverage``) found by the check.

The PDF is written to ``--out`` first (the paper to print and sign), then uploaded
with the outcome it records; the portal stores both in one transaction and moves the
contract (handover: active; findings: ended without penalties). Without coverage,
or with ``--offline``, the upload waits in ``<state-dir>/pending/`` for ``sync``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from edge_agent.install import pending, results
from edge_agent.install.output import (
    EXIT_OK,
    EXIT_REFUSED,
    EXIT_WARN,
    InstallError,
    emit,
)
from edge_agent.install.portal_client import (
    PortalClient,
    PortalError,
    add_portal_options,
    open_portal,
)
from edge_agent.install.protocol_pdf import (
    REASONS_1_5,
    CheckLine,
    EquipmentLine,
    FontMissingError,
    ProtocolDocument,
    render_findings,
    render_handover,
)
from edge_agent.install.sync import is_transient, require_login, upload

__all__ = ["add_parser", "build_document", "run"]

SOFIA = ZoneInfo("Europe/Sofia")  # the protocol's date and time are the site's local time
CONTRACTS_DIR = "contracts"
ITEM_LABELS = {
    "phase_sequence": "Последователност на фазите",
    "ct_direction": "Посока на токовите трансформатори",
    "ct_ratio": "Коефициент на ТТ спрямо предпазителя",
    "current_balance": "Баланс на токовете по фази",
    "frequency": "Честота",
    "counters": "Броячи на енергия",
    "signal": "Сигнал на мобилната мрежа",
}

_HELP = """\
Make the handover protocol (Appendix 2, General Terms 1.4.2: three copies, one for the
customer, two for ЕНЕРГО-ПРО Енергийни услуги ЕАД) or the statement of findings
(Appendix 3, 1.5: no technical way to connect the meter, or no usable mobile coverage;
the contract ends without sanctions or penalties) as a Bulgarian PDF, write it to
--out, and upload it: the portal records the installation outcome in the contract.

The contract's data come from the portal (and are cached for panels without coverage);
--customer, --address and the like override them. The verdicts, the meter and the
signal come from the last `check` (or --check-file). Without coverage (or --offline)
the upload is kept and `myenergy-install sync` sends it later.

Exit status: 0 uploaded, 3 kept for `sync` (no coverage), 1 the portal refused, 2 bad
arguments or missing data.

examples:
  myenergy-install protocol handover --contract MYE-2026-0001 --site varna-0009 \\
      --portal https://myenergy.example --user installer \\
      --technician "Петър Петров" --signatory "Иван Георгиев" --out handover.pdf
  myenergy-install protocol findings --reason no_mobile_coverage --offline \\
      --contract MYE-2026-0001 --site varna-0009 --customer "Иван Георгиев" \\
      --technician "Петър Петров" --signatory "Иван Георгиев"
"""


def add_parser(subparsers: argparse._SubParsersAction[Any]) -> None:
    parser = subparsers.add_parser(
        "protocol",
        help="handover protocol (Appendix 2) or statement of findings (Appendix 3) as PDF",
        description=_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "kind",
        choices=("handover", "findings"),
        help="handover: installed (1.4.2); findings: cannot be installed (1.5)",
    )
    parser.add_argument("--contract", required=True, help="contract number, e.g. MYE-2026-0001")
    parser.add_argument("--site", required=True, help="site id of the contract")
    add_portal_options(parser)
    people = parser.add_argument_group("who signs")
    people.add_argument("--technician", required=True, help="the technician's full name")
    people.add_argument("--signatory", required=True, help="who signs for the customer")
    people.add_argument(
        "--capacity",
        choices=("customer", "proxy", "employee"),
        default="customer",
        help="the signatory is the customer, an authorised person, or (legal entity, 1.4.2) "
        "an employee present",
    )
    people.add_argument("--position", default="", help="the employee's position (1.4.2)")
    what = parser.add_argument_group("the document")
    what.add_argument(
        "--reason",
        choices=tuple(REASONS_1_5),
        help="findings: the 1.5 ground (default: the one the last check found)",
    )
    what.add_argument("--out", type=Path, help="where to write the PDF")
    what.add_argument("--at", help="local date and time, YYYY-MM-DD HH:MM (default: now)")
    what.add_argument("--note", default="", help="a remark printed on the document")
    what.add_argument("--check-file", type=Path, help="a check result (JSON) instead of the last")
    what.add_argument(
        "--offline", action="store_true", help="do not contact the portal: keep for `sync`"
    )
    data = parser.add_argument_group("contract data without coverage (override the portal's)")
    data.add_argument("--customer", help="customer's name")
    data.add_argument("--customer-number", help="customer number (10 digits)")
    data.add_argument("--contract-date", help="date the contract was signed, YYYY-MM-DD")
    data.add_argument("--site-name", help="the site's name")
    data.add_argument("--address", help="the site's address")
    data.add_argument("--metering-point", help="the metering point's id")
    kit = parser.add_argument_group("equipment handed over (default: the check's meter)")
    kit.add_argument("--meter-model", help="multimeter model")
    kit.add_argument("--meter-serial", help="multimeter serial number")
    kit.add_argument("--ct-ratio", help="current transformers, e.g. 100/5")
    kit.add_argument("--ct-count", type=int, default=3, help="number of CTs (default 3)")
    kit.add_argument("--module-id", help="communication module id")
    kit.add_argument("--imei", help="the module's modem IMEI")
    kit.add_argument("--sim", help="SIM card (ICCID)")
    parser.add_argument(
        "--lang", choices=("bg", "en"), default="bg", help="language of the text output"
    )
    parser.set_defaults(func=run)


# -- inputs -----------------------------------------------------------------------------


def _refuse(code: str, bg: str, en: str) -> InstallError:
    return InstallError(code, f"{bg} / {en}", exit_code=EXIT_REFUSED)


def _check_result(args: argparse.Namespace) -> dict[str, Any] | None:
    if args.check_file is None:
        return results.latest(args.state_dir, "check")
    try:
        data = json.loads(Path(args.check_file).read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise _refuse(
            "check_file",
            f"не мога да прочета {args.check_file}",
            f"cannot read the check result {args.check_file}: {error}",
        ) from error
    if not isinstance(data, dict) or data.get("kind") != "check":
        raise _refuse("check_file", "това не е резултат от check", "not a check result")
    return data


def _cache_path(state_dir: Path, number: str) -> Path:
    safe = "".join(ch for ch in number if ch.isalnum() or ch in "-_")
    return state_dir / CONTRACTS_DIR / f"{safe}.json"


def _cached(state_dir: Path, number: str) -> dict[str, Any]:
    path = _cache_path(state_dir, number)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _fetch(client: PortalClient, number: str, site_id: str) -> dict[str, Any]:
    """What the documents need of the contract and the site (no personal numbers)."""
    contract = client.get_json(f"/contracts/{number}")
    sites = {s["site_id"]: s for s in contract.get("sites", [])}
    if site_id not in sites:
        raise _refuse(
            "site_not_in_contract",
            f"обект {site_id} не е в договор {number} (обекти: {', '.join(sites)})",
            f"site {site_id} is not in contract {number} (sites: {', '.join(sites)})",
        )
    site = client.get_json(f"/sites/{site_id}")
    return {
        "contract_number": number,
        "state": contract.get("state"),
        "customer_name": contract.get("customer_name", ""),
        "customer_number": contract.get("customer_number", ""),
        "contract_date": contract.get("signed_on"),
        "sites": {
            site_id: {
                "name": site.get("name", ""),
                "address": ", ".join(
                    part for part in (site.get("address"), site.get("settlement")) if part
                ),
                "metering_point": site.get("metering_point", ""),
                "devices": [
                    {k: d.get(k) for k in ("id", "kind", "meter_model", "serial")}
                    for d in site.get("devices", [])
                ],
            }
        },
    }


def _remember(state_dir: Path, number: str, data: Mapping[str, Any]) -> None:
    merged = _cached(state_dir, number)
    sites = {**merged.get("sites", {}), **data.get("sites", {})}
    merged.update(data)
    merged["sites"] = sites
    pending.write_private(
        _cache_path(state_dir, number), json.dumps(merged, ensure_ascii=False, indent=2).encode()
    )


def _local_time(text: str | None) -> dt.datetime:
    if not text:
        return dt.datetime.now(SOFIA).replace(second=0, microsecond=0, tzinfo=None)
    try:
        return dt.datetime.fromisoformat(text)
    except ValueError as error:
        raise _refuse(
            "bad_time", "--at: формат ГГГГ-ММ-ДД ЧЧ:ММ", "--at: use YYYY-MM-DD HH:MM"
        ) from error


def _day(text: str | None) -> dt.date | None:
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError as error:
        raise _refuse(
            "bad_date", f"невалидна дата {text}", f"not a date (YYYY-MM-DD): {text}"
        ) from error


# -- the document ------------------------------------------------------------------------


def _checks(check: Mapping[str, Any] | None) -> tuple[CheckLine, ...]:
    if not check:
        return ()
    lines = []
    for item in check.get("items", []):
        item_id = str(item.get("id", ""))
        label = ITEM_LABELS.get(item_id, item_id)
        if item_id.startswith("voltage_l"):
            label = f"Напрежение L{item_id.removeprefix('voltage_l')}"
        note = str(item.get("message_bg", ""))
        if item.get("status") in ("warn", "fail") and item.get("advice_bg"):
            note += f" — {item['advice_bg']}"
        lines.append(CheckLine(label, str(item.get("status", "")), note))
    return tuple(lines)


def _ct_ratio(args: argparse.Namespace, check: Mapping[str, Any] | None) -> str | None:
    if args.ct_ratio:
        return str(args.ct_ratio)
    for item in (check or {}).get("items", []):
        ratio = (item.get("values") or {}).get("ct_ratio")
        if item.get("id") == "ct_ratio" and ratio:
            return str(ratio)
    return None


def _equipment(
    args: argparse.Namespace, check: Mapping[str, Any] | None, site: Mapping[str, Any]
) -> tuple[EquipmentLine, ...]:
    devices = site.get("devices", [])
    meters = [d for d in devices if d.get("kind") == "meter"]
    modules = [d for d in devices if d.get("kind") != "meter"]
    model = (
        args.meter_model
        or (check or {}).get("model")
        or (meters[0]["meter_model"] if meters else None)
    )
    serial = (
        args.meter_serial
        or (check or {}).get("meter_serial")
        or (meters[0]["serial"] if meters else None)
    )
    lines = []
    if model or serial:
        name = str(model).upper() if model else "—"
        lines.append(EquipmentLine("Мултимер", f"{name}, сериен № {serial or '—'}"))
    ratio = _ct_ratio(args, check)
    if ratio:
        lines.append(EquipmentLine("Токови трансформатори", f"{args.ct_count} бр., {ratio} A"))
    module = args.module_id or (modules[0]["id"] if modules else None)
    if module or args.imei:
        detail = module or "—"
        if args.imei:
            detail += f", IMEI {args.imei}"
        lines.append(EquipmentLine("Комуникационен модул", detail))
    if args.sim:
        lines.append(EquipmentLine("SIM карта", f"ICCID {args.sim}"))
    return tuple(lines)


def _measurements(check: Mapping[str, Any] | None) -> tuple[str, ...]:
    if not check:
        return ()
    found = []
    if check.get("signal_dbm") is not None:
        found.append(f"Сигнал на мобилната мрежа: {float(check['signal_dbm']):.0f} dBm")
    for item in check.get("items", []):
        if item.get("status") == "fail" and item.get("id") != "signal":
            found.append(str(item.get("message_bg", "")))
    at = check.get("at")
    if at:
        found.append(f"Проверка на инсталацията от {at}")
    return tuple(found)


def build_document(
    args: argparse.Namespace,
    contract: Mapping[str, Any],
    check: Mapping[str, Any] | None,
    client_id: str,
) -> ProtocolDocument:
    site: Mapping[str, Any] = contract.get("sites", {}).get(args.site, {})
    customer = args.customer or contract.get("customer_name")
    if not customer:
        raise _refuse(
            "contract_data_missing",
            "няма данни за договора: свържете се с портала веднъж или дайте --customer, "
            "--customer-number, --address",
            "no contract data: connect to the portal once, or give --customer, "
            "--customer-number, --address",
        )
    reason = args.reason or (check or {}).get("impossible_reason")
    return ProtocolDocument(
        contract_number=args.contract,
        contract_date=_day(args.contract_date) or _day(contract.get("contract_date")),
        customer_name=str(customer),
        customer_number=str(args.customer_number or contract.get("customer_number") or ""),
        site_id=args.site,
        site_name=str(args.site_name or site.get("name") or ""),
        site_address=str(args.address or site.get("address") or ""),
        metering_point=str(args.metering_point or site.get("metering_point") or ""),
        at=_local_time(args.at),
        technician=args.technician,
        signatory_name=args.signatory,
        signatory_capacity=args.capacity,
        signatory_position=args.position,
        equipment=_equipment(args, check, site),
        checks=_checks(check),
        reason=reason if args.kind == "findings" else None,
        measurements=_measurements(check) if args.kind == "findings" else (),
        note=args.note,
        document_id=client_id,
    )


def _outcome(args: argparse.Namespace, doc: ProtocolDocument) -> dict[str, Any]:
    """The outcome the portal records (its ``OutcomeIn``)."""
    return {
        "client_id": doc.document_id,
        "kind": args.kind,
        "installed_on": doc.at.date().isoformat(),
        "protocols_signed_on": doc.at.date().isoformat() if args.kind == "handover" else None,
        "site_id": args.site,
        "technician": doc.technician,
        "signatory_name": doc.signatory_name,
        "signatory_capacity": doc.signatory_capacity,
        "signatory_position": doc.signatory_position,
        "reason": doc.reason,
        "note": doc.note,
    }


# -- running it -----------------------------------------------------------------------------


def _validate(args: argparse.Namespace, check: Mapping[str, Any] | None) -> None:
    if args.kind == "findings" and not (args.reason or (check or {}).get("impossible_reason")):
        raise _refuse(
            "reason_missing",
            "констативният протокол посочва причината: --reason no_mobile_coverage или "
            "no_technical_way (т. 1.5)",
            "the statement of findings gives its reason: --reason no_mobile_coverage or "
            "no_technical_way (1.5)",
        )
    if args.capacity == "employee" and not args.position.strip():
        raise _refuse(
            "position_missing",
            "за служител се вписват трите имена и длъжността (т. 1.4.2): --position",
            "for an employee the full names and the position are written (1.4.2): --position",
        )


def _text(result: Mapping[str, Any], lang: str) -> str:
    bg = lang == "bg"
    lines = [f"PDF: {result['pdf']}"]
    if result["uploaded"]:
        lines.append(
            (f"✔ Качен в портала: {result['download']}; договорът е {result['contract_state']}")
            if bg
            else f"✔ Uploaded: {result['download']}; the contract is {result['contract_state']}"
        )
    else:
        lines.append(
            "! Запазен: ще бъде изпратен с `myenergy-install sync` "
            "/ kept: will be sent by `myenergy-install sync`"
        )
        if result.get("why"):
            lines.append(f"  ({result['why']})")
    return "\n".join(lines)


def _connect(
    args: argparse.Namespace, state_dir: Path
) -> tuple[PortalClient | None, dict[str, Any], str]:
    """Log in and refresh the contract's cache; without coverage: no client, the cache."""
    if args.offline or not args.portal:
        return None, _cached(state_dir, args.contract), "--offline" if args.offline else ""
    require_login(args)
    client: PortalClient | None = None
    try:
        # Logs in first: a missing password is refused before any work is done.
        client = open_portal(args, need_login=True)
        _remember(state_dir, args.contract, _fetch(client, args.contract, args.site))
    except PortalError as error:
        if client is not None:
            client.close()
        if not is_transient(error):
            raise
        return None, _cached(state_dir, args.contract), error.message
    return client, _cached(state_dir, args.contract), ""


def _send(
    client: PortalClient,
    args: argparse.Namespace,
    doc: ProtocolDocument,
    pdf: bytes,
    *,
    out: Path,
    filename: str,
) -> dict[str, Any] | str:
    """Upload; the portal's answer, or why it must wait (a refusal is raised)."""
    try:
        done = upload(client, args.contract, _outcome(args, doc), pdf, filename)
    except PortalError as error:
        if is_transient(error):
            return error.message
        raise PortalError(
            error.code,
            f"{error.message_bg} (PDF: {out}; нищо не е записано в договора)",
            f"{error.message_en} (PDF: {out}; nothing was recorded)",
            status=error.status,
        ) from error
    return {
        "uploaded": True,
        "again": not done.created,
        "protocol_id": done.protocol_id,
        "download": done.download,
        "contract_state": done.contract_state,
    }


def run(args: argparse.Namespace) -> int:
    state_dir: Path = args.state_dir
    check = _check_result(args)
    _validate(args, check)
    client, contract, why = _connect(args, state_dir)
    try:
        client_id = str(uuid.uuid4())
        try:
            doc = build_document(args, contract, check, client_id)
            pdf = render_handover(doc) if args.kind == "handover" else render_findings(doc)
        except FontMissingError as error:
            raise InstallError("font_missing", str(error), exit_code=EXIT_REFUSED) from error
        filename = f"{args.kind}-{args.contract}-{args.site}-{doc.at:%Y%m%dT%H%M}.pdf"
        out = Path(args.out) if args.out else state_dir / "protocols" / filename
        pending.write_private(out, pdf)  # the paper first: it is signed whatever happens next
        result: dict[str, Any] = {
            "ok": True,
            "kind": args.kind,
            "contract": args.contract,
            "site": args.site,
            "client_id": client_id,
            "pdf": str(out),
            "uploaded": False,
        }
        if client is not None:
            sent = _send(client, args, doc, pdf, out=out, filename=filename)
            if isinstance(sent, dict):
                result.update(sent)
                emit(result, as_json=args.json, text=lambda r: _text(r, args.lang))
                return EXIT_OK
            why = sent
        item = pending.keep(
            state_dir,
            contract_number=args.contract,
            outcome=_outcome(args, doc),
            pdf=pdf,
            filename=filename,
            portal=args.portal,
        )
        result.update(
            kept=str(item.json_path),
            why=why,
            warning="kept: will be sent by `myenergy-install sync`",
        )
        emit(result, as_json=args.json, text=lambda r: _text(r, args.lang))
        return EXIT_WARN
    finally:
        if client is not None:
            client.close()
