"""Revisions 0002_contracts and 0003_billing: what the contract models describe, on SQLite
and PostgreSQL."""

from __future__ import annotations

import re

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Enum, Numeric, inspect

from portal_api.contracts.db import models as contract_models
from portal_api.contracts.db.models import Money
from portal_api.db import make_engine
from portal_api.db.migrate import VERSION_TABLE, alembic_config, current_revision, upgrade
from portal_api.db.models import Base

CONTRACT_TABLES = {
    "price_lists",
    "price_list_items",
    "contracts",
    "contract_sites",
    "invoices",
    "payments",
    "payment_allocations",
    "interest_accruals",
    "interruptions",
    "interruption_sites",
    "decisions",
    "notices",
    "invoice_number_series",  # revision 0003_billing
}


def test_contract_tables_share_the_portal_metadata() -> None:
    assert contract_models.ContractRow.metadata is Base.metadata
    assert set(Base.metadata.tables) >= CONTRACT_TABLES


def test_alembic_check_has_nothing_to_generate(portal_db_url: str) -> None:
    """`alembic check` over the portal's whole metadata, contract tables included."""
    engine = make_engine(portal_db_url)
    try:
        upgrade(engine)
        assert current_revision(engine) == "0006_install"  # the head: issue 7
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"compare_type": True, "version_table": VERSION_TABLE}
            )
            assert compare_metadata(context, Base.metadata) == []
            command.check(alembic_config(connection))  # raises when it would generate
    finally:
        engine.dispose()


def test_money_columns_are_numeric_12_2(portal_db_url: str) -> None:
    engine = make_engine(portal_db_url)
    try:
        upgrade(engine)
        inspector = inspect(engine)
        money = [
            (table.name, column.name)
            for table in Base.metadata.sorted_tables
            for column in table.columns
            if isinstance(column.type, Money)
        ]
        assert len(money) == 7  # + invoices.vat (0003_billing)
        for table, name in money:
            (column,) = (c for c in inspector.get_columns(table) if c["name"] == name)
            numeric = column["type"]
            assert isinstance(numeric, Numeric), (table, name)
            assert (numeric.precision, numeric.scale) == (12, 2), (table, name)
    finally:
        engine.dispose()


def test_enum_checks_of_the_database_match_the_vocabularies(portal_db_url: str) -> None:
    """A value added to a domain enum (ContractState, TerminationGround ...) needs a
    migration: autogenerate does not compare CHECK constraints, this test does."""
    engine = make_engine(portal_db_url)
    try:
        upgrade(engine)
        inspector = inspect(engine)
        checked = 0
        for name in sorted(CONTRACT_TABLES):
            table = Base.metadata.tables[name]
            checks = {c["name"]: c["sqltext"] for c in inspector.get_check_constraints(name)}
            for column in table.columns:
                if not isinstance(column.type, Enum):
                    continue
                sqltext = checks[f"ck_{name}_{column.type.name}"]
                assert set(re.findall(r"'([^']*)'", sqltext)) == set(column.type.enums), (
                    name,
                    column.name,
                )
                checked += 1
        assert checked == 11
    finally:
        engine.dispose()


def test_downgrade_to_0001_removes_only_the_contract_tables(portal_db_url: str) -> None:
    engine = make_engine(portal_db_url)
    try:
        upgrade(engine)
        every = set(inspect(engine).get_table_names())
        assert every >= CONTRACT_TABLES
        with engine.begin() as connection:
            command.downgrade(alembic_config(connection), "0001_portal")
        # 0004_pik and 0005_requests (issue 6) and 0006_install (issue 7) come after the
        # contract revisions: their tables go too.
        issue_6 = {"piks", "service_requests", "service_request_steps"}
        issue_6 |= {"service_request_attachments"}
        issue_7 = {"provisioning_codes", "installation_protocols"}
        later = issue_6 | issue_7
        assert set(inspect(engine).get_table_names()) == every - CONTRACT_TABLES - later
        upgrade(engine)
        assert set(inspect(engine).get_table_names()) == every
    finally:
        engine.dispose()
