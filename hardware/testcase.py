"""Each model's shipped test data: a register image and the readings it must decode to.

``hardware/testcases/<model>/registers.json`` is ``{fc: {address: value}}`` (JSON keys are
strings; values are 16-bit words) and ``expected.json`` is ``{"readings": {channel:
value}}``. A bug report about a meter becomes a new folder with the registers it answered.
The image doubles as a fixture: ``read_image`` serves a request from it the way a meter
would, which the simulator and the tests both use.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

__all__ = ["ModelCase", "RegisterImage", "case_dir", "load_case", "read_image"]

RegisterImage = dict[int, dict[int, int]]


@dataclass(frozen=True, slots=True)
class ModelCase:
    """A register image and the readings it must decode to."""

    model: str
    image: RegisterImage
    readings: dict[str, float]


def case_dir(model: str) -> Path:
    """The packaged folder of ``model``'s test case."""
    return Path(str(resources.files("hardware") / "testcases" / model))


def _image(raw: Any, path: Path) -> RegisterImage:
    if not isinstance(raw, dict):
        raise ValueError(f"{path}: expected an object {{fc: {{address: value}}}}")
    image: RegisterImage = {}
    for fc, regs in raw.items():
        table = image.setdefault(int(fc), {})
        for address, value in regs.items():
            if not isinstance(value, int) or not 0 <= value <= 0xFFFF:
                raise ValueError(f"{path}: FC{fc} address {address}: {value!r} is not a word")
            table[int(address)] = value
    return image


def load_case(model: str, folder: Path | None = None) -> ModelCase:
    """Read ``registers.json`` and ``expected.json`` of ``model`` (or of ``folder``)."""
    base = folder if folder is not None else case_dir(model)
    with (base / "registers.json").open(encoding="utf-8") as f:
        image = _image(json.load(f), base / "registers.json")
    with (base / "expected.json").open(encoding="utf-8") as f:
        expected = json.load(f)
    readings = {str(k): float(v) for k, v in expected["readings"].items()}
    return ModelCase(model=model, image=image, readings=readings)


def read_image(image: RegisterImage, fc: int, address: int, count: int) -> list[int]:
    """The ``count`` registers from ``address`` of ``fc``, as a meter would answer them.

    KeyError naming the first missing address, like a meter's "illegal data address".
    """
    table = image.get(fc, {})
    out: list[int] = []
    for a in range(address, address + count):
        if a not in table:
            raise KeyError(f"register image has no FC{fc} address {a}")
        out.append(table[a])
    return out
