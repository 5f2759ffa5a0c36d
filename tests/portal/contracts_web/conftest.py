"""The web fixtures (real uvicorn portal, seeded, a day of data) for the contract pages' tests."""

from __future__ import annotations

from tests.portal.web.conftest import fresh_portal, portal

__all__ = ["fresh_portal", "portal"]
