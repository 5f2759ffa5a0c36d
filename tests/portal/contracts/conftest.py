"""Fixtures of the contract tests."""

from __future__ import annotations

import pytest

from portal_api.domain.workdays import WorkingDays


@pytest.fixture(scope="module")
def cal() -> WorkingDays:
    """The Bulgarian working-day calendar (holidays of the installed release)."""
    return WorkingDays()
