"""Alembic revisions of the portal's tables, oldest first (see ../env.py)."""
