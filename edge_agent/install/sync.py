"""``myenergy-install sync``: send the documents kept while the panel had no coverage.

Every item of ``<state-dir>/pending/`` (see :mod:`edge_agent.install.pending`) is
uploaded, oldest first, to ``POST /api/v1/contracts/{n}/installation-protocols``;
an item is removed only after the portal confirmed it (201 stored now, 200 stored
before: the portal finds an item again by its client UUID, so a retry after a lost
answer records nothing twice). A portal still out of reach stops the run and keeps
the rest; a refusal (e.g. the contract was ended meanwhile) is reported and the item
stays for the service centre to settle -- it is never silently dropped.

The upload itself (:func:`upload`) is shared with ``protocol``; the login and the
errors are ``portal_client``'s (helper F), shared by every command that talks to the
portal.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edge_agent.install import pending
from edge_agent.install.output import EXIT_OK, EXIT_REFUSED, EXIT_WARN, emit
from edge_agent.install.portal_client import (
    PortalClient,
    PortalError,
    add_portal_options,
    open_portal,
)

__all__ = ["Uploaded", "add_parser", "is_transient", "run", "upload"]


def is_transient(error: PortalError) -> bool:
    """No coverage, or the portal down or failing (5xx): keep the item and try later.
    Any other answer (400/401/403/404/409) is the portal's word and needs a person."""
    return error.code == "portal_unreachable" or (
        error.code == "portal_error" and (error.status is None or error.status >= 500)
    )


@dataclass(frozen=True)
class Uploaded:
    created: bool  # False: the portal had it already (a retry)
    protocol_id: int
    download: str
    contract_state: str | None


def upload(
    client: PortalClient,
    contract_number: str,
    outcome: Mapping[str, Any],
    pdf: bytes,
    filename: str,
) -> Uploaded:
    """Send one document and its outcome; the portal stores it and moves the contract."""
    body = client.post_json(
        f"/contracts/{contract_number}/installation-protocols",
        None,
        files={"pdf": (filename, pdf, "application/pdf")},
        data={"outcome": json.dumps(dict(outcome), ensure_ascii=False)},
    )
    return Uploaded(
        created=bool(body["created"]),
        protocol_id=int(body["protocol"]["id"]),
        download=str(body["protocol"]["download"]),
        contract_state=body.get("contract_state"),
    )


def require_login(args: argparse.Namespace) -> None:
    """Uploads record an installation outcome: an installer's login, not a code."""
    if args.code and not args.user:
        raise PortalError(
            "login_required",
            "качването на протокол изисква вход на монтажник (--user): кодът за активиране "
            "служи само за `provision`",
            "uploading a document needs an installer's login (--user): a provisioning code "
            "only registers the module (`provision`)",
            exit_code=EXIT_REFUSED,
        )


# -- the command line -----------------------------------------------------------------


_DESCRIPTION = """\
Send the handover protocols and statements of findings that `protocol` kept while the
panel had no coverage (<state-dir>/pending/), oldest first. Each is removed only after
the portal confirmed it; sending one twice records it once (its client UUID).

Exit status: 0 all sent (or nothing to send), 3 some are left (no coverage yet, or the
portal refused one: read the message), 2 bad arguments.
"""


def add_parser(subparsers: argparse._SubParsersAction[Any]) -> None:
    parser = subparsers.add_parser(
        "sync",
        help="send the documents kept while there was no coverage",
        description=_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_portal_options(parser)
    parser.add_argument(
        "--lang", choices=("bg", "en"), default="bg", help="language of the text output"
    )
    parser.set_defaults(func=run)


def _text(result: Mapping[str, Any], lang: str) -> str:
    bg = lang == "bg"
    lines = []
    for item in result["sent"]:
        again = (" (вече беше качен)" if bg else " (it was there already)") if item["again"] else ""
        state = f" ({item['contract_state']})" if item.get("contract_state") else ""
        lines.append(f"✔ {item['contract']} {item['kind']} → {item['download']}{state}{again}")
    for item in result["left"]:
        lines.append(f"… {item['contract']} {item['kind']}: {item['why']}")
    if not result["sent"] and not result["left"]:
        lines.append("Няма нищо за изпращане." if bg else "Nothing to send.")
    elif result["left"]:
        lines.append(
            f"Остават {len(result['left'])}: пуснете `myenergy-install sync` отново."
            if bg
            else f"{len(result['left'])} left: run `myenergy-install sync` again."
        )
    return "\n".join(lines)


def _entry(item: pending.PendingItem, **more: Any) -> dict[str, Any]:
    return {
        "client_id": item.client_id,
        "contract": item.contract_number,
        "kind": item.outcome.get("kind"),
        **more,
    }


def _send_all(
    client: PortalClient, waiting: list[pending.PendingItem]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    sent: list[dict[str, Any]] = []
    left: list[dict[str, Any]] = []
    for index, item in enumerate(waiting):
        try:
            done = upload(client, item.contract_number, item.outcome, item.pdf(), item.filename)
        except PortalError as error:
            if is_transient(error):
                # Coverage lost again: keep this one and every later one, stop here.
                left += [_entry(rest, why=error.message) for rest in waiting[index:]]
                break
            left.append(_entry(item, why=error.message, status=error.status))
            continue
        pending.remove(item)  # only now: the portal has confirmed it
        sent.append(
            _entry(
                item,
                again=not done.created,
                protocol_id=done.protocol_id,
                download=done.download,
                contract_state=done.contract_state,
            )
        )
    return sent, left


def run(args: argparse.Namespace) -> int:
    state_dir: Path = args.state_dir
    waiting = pending.items(state_dir)
    sent: list[dict[str, Any]] = []
    left: list[dict[str, Any]] = []
    if waiting:
        require_login(args)
        if not args.portal:
            # The portal the documents were made for, when --portal is not given.
            args.portal = next((item.portal for item in waiting if item.portal), None)
        try:
            client = open_portal(args, need_login=True)
        except PortalError as error:
            if is_transient(error):
                error.exit_code = EXIT_WARN  # nothing lost: the documents stay
            raise
        with client:
            sent, left = _send_all(client, waiting)
    result = {"ok": not left, "sent": sent, "left": left, "pending": len(left)}
    emit(result, as_json=args.json, text=lambda r: _text(r, args.lang))
    return EXIT_OK if not left else EXIT_WARN
