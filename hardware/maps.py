"""The packaged meter models: an explicit registry of data files and their loader.

Adding a model means adding its file to ``hardware/maps/`` AND its name to ``MODELS``
below; a test checks that the two agree, so a stray or forgotten file cannot slip in.
Nothing is looked up by class name: a model name only ever selects a data file.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from pathlib import Path

from hardware.loader import MapError, read_map_file
from hardware.model import MeterMap, Point, Probe, SerialSettings

__all__ = [
    "MODELS",
    "MapError",
    "MeterMap",
    "Point",
    "Probe",
    "SerialSettings",
    "available_models",
    "load_map",
    "load_map_file",
    "map_path",
]

# The registry. Keep it sorted; one line per model.
MODELS: tuple[str, ...] = (
    "em340",  # Carlo Gavazzi EM340, INT32 word-swapped
    "pm5100",  # Schneider PowerLogic PM5100 series (PM5110/PM5111 have the RS-485 port)
    "sdm120",  # Eastron SDM120 Modbus, single phase, float32
    "sdm630",  # Eastron SDM630 Modbus V2, three phase, float32
)


def available_models() -> tuple[str, ...]:
    """Names accepted by ``load_map``, sorted."""
    return MODELS


def map_path(model: str) -> Path:
    """Where the packaged data file of ``model`` lives."""
    if model not in MODELS:
        known = ", ".join(MODELS)
        raise KeyError(f"unknown meter model {model!r} (known: {known})")
    return Path(str(resources.files("hardware") / "maps" / f"{model}.toml"))


def load_map_file(path: str | Path) -> MeterMap:
    """Load and validate any map file (a packaged one or a site's own); MapError if bad."""
    return read_map_file(path)


@cache
def load_map(model: str) -> MeterMap:
    """The packaged, validated map of ``model``; cached because maps are immutable."""
    return read_map_file(map_path(model))
