"""What the authorisation walk and its per-area entry files share."""

from __future__ import annotations

from collections.abc import Callable

from tests.portal.web.conftest import Portal

__all__ = ["OK", "PUBLIC", "ParamGetter"]

OK = "ok"
PUBLIC = (OK,) * 6
# A path parameter's value for the walk: the owner's object, looked up in the portal.
ParamGetter = Callable[[Portal], str]
