"""Price lists and contracts survive a round trip on SQLite and PostgreSQL (4.1, 4.2, 1.1, 7.1з)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from portal_api.contracts.db.models import ContractRow
from portal_api.contracts.db.records import ContractRecord
from portal_api.contracts.db.repository import ContractRepository, NotFoundError
from portal_api.contracts.domain.contract import (
    ContractState,
    CustomerKind,
    Site,
    TerminationGround,
    VoltageLevel,
)
from portal_api.contracts.domain.prices import PriceList, contract_prices
from tests.portal.contracts.samples import PRICES
from tests.portal.contracts_db.samples import signed_contract

D = dt.date
LV, MV = VoltageLevel.LV, VoltageLevel.MV
PRICES_2027 = PriceList(
    effective_from=D(2027, 1, 1),
    items={key: price + Decimal("1.05") for key, price in PRICES.items.items()},
    additional_device=Decimal("10.45"),
    name="ЦР-2027",
)


def test_clause_4_2_price_lists_round_trip_and_the_contract_keeps_its_version(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as session:
        repo = ContractRepository(session)
        first = repo.add_price_list(PRICES)
        second = repo.add_price_list(PRICES_2027)
    with sessions() as session:
        repo = ContractRepository(session)
        assert repo.price_list(first) == PriceList(
            PRICES.effective_from, PRICES.items, PRICES.additional_device, name="2026-01-01"
        )
        assert repo.price_list(second) == PRICES_2027
        book = repo.price_book()
        # signed on 2026-12-31 keeps the 2026 prices for its whole term (4.2)
        kept = contract_prices(book, D(2026, 12, 31)).value
        assert kept.unit_price(LV, 24) == Decimal("17.90")
        assert repo.price_list_id(kept) == first
        assert repo.price_list_id(contract_prices(book, D(2027, 1, 1)).value) == second
        assert contract_prices(book, D(2027, 1, 1)).value.unit_price(LV, 24) == Decimal("18.95")


def test_clause_1_1_contract_round_trip_with_its_sites(
    sessions: sessionmaker[Session], seeded: dict[str, int]
) -> None:
    with sessions.begin() as session:
        repo = ContractRepository(session)
        price_list_id = repo.add_price_list(PRICES)
        saved = repo.save_contract(
            ContractRecord(signed_contract(), seeded["customer"], price_list_id, free_months=1)
        )
    assert saved.id is not None
    with sessions() as session:
        loaded = ContractRepository(session).contract("MYE-2026-0001")
        row = session.scalars(select(ContractRow)).one()
    assert loaded == saved
    assert loaded.contract == signed_contract()
    assert (loaded.customer_id, loaded.price_list_id, loaded.free_months) == (
        seeded["customer"],
        price_list_id,
        1,
    )
    assert row.in_force_on == D(2026, 4, 10)  # 2.1: in force from signing


def test_clause_7_1h_a_site_leaves_and_the_contract_goes_on(
    sessions: sessionmaker[Session], seeded: dict[str, int]
) -> None:
    with sessions.begin() as session:
        ContractRepository(session).save_contract(
            ContractRecord(signed_contract(), seeded["customer"])
        )
    with sessions.begin() as session:
        repo = ContractRepository(session)
        record = repo.contract("MYE-2026-0001")
        assert record is not None
        grown = record.contract.with_(sites=(*record.contract.sites, Site("dobrich-0001", LV)))
        repo.save_contract(
            ContractRecord(grown, record.customer_id, left_on={"varna-0002": D(2028, 2, 29)})
        )
    with sessions() as session:
        record = ContractRepository(session).contract("MYE-2026-0001")
    assert record is not None
    assert [s.site_id for s in record.contract.sites] == [
        "varna-0001",
        "varna-0002",
        "dobrich-0001",
    ]
    assert record.left_on == {"varna-0002": D(2028, 2, 29)}
    assert [s.site_id for s in record.sites_on(D(2028, 2, 28))] == [
        "varna-0001",
        "varna-0002",
        "dobrich-0001",
    ]
    assert [s.site_id for s in record.sites_on(D(2028, 2, 29))] == ["varna-0001", "dobrich-0001"]


def test_a_signed_contract_loses_no_site_by_removal(
    sessions: sessionmaker[Session], seeded: dict[str, int]
) -> None:
    contract = signed_contract()
    with sessions.begin() as session:
        ContractRepository(session).save_contract(ContractRecord(contract, seeded["customer"]))
    with sessions() as session, pytest.raises(ValueError, match="left_on"):
        ContractRepository(session).save_contract(
            ContractRecord(contract.with_(sites=contract.sites[:1]), seeded["customer"])
        )
    draft = signed_contract("MYE-2026-0002").with_(state=ContractState.DRAFT, signed_on=None)
    with sessions.begin() as session:
        repo = ContractRepository(session)
        repo.save_contract(ContractRecord(draft, seeded["customer"]))
        repo.save_contract(ContractRecord(draft.with_(sites=draft.sites[1:]), seeded["customer"]))
        record = repo.contract("MYE-2026-0002")
    assert record is not None
    assert [s.site_id for s in record.contract.sites] == ["varna-0002"]


def test_the_customer_kind_is_the_customers(
    sessions: sessionmaker[Session], seeded: dict[str, int]
) -> None:
    person = signed_contract().with_(customer_kind=CustomerKind.NATURAL_PERSON)
    with sessions() as session, pytest.raises(ValueError, match="company"):
        ContractRepository(session).save_contract(ContractRecord(person, seeded["customer"]))
    with sessions() as session, pytest.raises(NotFoundError):
        ContractRepository(session).save_contract(ContractRecord(signed_contract(), 999))


def test_clause_7_1c_termination_states_round_trip(
    sessions: sessionmaker[Session], seeded: dict[str, int]
) -> None:
    ended = signed_contract().with_(
        state=ContractState.TERMINATED,
        terminated_on=D(2027, 12, 24),
        termination_ground=TerminationGround.CUSTOMER_EARLY,
    )
    impossible = signed_contract("MYE-2026-0003").with_(
        state=ContractState.ENDED_INSTALLATION_IMPOSSIBLE,
        installed_on=None,
        terminated_on=D(2026, 4, 13),  # 1.5: ended by the statement of findings, no ground
    )
    with sessions.begin() as session:
        repo = ContractRepository(session)
        repo.save_contract(ContractRecord(ended, seeded["customer"]))
        repo.save_contract(ContractRecord(impossible, seeded["customer"]))
    with sessions() as session:
        repo = ContractRepository(session)
        assert [r.contract for r in repo.contracts()] == [ended, impossible]
        assert [r.contract for r in repo.contracts([ContractState.TERMINATED])] == [ended]


def test_the_repository_never_commits(
    sessions: sessionmaker[Session], seeded: dict[str, int]
) -> None:
    with sessions() as session:
        repo = ContractRepository(session)
        repo.add_price_list(PRICES)
        repo.save_contract(ContractRecord(signed_contract(), seeded["customer"]))
        session.rollback()
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(ContractRow)) == 0
        assert ContractRepository(session).contract("MYE-2026-0001") is None


def test_clause_2_4_a_renewal_names_the_contract_it_renews(
    sessions: sessionmaker[Session], seeded: dict[str, int]
) -> None:
    renewal = signed_contract("MYE-2028-0001").with_(
        renewal_of="MYE-2026-0001", signed_on=D(2028, 2, 29), subscription_start=D(2028, 5, 1)
    )
    with sessions() as session, pytest.raises(IntegrityError):
        ContractRepository(session).save_contract(ContractRecord(renewal, seeded["customer"]))
    with sessions.begin() as session:
        repo = ContractRepository(session)
        repo.save_contract(ContractRecord(signed_contract(), seeded["customer"]))
        repo.save_contract(ContractRecord(renewal, seeded["customer"]))
    with sessions() as session:
        record = ContractRepository(session).contract("MYE-2028-0001")
    assert record is not None
    assert record.contract == renewal
