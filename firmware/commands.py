"""Commands from the cloud (topic ``myenergy/v1/<dev>/cmd``): check, then apply.

``protocol.messages.decode_command`` checks every field (unknown fields, wrong
types, out-of-range values make the whole command invalid); a device never acts
on a command it half understands. Then, as edge_agent/commands.py does:

``live`` {minutes} / ``live_stop``  start or stop live mode (firmware.live);
``time`` {utc}                      anchor the clock (firmware.clock);
``config`` {poll_s, upload_s, status_s, live_sample_s}
                                    checked key by key (firmware.config); what
                                    passes is applied and kept on flash, what does
                                    not is refused with the reason.

A command carrying ``exp`` (UTC seconds) that waited in the persistent session
past it is ignored, unless our clock is unanchored (then we cannot tell). The
outcome of the last command, with its ``id``, goes into the status message
(``last_cmd``) so the portal sees what the device did with it.
"""

from firmware.clock import SOURCE_CLOUD
from firmware.log import log
from protocol.messages import CMD_CONFIG, CMD_LIVE, CMD_LIVE_STOP, CMD_TIME
from protocol.records import CLOCK_UNANCHORED

try:
    from typing import Any, Callable
except ImportError:
    pass


class Commands:
    """Applies commands to the running firmware; ``last`` is the latest outcome."""

    def __init__(
        self,
        config: "Any",
        clock: "Any",
        live: "Any",
        on_config: "Callable[[dict[str, Any]], None]",
    ) -> None:
        self._config = config
        self._clock = clock  # re-anchoring steps are taken by the app (clock.take_anchor_step)
        self._live = live
        self._on_config = on_config  # the app re-reads the changed settings
        self.last = None  # type: "dict[str, Any] | None"
        self.handled = 0

    def _outcome(
        self, cmd: "dict[str, Any] | None", ok: bool, reason: str = "", **extra: object
    ) -> "dict[str, Any]":
        out = {"cmd": cmd.get("cmd") if cmd else None, "ok": ok}  # type: dict[str, Any]
        if cmd and "id" in cmd:
            out["id"] = cmd["id"]
        if reason:
            out["reason"] = reason
        out.update(extra)
        self.last = out
        self.handled += 1
        log("command", **out)
        return out

    def handle(
        self, cmd: "dict[str, Any] | None", problem: "str | None", now_ms: int
    ) -> "dict[str, Any]":
        """Apply one decoded command (``cmd``), or report why it was invalid (``problem``)."""
        if cmd is None:
            return self._outcome(None, False, problem or "invalid command")
        exp = cmd.get("exp")
        anchored = self._clock.quality() != CLOCK_UNANCHORED
        if exp is not None and anchored and self._clock.now() > exp:
            return self._outcome(cmd, False, "expired")
        name = cmd["cmd"]
        if name == CMD_LIVE:
            granted = self._live.start(cmd["minutes"], now_ms)
            return self._outcome(cmd, True, minutes=granted)
        if name == CMD_LIVE_STOP:
            self._live.stop()
            return self._outcome(cmd, True)
        if name == CMD_TIME:
            step = self._clock.anchor(int(cmd["utc"]), SOURCE_CLOUD)
            if step is None:
                return self._outcome(cmd, False, "not anchored: a fresh NTP time is better")
            return self._outcome(cmd, True)
        if name == CMD_CONFIG:
            changes = {}
            for key, value in cmd.items():
                if key not in ("cmd", "id", "exp"):
                    changes[key] = value
            applied, refused = self._config.apply_cloud(changes)
            if applied:
                self._on_config(applied)
            if refused:
                return self._outcome(cmd, bool(applied), "refused", refused=refused)
            return self._outcome(cmd, True)
        return self._outcome(cmd, False, "not handled")
