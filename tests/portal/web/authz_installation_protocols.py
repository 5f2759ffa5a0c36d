"""Authorisation entries of the installation documents (issue 7), merged by
test_authorisation.py.

Callers in order: anonymous, owner, other customer, operator, installer, admin.
Uploading records an installation outcome: INSTALLATION (operator, installer, admin;
a customer 403). The list and the PDF are the contract's customer's (another
customer 404, like an unknown contract) and staff's with CONTRACTS_READ. The walk's
upload carries no form, so once authorised it is refused as invalid input (422).
"""

from __future__ import annotations

import datetime as dt
import hashlib

from sqlalchemy import select

from tests.portal.web.authz_common import OK, ParamGetter
from tests.portal.web.conftest import NOW, Portal

OWNER_CONTRACT = "MYE-2025-0001"
_CLIENT_ID = "00000000-0000-4000-8000-000000000007"


def _owner_protocol(portal: Portal) -> str:
    """A stored document of the owner's contract (written straight into the table once)."""
    from portal_api.contracts.db.models import ContractRow
    from portal_api.installations.models import InstallationProtocolRow, ProtocolKind

    with portal.services.sessions.begin() as session:
        found = session.scalars(
            select(InstallationProtocolRow).where(InstallationProtocolRow.client_id == _CLIENT_ID)
        ).first()
        if found is not None:
            return str(found.id)
        contract = session.scalars(
            select(ContractRow).where(ContractRow.number == OWNER_CONTRACT)
        ).one()
        content = b"%PDF-1.4\n%authorisation walk\n"
        row = InstallationProtocolRow(
            contract_id=contract.id,
            kind=ProtocolKind.HANDOVER,
            client_id=_CLIENT_ID,
            filename="handover.pdf",
            sha256=hashlib.sha256(content).hexdigest(),
            content=content,
            outcome={"kind": "handover"},
            uploaded_by=None,
            uploaded_at=NOW - dt.timedelta(days=90),
        )
        session.add(row)
        session.flush()
        return str(row.id)


_READ = (401, OK, 404, OK, OK, OK)
MATRIX: dict[tuple[str, str], tuple[str | int, ...]] = {
    ("POST", "/api/v1/contracts/{contract_number}/installation-protocols"): (
        401,
        403,
        403,
        OK,
        OK,
        OK,
    ),
    ("GET", "/api/v1/contracts/{contract_number}/installation-protocols"): _READ,
    ("GET", "/api/v1/contracts/{contract_number}/installation-protocols/{protocol_id}.pdf"): _READ,
}
PARAMS: dict[str, ParamGetter] = {
    "contract_number": lambda portal: OWNER_CONTRACT,
    "protocol_id": _owner_protocol,
}
QUERIES: dict[str, str] = {}
BODIES: dict[tuple[str, str], dict[str, object]] = {}
