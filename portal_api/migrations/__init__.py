"""Alembic environment and revisions of the portal's tables (docs/decisions/0004)."""
