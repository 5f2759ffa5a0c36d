"""Generic settings loader: one pydantic schema, a TOML file, environment overrides.

Shared by the ingest worker (``ingest/config.py``) and the portal
(``portal_api/config.py``); the edge agent keeps its own copy because device and
cloud side never import each other (docs/decisions/0004).

``load_settings(model_cls, path, env, prefix=..., version=...)`` reads the TOML
file (if any), applies every ``<PREFIX><SECTION>_<KEY>`` variable on top of it (a
container sets a password without touching the file) and validates the result
before a socket or a database is opened. Every problem is reported at once in a
:class:`ConfigError`, each with its dotted key and where the value came from.
Unknown keys, sections and prefixed variables are errors: a typo must not
silently fall back to a default. Values of ``SecretStr`` settings are never
echoed back in a message.
"""

from __future__ import annotations

import tomllib
import types
import typing
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, SecretStr, ValidationError
from pydantic_core import PydanticCustomError

M = TypeVar("M", bound=BaseModel)


class Section(BaseModel):
    """Base of every settings section: unknown keys are errors, values frozen."""

    # Frozen: threads share the configuration and nobody patches it in place.
    model_config = ConfigDict(extra="forbid", frozen=True)


def cross_field_problem(field: str, message: str) -> PydanticCustomError:
    """A problem found by a model validator, reported under ``<section>.<field>``."""
    return PydanticCustomError("cross_field", "{message}", {"message": message, "field": field})


def check_file(path: Path | None, field: str) -> None:
    """Raise a cross-field problem for ``field`` when ``path`` is set but not a file."""
    if path is not None and not path.is_file():
        raise cross_field_problem(field, f"file not found: {path}")


def check_login(username: str | None, password: object, password_file: Path | None) -> None:
    """A section's login: a password or a password file (not both), only with a username."""
    if password is not None and password_file is not None:
        raise cross_field_problem("password_file", "set password or password_file, not both")
    if (password is not None or password_file is not None) and not username:
        raise cross_field_problem("username", "required when a password is set")
    check_file(password_file, "password_file")


def read_secret(value: SecretStr | None, path: Path | None) -> str | None:
    """The secret given inline or in a file (read at each call: rotation needs no restart);
    a file's final line break is not part of it."""
    if value is not None:
        return value.get_secret_value()
    if path is not None:
        return path.read_text(encoding="utf-8").rstrip("\r\n")
    return None


@dataclass(frozen=True)
class Problem:
    """One invalid setting: its dotted key, what is wrong, and where it came from."""

    key: str
    message: str
    source: str

    def __str__(self) -> str:
        return f"{self.key}: {self.message} ({self.source})"


class ConfigError(ValueError):
    """The configuration is invalid; ``problems`` lists every problem found."""

    def __init__(self, problems: list[Problem], what: str = "ingest") -> None:
        self.problems = problems
        n = len(problems)
        lines = "\n".join(f"  {p}" for p in problems)
        super().__init__(f"invalid {what} configuration ({n} problem{'s' * (n != 1)}):\n{lines}")


def _model_of(annotation: object) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return None


def _is_secret(annotation: object) -> bool:
    if annotation is SecretStr:
        return True
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        return any(_is_secret(arg) for arg in typing.get_args(annotation))
    return False


def leaf_keys(model: type[BaseModel]) -> Iterator[tuple[str, ...]]:
    """Every setting's key path, e.g. ``("mqtt", "tls", "ca_file")``."""
    for name, info in model.model_fields.items():
        sub = _model_of(info.annotation)
        if sub is not None:
            for key in leaf_keys(sub):
                yield (name, *key)
        else:
            yield (name,)


def secret_keys(model: type[BaseModel]) -> frozenset[tuple[str, ...]]:
    """The key paths of every ``SecretStr`` setting (never echoed in a problem)."""
    found: set[tuple[str, ...]] = set()
    for name, info in model.model_fields.items():
        sub = _model_of(info.annotation)
        if sub is not None:
            found.update((name, *key) for key in secret_keys(sub))
        elif _is_secret(info.annotation):
            found.add((name,))
    return frozenset(found)


def env_var(prefix: str, key: tuple[str, ...]) -> str:
    """The environment variable that overrides ``key``."""
    return prefix + "_".join(key).upper()


def _flatten(data: Mapping[str, Any], prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    for k, v in data.items():
        if isinstance(v, Mapping):
            yield from _flatten(v, (*prefix, k))
        else:
            yield (*prefix, k)


def _set(data: dict[str, Any], key: tuple[str, ...], value: object) -> None:
    node = data
    for part in key[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = node[part] = {}
        node = child
    node[key[-1]] = value


def _unset(data: dict[str, Any], key: tuple[str, ...]) -> None:
    node: Any = data
    for part in key[:-1]:
        node = node.get(part) if isinstance(node, dict) else None
    if isinstance(node, dict):
        node.pop(key[-1], None)


def _describe(key: tuple[str, ...], sources: Mapping[tuple[str, ...], str]) -> str:
    for n in range(len(key), 0, -1):
        if key[:n] in sources:
            return sources[key[:n]]
    return "default"


def _errors(
    exc: ValidationError,
    sources: Mapping[tuple[str, ...], str],
    secrets: Collection[tuple[str, ...]],
) -> list[Problem]:
    problems = []
    for err in exc.errors():
        loc = tuple(str(p) for p in err["loc"])
        ctx = err.get("ctx") or {}
        if err["type"] == "cross_field":
            loc = (*loc, str(ctx["field"]))
            message = str(ctx["message"])
        elif err["type"] == "missing":
            message = "required"
        elif err["type"] == "extra_forbidden":
            message = "unknown setting"
        else:
            message = err["msg"].removeprefix("Value error, ")
            plain = not isinstance(err.get("input"), dict)
            # Never echo a secret back into a log or a terminal.
            if err["type"] != "value_error" and loc not in secrets and plain:
                message += f", got {err.get('input')!r}"
        problems.append(Problem(".".join(loc), message, _describe(loc, sources)))
    return problems


def _read_toml(path: Path) -> dict[str, Any]:
    where = f"file {path}"
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except OSError as exc:
        raise ConfigError([Problem("(file)", f"cannot read: {exc.strerror}", where)]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([Problem("(file)", f"not valid TOML: {exc}", where)]) from None


def load_settings(
    model_cls: type[M],
    path: Path | None,
    env: Mapping[str, str],
    *,
    prefix: str,
    version: int,
    ignore_env: Collection[str] = (),
    what: str = "ingest",
) -> M:
    """Read ``path`` (TOML; None: no file), apply ``<prefix>*`` from ``env``, validate.

    An empty variable unsets the key. Variables in ``ignore_env`` (the path of
    the config file itself) are not settings. A file must state ``version``.
    Raises :class:`ConfigError` listing every problem; ``what`` names the
    service in its message.
    """
    data: dict[str, Any] = {}
    sources: dict[tuple[str, ...], str] = {}
    problems: list[Problem] = []
    if path is not None:
        where = f"file {path}"
        data = _read_toml(path)
        if "version" not in data:
            problems.append(Problem("version", f"required: add version = {version}", where))
        sources.update((k, where) for k in _flatten(data))

    env_keys = {env_var(prefix, k): k for k in leaf_keys(model_cls)}
    for name in sorted(env):
        if not name.startswith(prefix) or name in ignore_env:
            continue
        key = env_keys.get(name)
        if key is None:
            problems.append(Problem(name, "unknown setting", f"env {name}"))
        elif env[name] == "":
            _unset(data, key)
            sources.pop(key, None)
        else:
            _set(data, key, env[name])
            sources[key] = f"env {name}"

    try:
        config = model_cls.model_validate(data)
    except ValidationError as exc:
        problems.extend(_errors(exc, sources, secret_keys(model_cls)))
        raise ConfigError(problems, what) from None
    if problems:
        raise ConfigError(problems, what)
    return config


__all__ = [
    "ConfigError",
    "Problem",
    "Section",
    "check_file",
    "cross_field_problem",
    "env_var",
    "leaf_keys",
    "load_settings",
    "secret_keys",
]
