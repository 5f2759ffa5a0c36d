"""Portal database: migrations create what the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

from portal_api.db import make_engine, migrate
from portal_api.db.migrate import (
    MIGRATIONS_DIR,
    VERSION_TABLE,
    alembic_config,
    current_revision,
    head_revision,
    upgrade,
)
from portal_api.db.models import Base
from tests.portal.contracts_db.test_contract_migrations import CONTRACT_TABLES

TABLES = {
    "customers",
    "sites",
    "devices",
    "users",
    "auth_sessions",
    "login_attempts",
    "password_resets",
    "credential_requests",
    "audit_log",
    "outbox",
    "piks",  # issue 6, revision 0004_pik
    "service_requests",  # issue 6, revision 0005_requests
    "service_request_steps",
    "service_request_attachments",
    "provisioning_codes",  # issue 7, revision 0006_install
    "installation_protocols",
} | CONTRACT_TABLES  # issue 5, revisions 0002_contracts and 0003_billing


def test_migrate_creates_every_table_of_0004(portal_db_url: str) -> None:
    migrate(portal_db_url)
    engine = make_engine(portal_db_url)
    try:
        assert set(inspect(engine).get_table_names()) == TABLES | {VERSION_TABLE}
        assert current_revision(engine) == head_revision() == "0006_install"
    finally:
        engine.dispose()


def test_migrate_is_idempotent(portal_db_url: str) -> None:
    migrate(portal_db_url)
    migrate(portal_db_url)
    engine = make_engine(portal_db_url)
    try:
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()


def test_models_match_the_migrated_schema(portal_db_url: str) -> None:
    """What `alembic check` verifies: autogenerate would find nothing to add."""
    engine = make_engine(portal_db_url)
    try:
        upgrade(engine)
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"compare_type": True, "version_table": VERSION_TABLE}
            )
            assert compare_metadata(context, Base.metadata) == []
    finally:
        engine.dispose()


def test_models_cover_exactly_the_tables_of_0004() -> None:
    assert set(Base.metadata.tables) == TABLES


def test_downgrade_to_base_and_back(portal_db_url: str) -> None:
    engine = make_engine(portal_db_url)
    try:
        upgrade(engine)
        with engine.begin() as connection:
            command.downgrade(alembic_config(connection), "base")
        assert set(inspect(engine).get_table_names()) == {VERSION_TABLE}
        upgrade(engine)
        assert set(inspect(engine).get_table_names()) == TABLES | {VERSION_TABLE}
    finally:
        engine.dispose()


def test_sqlite_engine_has_wal_and_foreign_keys(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'sub' / 'portal.sqlite3'}")
    try:
        with engine.connect() as connection:
            assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert (tmp_path / "sub" / "portal.sqlite3").exists()
    finally:
        engine.dispose()


def test_plain_postgresql_urls_use_psycopg3() -> None:
    engine = make_engine("postgresql://u@127.0.0.1:1/db")
    assert engine.dialect.driver == "psycopg"
    engine.dispose()


def test_alembic_ini_points_at_these_migrations() -> None:
    ini = Path(MIGRATIONS_DIR.parent, "alembic.ini").read_text()
    assert "script_location = %(here)s/migrations" in ini
    assert MIGRATIONS_DIR.joinpath("env.py").is_file()


def test_offline_sql_for_a_dba(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    config = alembic_config(url=f"sqlite:///{tmp_path / 'never-created.sqlite3'}")
    command.upgrade(config, "head", sql=True)
    sql = capsys.readouterr().out
    assert "CREATE TABLE users" in sql
    assert f"INSERT INTO {VERSION_TABLE}" in sql
    assert not (tmp_path / "never-created.sqlite3").exists()
