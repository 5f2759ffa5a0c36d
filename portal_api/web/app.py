"""The portal's FastAPI application: ``create_app(config, *, services=None)``.

Nothing is built at import. The factory wires the security headers, the
templates and catalogs of both languages, the static files (uPlot included:
no CDN, the portal works offline), the API routers under ``/api/v1`` and the
pages. Without ``services`` the lifespan builds them from ``config`` (and
closes them at shutdown); tests pass their own.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exception_handlers import (
    http_exception_handler,
    request_validation_exception_handler,
)
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from portal_api.accounts.acting import ActingMiddleware
from portal_api.config import PortalConfig
from portal_api.consumption.errors import QueryError
from portal_api.web import deps
from portal_api.web.i18n import N_, load_catalogs, make_environments
from portal_api.web.render import Renderer
from portal_api.web.routes import (
    api_auth,
    api_billing,
    api_consumption,
    api_contracts,
    api_decisions,
    api_devices,
    api_docs,
    api_installation_protocols,
    api_installations,
    api_interruptions,
    api_live,
    api_me,
    api_myenergy,
    api_pik,
    api_quality,
    api_requests,
    api_requests_staff,
    api_sites,
    api_staff,
    pages_account,
    pages_auth,
    pages_billing,
    pages_contracts,
    pages_contracts_draft,
    pages_decisions,
    pages_interruptions,
    pages_myenergy,
    pages_pik,
    pages_price_lists,
    pages_quality,
    pages_requests,
    pages_requests_staff,
    pages_sites,
)
from portal_api.web.security import SecurityHeadersMiddleware
from portal_api.web.services import Services, build_services

__all__ = ["API_PREFIX", "create_app"]

API_PREFIX = "/api/v1"
HERE = Path(__file__).parent
_DEFAULT_TITLE = N_("Something went wrong")
_DEFAULT_MESSAGE = N_("Please try again in a few minutes.")
_ERROR_TITLES = {
    400: N_("The request is not valid"),
    403: N_("Access denied"),
    404: N_("Page not found"),
    405: N_("The request is not valid"),
    429: N_("Too many attempts"),
}
_ERROR_MESSAGES = {
    400: N_("Please check what you entered and try again."),
    403: N_("You may not open this page. Reload the page you came from and try again."),
    404: N_("There is no such page, or it is not available to your account."),
    405: N_("Please check what you entered and try again."),
    429: N_("Please wait a few minutes before you try again."),
}


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def _error_page(request: Request, status_code: int) -> Response:
    renderer: Renderer = request.app.state.renderer
    if not hasattr(request.state, "lang"):
        # The error happened before the page dependencies ran (e.g. an unknown URL).
        try:
            deps.page_setup(request, deps.optional_principal(request, request.app.state.services))
        except Exception:
            request.state.principal = None
    lang = request.state.lang
    title = renderer.gettext(lang, _ERROR_TITLES.get(status_code, _DEFAULT_TITLE))
    message = renderer.gettext(lang, _ERROR_MESSAGES.get(status_code, _DEFAULT_MESSAGE))
    return renderer.render(
        request, "error.html", {"title": title, "message": message}, status_code=status_code
    )


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if _is_api(request) or request.method not in ("GET", "HEAD", "POST"):
        return await http_exception_handler(request, exc)
    return _error_page(request, exc.status_code)


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    if _is_api(request):
        return await request_validation_exception_handler(request, exc)
    return _error_page(request, 400)


async def _query_error(request: Request, exc: Exception) -> Response:
    # A refused consumption query (naive time, span too long, unknown zone): 400.
    if _is_api(request):
        return JSONResponse({"detail": str(exc)}, status_code=400)
    return _error_page(request, 400)


async def _login_required(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, deps.LoginRequiredError)
    return RedirectResponse("/login?next=" + quote(exc.next_path, safe="/"), status_code=303)


def create_app(config: PortalConfig, *, services: Services | None = None) -> FastAPI:
    """The portal app; ``services`` given: used as is and left open at shutdown."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if services is not None:
            yield
            return
        built = build_services(config)
        app.state.services = built
        built.start()
        try:
            yield
        finally:
            built.close()

    app = FastAPI(
        title="MyEnergy portal API",
        version="1",
        openapi_url=f"{API_PREFIX}/openapi.json",
        # The API reference is our own page (routes/api_docs.py): Swagger UI and ReDoc
        # load their code from a CDN, and the portal serves everything itself.
        docs_url=None,
        redoc_url=None,
        swagger_ui_oauth2_redirect_url=None,
        lifespan=lifespan,
        openapi_tags=[
            {"name": "auth", "description": "Tokens, password reset, lost credentials (5.4)"},
            {"name": "me", "description": "The caller's own account"},
            {"name": "sites", "description": "Sites the caller may see"},
            {"name": "consumption", "description": "Energy per interval, CSV, Green Button"},
            {"name": "devices", "description": "Per-phase series, latest values, status"},
            {"name": "live", "description": "Server-sent events of live power"},
            {"name": "staff", "description": "Service centre work queues"},
            {
                "name": "contracts",
                "description": "Price lists, contracts, installation (1.x-2.x, 4.1)",
            },
            {"name": "billing", "description": "Invoices, payments, interest, notices (4.3, 4.4)"},
            {"name": "interruptions", "description": "Interruptions and compensation (5.1, 5.2)"},
            {
                "name": "decisions",
                "description": "Proposals staff confirm; terminations (7.x, 8.x)",
            },
            {"name": "quality", "description": "The network operator's measurements (6.5)"},
            {
                "name": "service requests",
                "description": "Virtual CSC: the catalogue, a customer's requests and steps",
            },
            {
                "name": "service requests (staff)",
                "description": "Virtual CSC: the queue; assign, advance, reject",
            },
            {"name": "MyEnergy", "description": "Ordering MyEnergy online: quote and order"},
            {"name": "installations", "description": "Installers' CLI: provisioning, protocols"},
        ],
    )
    app.state.config = config
    if services is not None:
        app.state.services = services
    catalogs = load_catalogs()
    app.state.renderer = Renderer(
        make_environments(HERE / "templates", catalogs),
        catalogs,
        cookie_secure=config.security.cookie_secure,
    )

    app.add_middleware(SecurityHeadersMiddleware)
    app.add_middleware(ActingMiddleware)  # the PIK holder's role on audit entries (issue 6)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(deps.LoginRequiredError, _login_required)
    app.add_exception_handler(QueryError, _query_error)

    api_modules = (
        api_auth,
        api_pik,
        api_me,
        api_sites,
        api_consumption,
        api_devices,
        api_live,
        api_staff,
        api_contracts,
        api_billing,
        api_interruptions,
        api_decisions,
        api_quality,
        api_myenergy,
        api_requests,
        api_requests_staff,
        api_installation_protocols,
        api_installations,
    )
    for module in api_modules:
        app.include_router(module.router, prefix=API_PREFIX)
    page_modules = (
        api_docs,
        pages_auth,
        pages_pik,
        pages_sites,
        pages_account,
        pages_contracts,
        pages_price_lists,
        pages_contracts_draft,
        pages_billing,
        pages_interruptions,
        pages_decisions,
        pages_quality,
        # MyEnergy first: its fixed /services/myenergy paths win over /services/{kind}.
        pages_myenergy,
        pages_requests,
        pages_requests_staff,
    )
    for module in page_modules:
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    return app
