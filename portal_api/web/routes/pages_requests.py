"""Customer pages of the service requests (issue 6): catalogue, forms, requests, timelines."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
