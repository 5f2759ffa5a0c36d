"""docs/edge-agent.md: the configuration reference covers every key, correctly."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from pydantic import BaseModel

from edge_agent.config import AgentConfig, env_var, leaf_keys

DOC = Path(__file__).resolve().parents[2] / "docs" / "edge-agent.md"
ROW = re.compile(r"^\| `([a-z_.]+)` \| (.+?) \| `(MYENERGY_AGENT_[A-Z_]+)` \| .+\|$")


def reference() -> dict[str, tuple[str, str]]:
    rows = {}
    for line in DOC.read_text(encoding="utf-8").splitlines():
        match = ROW.match(line)
        if match:
            rows[match[1]] = (match[2], match[3])
    return rows


def schema_default(key: tuple[str, ...]) -> object:
    model: type[BaseModel] = AgentConfig
    for part in key[:-1]:
        annotation = model.model_fields[part].annotation
        assert isinstance(annotation, type) and issubclass(annotation, BaseModel)
        model = annotation
    return model.model_fields[key[-1]].get_default(call_default_factory=True)


def test_every_key_is_documented_with_its_variable() -> None:
    rows = reference()
    keys = {".".join(k): k for k in leaf_keys()}
    assert set(rows) == set(keys)
    for dotted, (_, variable) in rows.items():
        assert variable == env_var(keys[dotted])


def test_documented_defaults_are_the_schema_defaults() -> None:
    for dotted, (default, _) in reference().items():
        key = tuple(dotted.split("."))
        if default == "none":
            assert schema_default(key) is None, dotted
        if not default.startswith("`"):
            continue  # "required", "the map's": words, not values
        literal = tomllib.loads(f"v = {default.strip('`')}")["v"]
        expected = schema_default(key)
        if isinstance(expected, Path):
            expected = str(expected)
        if dotted == "store.max_bytes":
            assert (literal, expected) == ("64MiB", 64 * 1024 * 1024)
        else:
            assert literal == expected, dotted
