"""Run Python on the MicroPython WebAssembly port (tests/micropython/run.mjs) from pytest.

The port is the npm package pinned in tests/micropython/package.json. When it is
missing the calling test fails (never skips) and says how to install it.
"""

from __future__ import annotations

import json
import shutil
import struct
import subprocess
import tempfile
from pathlib import Path

import pytest

from protocol.codec import Batch, Record

ROOT = Path(__file__).resolve().parents[2]
NODE_DIR = ROOT / "tests" / "micropython"
RUNNER = NODE_DIR / "run.mjs"
PACKAGE = "@micropython/micropython-webassembly-pyscript"
INSTALL = "npm ci --prefix tests/micropython"


def pinned_version() -> str:
    """The exact version package.json pins."""
    deps = json.loads((NODE_DIR / "package.json").read_text())["dependencies"]
    return str(deps[PACKAGE])


def check_installed() -> str:
    """Path of node; pytest.fail with the install command when anything is missing."""
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not installed: the micropython tests need Node.js 20+")
    installed = NODE_DIR / "node_modules" / PACKAGE / "package.json"
    if not installed.exists():
        pytest.fail(
            "the MicroPython WebAssembly port is not installed; from the repository root run:\n"
            f"    {INSTALL}"
        )
    version = json.loads(installed.read_text())["version"]
    if version != pinned_version():
        pytest.fail(
            f"MicroPython WebAssembly {version} installed, {pinned_version()} pinned;"
            f" run:\n    {INSTALL}"
        )
    return node


def run_micropython(script: str, timeout: float = 120.0) -> str:
    """Run ``script`` on MicroPython with protocol/ importable; its stdout, or pytest.fail."""
    node = check_installed()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "script.py"
        path.write_text(script)
        proc = subprocess.run(
            [node, str(RUNNER), str(path)],
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=ROOT,
            check=False,
        )
    if proc.returncode != 0:
        pytest.fail(
            f"MicroPython run failed (exit {proc.returncode}):\n{proc.stderr}\n"
            f"--- stdout ---\n{proc.stdout}"
        )
    return proc.stdout


def results(stdout: str) -> dict[str, str]:
    """Lines ``=key value`` printed by a script, as a dict (other output is ignored)."""
    out = {}
    for line in stdout.splitlines():
        if line.startswith("="):
            key, _, value = line[1:].partition(" ")
            out[key] = value
    return out


def batch_source(batch: Batch, name: str = "BATCH") -> str:
    """Python source that rebuilds ``batch`` as ``name`` on MicroPython, bit for bit.

    Floats travel as their IEEE-754 bytes (hex), not as decimal literals, so no
    float-parsing difference between the two interpreters can change a value.
    """
    floats: list[float] = []
    rows = []
    for r in batch.records:
        names = sorted(r.stats)
        for n in names:
            floats.extend(r.stats[n])
        meta = (r.seq, r.ts, r.period_s, r.clock, r.samples, r.expected, r.span)
        rows.append((meta, names, dict(r.counters)))
    blob = struct.pack(f"<{len(floats)}d", *floats).hex()
    return (
        "import struct, binascii\n"
        "from protocol.codec import Batch, Record\n"
        f"_f = struct.unpack('<{len(floats)}d', binascii.unhexlify('{blob}'))\n"
        f"_rows = {rows!r}\n"
        "_recs = []\n"
        "_i = 0\n"
        "for _meta, _names, _counters in _rows:\n"
        "    _stats = {}\n"
        "    for _n in _names:\n"
        "        _stats[_n] = (_f[_i], _f[_i + 1], _f[_i + 2])\n"
        "        _i += 3\n"
        "    _recs.append(Record(*(list(_meta) + [_stats, _counters])))\n"
        f"{name} = Batch({batch.device_id!r}, _recs, {bool(batch.historical)!r})\n"
    )


def same_records(a: list[Record], b: list[Record]) -> bool:
    """Exact equality of the float values too (stricter than Record.__eq__)."""
    return [(r.stats, r.counters) for r in a] == [(r.stats, r.counters) for r in b] and a == b
