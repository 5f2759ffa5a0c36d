"""Entry point on the module (kept as source on the device, so it can be edited there).

Loads /config.json, builds the App and runs it forever. A configuration that
cannot be used is printed with every problem and the firmware stops at the
REPL, so the installer connected over USB can fix it (``mpremote``); the
hardware watchdog is not started before that, so it does not reset the board
under the installer's hands. Anything that escapes the main loop is logged
and the board resets: every record is already on flash, nothing is lost.
"""

import time

import machine

from firmware import config
from firmware.app import build
from firmware.log import log


def main() -> None:
    try:
        cfg = config.load()
    except config.ConfigError as exc:
        log("config.invalid", problems=exc.problems)
        return
    app = build(cfg)
    try:
        app.run()
    except Exception as exc:  # noqa: BLE001 - the last line of defence: log, then reset
        log("crash", error=repr(exc))
        time.sleep_ms(1000)  # let the log line leave the UART
        machine.reset()


main()
