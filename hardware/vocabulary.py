"""A read-only view of the shared channel vocabulary (``protocol/channels.py``).

``protocol/`` must run on MicroPython, so its ``Channel`` is a plain mutable class; this
module copies the table once into frozen records, so nothing in ``hardware/`` can alter
the vocabulary by accident and every check reads the same immutable data.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from protocol import channels as _channels

__all__ = ["CHANNELS", "COUNTER", "INSTANT", "ChannelSpec"]

INSTANT: str = str(_channels.INSTANT)
COUNTER: str = str(_channels.COUNTER)


@dataclass(frozen=True, slots=True)
class ChannelSpec:
    """What a register map must agree with: the channel's unit, kind and physical bounds."""

    name: str
    unit: str
    kind: str
    minimum: float
    maximum: float


def _build() -> Mapping[str, ChannelSpec]:
    specs = {
        name: ChannelSpec(
            name=str(ch.name),
            unit=str(ch.unit),
            kind=str(ch.kind),
            minimum=float(ch.minimum),
            maximum=float(ch.maximum),
        )
        for name, ch in _channels.BY_NAME.items()
    }
    return MappingProxyType(specs)


CHANNELS: Mapping[str, ChannelSpec] = _build()
