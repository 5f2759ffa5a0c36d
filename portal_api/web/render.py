"""Rendering of the portal's HTML pages with the request's language.

One Jinja2 environment per language (``i18n.make_environments``); every page
gets the same base context: the language, the CSRF token its forms echo, the
logged-in user (or None) and the current path (where the language switch
returns to).
"""

from __future__ import annotations

import gettext
from collections.abc import Mapping
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment

from portal_api.web.i18n import DEFAULT_LANGUAGE, Formatter
from portal_api.web.security import CSRF_COOKIE

__all__ = ["Renderer", "page_context"]


class Renderer:
    """Templates and catalogs of every language; kept on ``app.state.renderer``."""

    def __init__(
        self,
        environments: Mapping[str, Environment],
        catalogs: Mapping[str, gettext.GNUTranslations],
        *,
        cookie_secure: bool = True,
    ) -> None:
        self.environments = dict(environments)
        self.catalogs = dict(catalogs)
        self.cookie_secure = cookie_secure

    def gettext(self, lang: str, message: str) -> str:
        """``message`` translated into ``lang`` (route code's strings: flashes, errors)."""
        catalog = self.catalogs.get(lang) or self.catalogs[DEFAULT_LANGUAGE]
        return catalog.gettext(message)

    def render(
        self,
        request: Request,
        template: str,
        context: Mapping[str, Any],
        *,
        status_code: int = 200,
    ) -> HTMLResponse:
        lang = page_context(request)["lang"]
        env = self.environments.get(lang) or self.environments[DEFAULT_LANGUAGE]
        html = env.get_template(template).render({**page_context(request), **context})
        response = HTMLResponse(html, status_code=status_code)
        # Pages are per user and per language: never cached by a shared proxy.
        response.headers["Cache-Control"] = "no-store"
        response.headers["Vary"] = "Cookie, Accept-Language"
        new_token = getattr(request.state, "new_csrf_cookie", None)
        if new_token:
            response.set_cookie(
                CSRF_COOKIE,
                new_token,
                httponly=True,
                secure=self.cookie_secure,
                samesite="strict",
                path="/",
            )
        return response


def page_context(request: Request) -> dict[str, Any]:
    """The base context of every page, from what the dependencies put on request.state."""
    lang = getattr(request.state, "lang", DEFAULT_LANGUAGE)
    principal = getattr(request.state, "principal", None)
    return {
        "lang": lang,
        "fmt": Formatter(lang),
        "user": principal.user if principal is not None else None,
        "csrf_token": getattr(request.state, "csrf_token", ""),
        "current_path": request.url.path,
        "nav": "",
        "title": "MyEnergy",
        # The forms' hint and minlength follow the configured password policy.
        "password_min_length": request.app.state.config.security.password_min_length,
    }
