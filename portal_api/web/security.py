"""HTTP hardening of the portal: security headers on every response, CSRF tokens.

The headers are added by a pure ASGI middleware (no ``BaseHTTPMiddleware``: it
would buffer the server-sent-event stream of the live view). The Content
Security Policy allows only the app's own scripts and styles: no inline script,
no CDN, so a stored XSS has nowhere to load code from. HSTS is sent only when the
request arrived over https (directly or as reported by the proxy to uvicorn).

CSRF: a form post or a cookie-authenticated unsafe API call must echo a token
that a cross-site page cannot read. A logged-in user's token is the one stored
with its session (``auth_sessions.csrf_token``); before login the forms use a
double-submit cookie (``myenergy_csrf``) with the same value in a hidden field.
"""

from __future__ import annotations

import hmac
import secrets

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = [
    "CONTENT_SECURITY_POLICY",
    "CSRF_COOKIE",
    "CSRF_FIELD",
    "CSRF_HEADER",
    "SAFE_METHODS",
    "SecurityHeadersMiddleware",
    "new_csrf_token",
    "tokens_match",
]

CSRF_COOKIE = "myenergy_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
HSTS = "max-age=31536000; includeSubDomains"

_FIXED_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}


class SecurityHeadersMiddleware:
    """Adds the security headers to every HTTP response (pages, API, static files)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        https = scope.get("scheme") == "https"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
                for name, value in _FIXED_HEADERS.items():
                    headers.setdefault(name, value)
                if https:
                    headers.setdefault("Strict-Transport-Security", HSTS)
            await send(message)

        await self.app(scope, receive, send_with_headers)


def new_csrf_token() -> str:
    """A fresh unguessable token (256 bits, URL-safe)."""
    return secrets.token_urlsafe(32)


def tokens_match(expected: str | None, supplied: str | None) -> bool:
    """Constant-time comparison; a missing or empty token never matches."""
    if not expected or not supplied:
        return False
    return hmac.compare_digest(expected.encode(), supplied.encode())
