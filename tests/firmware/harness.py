"""Run firmware code on real MicroPython (the WebAssembly port under Node) from pytest.

``run_firmware(script)`` runs a script with ``protocol``, ``firmware``, the
compiled meter maps and the hardware shims (tests/firmware/shims: machine,
esp32, hostsocket) importable, exactly as on a module whose /lib holds them.
Host resources reach it by name: ``fds={"uart1": pty_fd, "net": bridge.fw_fd}``
become host descriptors (the shims' UART(1) and the network bridge) and
``disks={"flash": path}`` a flash image file that outlives the process.

``start_firmware`` is the same as a running process, for tests that act while
it runs (cut the link, kill it as a power cut would) or read its output live.

When Node or the pinned port is missing the test fails and says how to install
it (tests/protocol/micropython_runner.check_installed).
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType

import pytest

from tests.protocol.micropython_runner import ROOT, check_installed, results

__all__ = ["FirmwareProcess", "results", "run_firmware", "start_firmware"]

RUNNER = ROOT / "tests" / "micropython" / "firmware.mjs"
SHIMS = Path(__file__).resolve().parent / "shims"
DEFAULT_HEAP = 512 * 1024


def _maps_source() -> str:
    from firmware.host.regmaps import render

    source: str = render()
    return source


def _command(
    node: str,
    *,
    script: Path,
    gen: Path,
    fds: Mapping[str, int],
    disks: Mapping[str, Path],
    heap: int,
    image: Path | None,
) -> list[str]:
    cmd = [node, str(RUNNER), "--heap", str(heap)]
    if image is None:
        cmd += ["--lib", f"{ROOT / 'protocol'}:/lib/protocol"]
        cmd += ["--lib", f"{ROOT / 'firmware'}:/lib/firmware"]
        cmd += ["--lib", f"{gen}:/lib/firmware"]
    else:
        # A built image (firmware.host.build): what would be copied to the device.
        cmd += ["--lib", f"{image / 'lib' / 'protocol'}:/lib/protocol"]
        cmd += ["--lib", f"{image / 'lib' / 'firmware'}:/lib/firmware"]
    cmd += ["--lib", f"{SHIMS}:/lib"]
    for name, fd in fds.items():
        cmd += ["--fd", f"{name}={fd}"]
    for name, path in disks.items():
        cmd += ["--disk", f"{name}={path}"]
    cmd.append(str(script))
    return cmd


class FirmwareProcess:
    """A firmware script running under Node; use as a context manager."""

    def __init__(
        self,
        script: str,
        *,
        fds: Mapping[str, int],
        disks: Mapping[str, Path],
        heap: int,
        env: Mapping[str, str] | None,
        image: Path | None,
    ) -> None:
        node = check_installed()
        self._tmp = tempfile.TemporaryDirectory(prefix="fw-")
        tmp = Path(self._tmp.name)
        (tmp / "script.py").write_text(script)
        gen = tmp / "gen"
        gen.mkdir()
        if image is None:
            (gen / "meter_maps.py").write_text(_maps_source())
        self.stdout_path = tmp / "stdout.txt"
        self.stderr_path = tmp / "stderr.txt"
        self._out = self.stdout_path.open("wb")
        self._err = self.stderr_path.open("wb")
        self.proc = subprocess.Popen(
            _command(
                node,
                script=tmp / "script.py",
                gen=gen,
                fds=fds,
                disks=disks,
                heap=heap,
                image=image,
            ),
            stdout=self._out,
            stderr=self._err,
            stdin=subprocess.DEVNULL,
            pass_fds=tuple(fds.values()),
            cwd=ROOT,
            env={**os.environ, **(env or {})},
        )

    def output(self) -> str:
        """Everything the script printed so far."""
        self._out.flush()
        return self.stdout_path.read_text(errors="replace")

    def errors(self) -> str:
        self._err.flush()
        return self.stderr_path.read_text(errors="replace")

    def wait(self, timeout: float) -> int:
        return self.proc.wait(timeout=timeout)

    def kill(self) -> None:
        """SIGKILL: the power cut. Nothing in the process gets to run after it."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def close(self) -> None:
        self.kill()
        self._out.close()
        self._err.close()
        self._tmp.cleanup()

    def __enter__(self) -> FirmwareProcess:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def start_firmware(
    script: str,
    *,
    fds: Mapping[str, int] | None = None,
    disks: Mapping[str, Path] | None = None,
    heap: int = DEFAULT_HEAP,
    env: Mapping[str, str] | None = None,
    image: Path | None = None,
) -> FirmwareProcess:
    """Start ``script`` on MicroPython; the caller waits, reads output and closes it."""
    return FirmwareProcess(
        script, fds=fds or {}, disks=disks or {}, heap=heap, env=env, image=image
    )


def run_firmware(
    script: str,
    *,
    fds: Mapping[str, int] | None = None,
    disks: Mapping[str, Path] | None = None,
    heap: int = DEFAULT_HEAP,
    env: Mapping[str, str] | None = None,
    image: Path | None = None,
    timeout: float = 120.0,
) -> str:
    """Run ``script`` to its end; its stdout, or pytest.fail with its traceback."""
    with start_firmware(script, fds=fds, disks=disks, heap=heap, env=env, image=image) as fw:
        try:
            code = fw.wait(timeout)
        except subprocess.TimeoutExpired:
            pytest.fail(f"firmware script still running after {timeout} s:\n{fw.output()[-4000:]}")
        if code != 0:
            pytest.fail(
                f"firmware script failed (exit {code}):\n{fw.errors()}\n"
                f"--- stdout ---\n{fw.output()[-4000:]}"
            )
        return fw.output()
