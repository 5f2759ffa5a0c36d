"""The contract persistence fixtures (a migrated database with a customer), reused."""

from tests.portal.contracts_db.conftest import seeded, sessions

__all__ = ["seeded", "sessions"]
