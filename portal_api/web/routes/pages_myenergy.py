"""Ordering MyEnergy online (issue 6): the order form, its eligibility and price, the order."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
