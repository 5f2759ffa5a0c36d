"""Customer API of the service requests (issue 6): catalogue, submit, list, read, files."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
