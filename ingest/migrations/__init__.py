"""Alembic environment of ingest's relational tables (the device registry).

Applied at start by ingest.registry.migrate.upgrade(); new revisions are made with
``alembic -c ingest/alembic.ini revision --autogenerate -m "..."``, reviewed, committed.
"""
