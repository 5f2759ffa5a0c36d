"""Staff pages of the Virtual CSC's request queue (issue 6): filter, assign, advance, reject."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
