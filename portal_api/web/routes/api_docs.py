"""GET /api/docs: the API reference as a plain page, built from the app's OpenAPI.

FastAPI's Swagger UI and ReDoc pages load their code from a CDN; the portal
serves everything itself (offline, strict Content-Security-Policy), so the
reference is rendered here: each operation with its method, path, summary,
parameters and answers, and a link to the machine-readable OpenAPI document.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from portal_api.web.deps import PagePrincipal
from portal_api.web.render import Renderer

router = APIRouter(include_in_schema=False)

_METHODS = ("get", "post", "put", "patch", "delete")


def operations(openapi: dict[str, Any]) -> list[dict[str, Any]]:
    """One entry per operation, grouped by tag order then path."""
    tags = [t["name"] for t in openapi.get("tags", [])]
    found: list[dict[str, Any]] = []
    for path, item in openapi.get("paths", {}).items():
        for method in _METHODS:
            op = item.get(method)
            if op is None:
                continue
            tag = (op.get("tags") or [""])[0]
            found.append(
                {
                    "tag": tag,
                    "method": method.upper(),
                    "path": path,
                    "summary": op.get("summary", ""),
                    "parameters": [
                        {
                            "name": p["name"],
                            "in": p["in"],
                            "required": p.get("required", False),
                            "description": p.get("description", ""),
                        }
                        for p in op.get("parameters", [])
                    ],
                    "body": "requestBody" in op,
                    "responses": sorted(op.get("responses", {})),
                }
            )
    order = {name: i for i, name in enumerate(tags)}
    found.sort(key=lambda o: (order.get(o["tag"], len(order)), o["path"], o["method"]))
    return found


@router.get("/api/docs", response_class=HTMLResponse)
def api_docs(request: Request, principal: PagePrincipal) -> HTMLResponse:
    del principal  # sets the language for the page
    renderer: Renderer = request.app.state.renderer
    return renderer.render(
        request,
        "api_docs.html",
        {
            "title": "API",
            "operations": operations(request.app.openapi()),
            "openapi_url": request.app.openapi_url,
        },
    )
