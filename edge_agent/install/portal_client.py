"""The installers' CLI talking to the portal over HTTP (httpx; edge_agent never imports
portal_api): log in as an installer (bearer token) or carry a one-time provisioning
code, call the installations API, and turn every failure into an
:class:`~edge_agent.install.output.InstallError` the technician can act on.

Errors, Bulgarian first: portal unreachable (no coverage at the panel: results are
kept, try again where there is signal), login refused (401 at login), not allowed
(403: the account is not an installer's), not found (404), refused by the contract's
rules (400/409, with the portal's own reason in both languages), too many attempts
(429). A password never goes over plain http to anything but this machine.

``add_portal_options`` and ``open_portal`` are shared with ``protocol`` and ``sync``.
"""

from __future__ import annotations

import argparse
import contextlib
import getpass
import ipaddress
import os
import sys
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import httpx

from edge_agent.install.output import EXIT_FAILED, EXIT_REFUSED, InstallError

__all__ = [
    "DEFAULT_PASSWORD_ENV",
    "ENV_PORTAL",
    "PortalClient",
    "PortalError",
    "add_portal_options",
    "open_portal",
]

ENV_PORTAL = "MYENERGY_INSTALL_PORTAL"
DEFAULT_PASSWORD_ENV = "MYENERGY_INSTALL_PASSWORD"
API = "/api/v1"
_TIMEOUT = httpx.Timeout(20.0, connect=10.0)


class PortalError(InstallError):
    """A failure talking to the portal: the message in both languages, and the portal's
    HTTP status and refusal code when it answered."""

    def __init__(
        self,
        code: str,
        bg: str,
        en: str,
        *,
        status: int | None = None,
        exit_code: int = EXIT_FAILED,
    ) -> None:
        super().__init__(code, f"{bg} / {en}", exit_code=exit_code)
        self.message_bg = bg
        self.message_en = en
        self.status = status

    def as_json(self) -> dict[str, object]:
        error: dict[str, object] = {
            "code": self.code,
            "message": self.message,
            "message_bg": self.message_bg,
            "message_en": self.message_en,
        }
        if self.status is not None:
            error["status"] = self.status
        return {"ok": False, "error": error}


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_portal_url(url: str) -> str:
    """``https://...``, or ``http://`` to this machine only (a password must not travel
    in clear over a mobile network); the URL without a trailing slash."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise PortalError(
            "bad_arguments",
            f"--portal трябва да е https://... (дадено: {url!r})",
            f"--portal must be https://... (got {url!r})",
            exit_code=EXIT_REFUSED,
        )
    if parts.scheme == "http" and not _loopback(parts.hostname):
        raise PortalError(
            "bad_arguments",
            "паролата и ключовете не се изпращат по http: използвайте https://",
            "credentials are not sent over plain http: use https://",
            exit_code=EXIT_REFUSED,
        )
    return url.rstrip("/")


class PortalClient:
    """One portal, one login (a bearer token) or none (calls carry a code or a device login)."""

    def __init__(self, base_url: str, *, transport: httpx.BaseTransport | None = None) -> None:
        self.base_url = check_portal_url(base_url)
        self._http = httpx.Client(
            base_url=self.base_url,
            timeout=_TIMEOUT,
            transport=transport,
            headers={"Accept": "application/json", "Accept-Language": "bg, en"},
        )
        self._token: str | None = None

    def __enter__(self) -> PortalClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._token is not None:
            # Log out: the token would otherwise stay valid on a laptop for hours.
            with contextlib.suppress(httpx.HTTPError):
                self._http.delete(f"{API}/auth/token", headers=self._auth())
            self._token = None
        self._http.close()

    @property
    def logged_in(self) -> bool:
        return self._token is not None

    def _auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._token}"} if self._token else {}

    # -- calls ----------------------------------------------------------------------------

    def login(self, username: str, password: str) -> None:
        """Exchange an installer's name and password for a bearer token."""
        answer = self._send(
            "POST",
            f"{API}/auth/token",
            data={"username": username, "password": password},
            login=True,
        )
        token = answer.json().get("access_token")
        if not isinstance(token, str) or not token:
            raise PortalError(
                "portal_error", "порталът не върна ключ", "the portal returned no token"
            )
        self._token = token

    def get_json(self, path: str, *, auth: tuple[str, str] | None = None) -> dict[str, Any]:
        """GET ``/api/v1<path>``; ``auth``: HTTP Basic (a device's own login) instead of
        the bearer token."""
        answer = self._send("GET", API + path, basic=auth)
        return _json_object(answer)

    def post_json(
        self, path: str, body: Mapping[str, Any] | None = None, **kwargs: Any
    ) -> dict[str, Any]:
        answer = self._send("POST", API + path, json=body, **kwargs)
        return _json_object(answer)

    def _send(
        self,
        method: str,
        url: str,
        *,
        login: bool = False,
        basic: tuple[str, str] | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        headers = dict(kwargs.pop("headers", None) or {})
        if basic is None:
            headers.update(self._auth())
        try:
            answer = self._http.request(
                method,
                url,
                headers=headers,
                auth=httpx.BasicAuth(*basic) if basic is not None else None,
                **kwargs,
            )
        except httpx.TransportError as exc:
            raise unreachable(self.base_url, exc) from None
        if answer.is_success:
            return answer
        raise refused(answer, login=login)


def unreachable(url: str, exc: Exception) -> PortalError:
    kind = "изтече времето" if isinstance(exc, httpx.TimeoutException) else "няма връзка"
    kind_en = "timed out" if isinstance(exc, httpx.TimeoutException) else "cannot connect"
    return PortalError(
        "portal_unreachable",
        f"порталът {url} е недостъпен ({kind}): проверете мобилното покритие или мрежата "
        "на лаптопа; резултатите остават записани, опитайте отново, когато има връзка",
        f"portal {url} unreachable ({kind_en}: {exc}): check the mobile coverage or the "
        "laptop's network; results are kept, try again where there is a connection",
    )


def _reasons(answer: httpx.Response) -> tuple[str | None, str | None, str | None]:
    """The portal's refusal: (code, bg, en) when it sent them."""
    try:
        body = answer.json()
    except ValueError:
        return None, None, None
    if not isinstance(body, dict):
        return None, None, None
    reason = body.get("reason")
    detail = body.get("detail")
    en = detail if isinstance(detail, str) else None
    bg = None
    if isinstance(reason, dict):
        bg = reason.get("bg") if isinstance(reason.get("bg"), str) else None
        en = reason.get("en") if isinstance(reason.get("en"), str) else en
    code = body.get("code") if isinstance(body.get("code"), str) else None
    return code, bg, en


def refused(answer: httpx.Response, *, login: bool = False) -> PortalError:
    """The technician's message for a refused call."""
    status = answer.status_code
    code, bg, en = _reasons(answer)
    if login and status in (400, 401):
        return PortalError(
            "login_refused",
            "входът е отказан: грешно потребителско име или парола",
            "login refused: wrong username or password",
            status=status,
        )
    if status == 429:
        wait = answer.headers.get("retry-after", "?")
        return PortalError(
            code or "throttled",
            bg or f"твърде много опити; изчакайте {wait} s",
            en or f"too many attempts; wait {wait} s",
            status=status,
        )
    if status == 401:
        return PortalError(
            code or "not_authenticated",
            bg or "порталът изисква вход (--user) или код за активиране (--code)",
            en or "the portal needs a login (--user) or a provisioning code (--code)",
            status=status,
        )
    if status == 403:
        return PortalError(
            "not_allowed",
            "този потребител няма право на монтаж (нужен е профил на монтажник)",
            "this user may not do installations (an installer's account is needed)",
            status=status,
        )
    if status == 404:
        return PortalError(
            code or "not_found",
            bg or "не е намерено: проверете номера на договора",
            en or f"not found ({answer.url.path}): check the contract number",
            status=status,
        )
    if status in (400, 409, 422):
        return PortalError(
            code or ("conflict" if status == 409 else "rejected"),
            bg or "порталът отказа заявката",
            en or f"the portal refused the request: {answer.text[:300]}",
            status=status,
        )
    return PortalError(
        "portal_error",
        f"грешка в портала (HTTP {status}); опитайте отново след малко",
        f"portal error (HTTP {status}); try again shortly",
        status=status,
    )


def _json_object(answer: httpx.Response) -> dict[str, Any]:
    try:
        body = answer.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise PortalError(
            "portal_error",
            "порталът върна неочакван отговор",
            f"unexpected answer from the portal: {answer.text[:200]!r}",
            status=answer.status_code,
        )
    return body


# -- shared command-line options ---------------------------------------------------------


def add_portal_options(parser: argparse.ArgumentParser) -> None:
    """``--portal`` and the way in: ``--user`` (+ ``--password-env``) or ``--code``."""
    parser.add_argument(
        "--portal",
        default=os.environ.get(ENV_PORTAL),
        help=f"the portal's address, https://... (default ${ENV_PORTAL})",
    )
    who = parser.add_mutually_exclusive_group()
    who.add_argument("--user", help="installer's username on the portal")
    who.add_argument(
        "--code", help="one-time provisioning code from the contract (instead of --user)"
    )
    parser.add_argument(
        "--password-env",
        default=DEFAULT_PASSWORD_ENV,
        metavar="VAR",
        help=f"environment variable holding --user's password (default {DEFAULT_PASSWORD_ENV};"
        " unset: asked on the terminal)",
    )


def _password(args: argparse.Namespace) -> str:
    value = os.environ.get(args.password_env)
    if value:
        return value
    if sys.stdin.isatty():
        return getpass.getpass(f"парола / password for {args.user}: ")
    raise PortalError(
        "bad_arguments",
        f"няма парола: задайте ${args.password_env}",
        f"no password: set ${args.password_env}",
        exit_code=EXIT_REFUSED,
    )


def open_portal(args: argparse.Namespace, *, need_login: bool = False) -> PortalClient:
    """A client for ``--portal``, logged in when ``--user`` was given. Without ``--user``
    the caller sends ``args.code`` itself; ``need_login`` refuses that."""
    if not args.portal:
        raise PortalError(
            "bad_arguments",
            f"липсва --portal (или ${ENV_PORTAL})",
            f"--portal is missing (or ${ENV_PORTAL})",
            exit_code=EXIT_REFUSED,
        )
    if not args.user and (need_login or not args.code):
        raise PortalError(
            "bad_arguments",
            "дайте --user (монтажник) или --code (код за активиране)",
            "give --user (an installer) or --code (a provisioning code)",
            exit_code=EXIT_REFUSED,
        )
    password = _password(args) if args.user else None
    client = PortalClient(args.portal)
    if args.user and password is not None:
        try:
            client.login(args.user, password)
        except BaseException:
            client.close()
            raise
    return client
