"""API for ordering MyEnergy online (issue 6): quote (eligibility and price) and order."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
