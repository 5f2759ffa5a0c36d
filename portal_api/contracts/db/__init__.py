"""Persistence of the contract engine: tables (models.py) and the repository (repository.py).

The tables live in the portal's ``Base`` metadata and its one Alembic history
(portal_api/migrations/). Nothing is imported here, so that
portal_api/db/models.py can import the tables without an import cycle.
"""
