"""Contract engine pages: decisions (issue 5; being built)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
