"""Alembic: the first revision creates what the models describe; open() migrates."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from ingest.registry import Registry
from ingest.registry.migrate import (
    MIGRATIONS_DIR,
    VERSION_TABLE,
    alembic_config,
    current_revision,
    upgrade,
)
from ingest.registry.models import Base
from ingest.registry.service import create_registry_engine

TABLES = {"registry_device", "registry_service_account", VERSION_TABLE}


def head() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def test_open_migrates_a_new_database_to_head(db_url: str) -> None:
    with Registry.open(db_url) as registry:
        assert set(inspect(registry.engine).get_table_names()) == TABLES
        assert current_revision(registry.engine) == head() == "0001_registry"


def test_open_is_idempotent_and_keeps_data(db_url: str) -> None:
    with Registry.open(db_url) as registry:
        registry.add_device("dev-001", "site-1", "sdm630")
    with Registry.open(db_url) as registry:
        assert [d.id for d in registry.list()] == ["dev-001"]


def test_models_match_the_migrated_schema(db_url: str) -> None:
    """No difference autogenerate would turn into a new revision: the models and
    the migrations have not drifted apart."""
    engine = create_registry_engine(db_url)
    upgrade(engine)
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "version_table": VERSION_TABLE}
        )
        assert compare_metadata(context, Base.metadata) == []
    engine.dispose()


def test_downgrade_to_base_and_back(db_url: str) -> None:
    engine = create_registry_engine(db_url)
    upgrade(engine)
    with engine.begin() as connection:
        command.downgrade(alembic_config(connection), "base")
    assert set(inspect(engine).get_table_names()) == {VERSION_TABLE}
    upgrade(engine)
    assert set(inspect(engine).get_table_names()) == TABLES
    engine.dispose()


def test_alembic_command_line_config_points_at_these_migrations() -> None:
    ini = Path(MIGRATIONS_DIR.parent, "alembic.ini").read_text()
    assert "script_location = %(here)s/migrations" in ini
    assert MIGRATIONS_DIR.joinpath("env.py").is_file()


def test_offline_sql_for_a_dba(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    config = alembic_config(url=f"sqlite:///{tmp_path / 'never-created.sqlite3'}")
    command.upgrade(config, "head", sql=True)
    sql = capsys.readouterr().out
    assert "CREATE TABLE registry_device" in sql
    assert f"INSERT INTO {VERSION_TABLE}" in sql
    assert not (tmp_path / "never-created.sqlite3").exists()
