"""Alembic revisions of ingest's tables, oldest first (see ../env.py)."""
