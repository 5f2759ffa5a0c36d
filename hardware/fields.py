"""Field checks for TOML tables, with errors that name the file and the place.

The loader builds every complaint about a map through ``MapContext.fail`` so that each
message starts with the file, then the place ("[meter]", "point 3 (channel u_l1_v,
address 0)", ...), then the problem.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

__all__ = ["MapContext", "MapError", "get_int", "get_str", "is_int", "is_number", "require_fields"]


class MapError(ValueError):
    """A register map that must not be used; the message names the file and the point."""

    def __init__(self, path: str, where: str, problem: str) -> None:
        super().__init__(f"{path}: {where}: {problem}")
        self.path = path
        self.where = where
        self.problem = problem


class MapContext:
    """Error factory bound to one file, so every message carries the same prefix."""

    def __init__(self, path: str) -> None:
        self.path = path

    def fail(self, where: str, problem: str) -> MapError:
        """The error to raise for ``problem`` at ``where`` in this file."""
        return MapError(self.path, where, problem)


def is_int(v: object) -> bool:
    """True for a TOML integer (bool is an int subclass in Python, but not a number here)."""
    return isinstance(v, int) and not isinstance(v, bool)


def is_number(v: object) -> bool:
    """True for a finite integer or float."""
    if isinstance(v, bool) or not isinstance(v, int | float):
        return False
    return math.isfinite(v)


def require_fields(
    ctx: MapContext, where: str, table: Any, required: set[str], optional: set[str]
) -> None:
    """``table`` is a table holding every required field and nothing unknown."""
    if not isinstance(table, Mapping):
        raise ctx.fail(where, f"must be a table, got {type(table).__name__}")
    missing = sorted(required - table.keys())
    if missing:
        raise ctx.fail(where, f"missing field(s) {', '.join(missing)}")
    unknown = sorted(table.keys() - required - optional)
    if unknown:
        raise ctx.fail(where, f"unknown field(s) {', '.join(unknown)}")


def get_int(
    ctx: MapContext, where: str, table: Mapping[str, Any], key: str, *, lo: int, hi: int
) -> int:
    """``table[key]``, an integer within [lo, hi]."""
    v = table[key]
    if not is_int(v) or not lo <= v <= hi:
        raise ctx.fail(where, f"{key} must be an integer in [{lo}, {hi}], got {v!r}")
    return int(v)


def get_str(ctx: MapContext, where: str, table: Mapping[str, Any], key: str) -> str:
    """``table[key]``, a string."""
    v = table[key]
    if not isinstance(v, str):
        raise ctx.fail(where, f"{key} must be a string, got {v!r}")
    return v
