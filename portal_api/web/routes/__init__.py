"""The portal's routers: ``api_*`` under /api/v1 (JSON), ``pages_*`` (HTML)."""
