"""The live hub: one per portal process; live mode for watched devices, samples to watchers.

    hub = LiveHub(config, registry=metrics_registry)
    hub.start()                                   # app startup; connects in the background
    async with hub.subscribe(["me-0042"]) as sub: # in a request handler
        async for event in sub: ...               # LiveSample | LiveStatus
    hub.stop()                                    # app shutdown

What it does on the broker:

* subscribes ``myenergy/v1/<dev>/live`` and ``.../status`` (QoS 0) only for
  devices somebody watches, and unsubscribes when the last watcher of a device
  leaves;
* the first watcher of a device makes it publish at once
  ``{"cmd":"live","minutes":M,"id":...,"exp":now+M*60}`` to ``.../cmd`` (QoS 1,
  not retained); while anybody watches, the command is repeated every
  ``renew_interval_s`` (half the window by default); when the last watcher
  leaves nothing is sent: the device's window lapses by itself (the issue: closing
  the view lets it lapse), so no ``live_stop`` can cut off another portal
  instance's watcher of the same device. Several instances sending commands
  for one device is harmless: each only extends the window;
* after every (re)connect (clean session) it subscribes again and sends the
  command to every watched device at once: the device may have lapsed meanwhile.

The device's retained status says until when it streams (``live_until``); the
last one seen is kept per watched device and given to each new watcher, so a
second browser tab learns it without waiting for the next status.

Thread-safety: :meth:`subscribe` (from any event loop thread), closing
subscriptions (any thread), :meth:`start` and :meth:`stop` may run concurrently
with paho's network thread and the renewal thread. The hub's state is guarded
by one lock; paho calls made under it only queue packets for the network thread
(they never wait on it). Events are handed to subscribers outside the lock.
"""

from __future__ import annotations

import asyncio
import secrets
import threading
import time
from collections.abc import Callable, Iterable

import structlog
from prometheus_client import CollectorRegistry

from portal_api.live.config import LiveHubConfig
from portal_api.live.events import LiveEvent, LiveStatus, decode_message
from portal_api.live.metrics import LiveMetrics
from portal_api.live.mqtt_link import MqttLink
from portal_api.live.subscription import LiveSubscription
from protocol import topics
from protocol.codec import CMD_LIVE, encode_command

__all__ = ["LiveHub"]

log = structlog.get_logger(__name__)

_NEW, _RUNNING, _STOPPED = "new", "running", "stopped"


class LiveHub:
    """Live-mode commands while watched; device samples fanned out to subscribers.

    ``clock`` gives UTC unix seconds for the commands' ``exp``; ``monotonic``
    schedules the renewals (both injectable for tests).
    """

    def __init__(
        self,
        config: LiveHubConfig,
        *,
        registry: CollectorRegistry | None = None,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self.metrics = LiveMetrics(registry)
        self._clock = clock
        self._monotonic = monotonic
        self._cond = threading.Condition(threading.Lock())
        self._state = _NEW
        self._online = False  # connected and (re)subscribed, as seen by this hub
        self._watchers: dict[str, set[LiveSubscription]] = {}
        self._renew_at: dict[str, float] = {}  # device -> monotonic time of the next command
        self._last_status: dict[str, LiveStatus] = {}
        self._renewer: threading.Thread | None = None
        self.commands_sent = 0
        self.link = MqttLink(
            config,
            on_connect=self._on_connect,
            on_disconnect=self._on_disconnect,
            on_message=self._on_message,
        )

    # -- lifecycle ---------------------------------------------------------------------

    def start(self) -> None:
        """Connect in the background (reconnecting by itself) and start renewing."""
        with self._cond:
            if self._state != _NEW:
                raise RuntimeError(f"live hub already {self._state}")
            self._state = _RUNNING
        self._renewer = threading.Thread(target=self._renew_loop, name="live-renew", daemon=True)
        self._renewer.start()
        self.link.start()

    def stop(self) -> None:
        """Disconnect and end every subscription; watched devices lapse by themselves."""
        with self._cond:
            if self._state == _STOPPED:
                return
            started = self._state == _RUNNING
            self._state = _STOPPED
            self._cond.notify_all()
            open_subs = {sub for subs in self._watchers.values() for sub in subs}
        if self._renewer is not None:
            self._renewer.join()
        if started:
            self.link.stop()
        for sub in open_subs:
            sub.close()

    @property
    def connected(self) -> bool:
        """Connected to the broker, subscriptions and commands renewed."""
        with self._cond:
            return self._online

    def wait_connected(self, timeout: float) -> bool:
        """True once :attr:`connected` (within ``timeout`` seconds)."""
        with self._cond:
            return self._cond.wait_for(lambda: self._online, timeout)

    def watched_devices(self) -> set[str]:
        with self._cond:
            return set(self._watchers)

    def watchers(self) -> int:
        with self._cond:
            return len({sub for subs in self._watchers.values() for sub in subs})

    # -- subscriptions ------------------------------------------------------------------

    def subscribe(self, device_ids: Iterable[str]) -> LiveSubscription:
        """Watch ``device_ids`` (MQTT device ids) from the running event loop.

        ValueError for an invalid or empty list; RuntimeError if the hub stopped.
        """
        devices = frozenset(device_ids)
        if not devices:
            raise ValueError("subscribe to at least one device")
        bad = sorted(d for d in devices if not topics.valid_device_id(d))
        if bad:
            raise ValueError(f"invalid device ids: {bad}")
        sub = LiveSubscription(
            devices,
            asyncio.get_running_loop(),
            self.config.queue_size,
            on_close=self._forget,
            on_drop=self.metrics.dropped.inc,
        )
        known: list[LiveStatus] = []
        with self._cond:
            if self._state == _STOPPED:
                raise RuntimeError("the live hub is stopped")
            new = sorted(d for d in devices if d not in self._watchers)
            for device in devices:
                self._watchers.setdefault(device, set()).add(sub)
                if device in self._last_status:
                    known.append(self._last_status[device])
            if new:
                now = self._monotonic()
                if self._online:
                    self.link.subscribe(_topics_of(new), topics.LIVE_QOS)
                for device in new:
                    if self._online:
                        self._send_live(device)
                    # Offline: the next connect sends it (and schedules afresh).
                    self._renew_at[device] = now + self.config.renew_interval_s
                self._cond.notify_all()
            self._update_gauges()
        log.info("live watcher added", devices=sorted(devices), new_devices=new)
        for status in known:
            sub.offer(status)
        return sub

    def _forget(self, sub: LiveSubscription) -> None:
        """A subscription closed: devices nobody watches any more are let go."""
        with self._cond:
            gone = []
            for device in sub.device_ids:
                subs = self._watchers.get(device)
                if subs is None:
                    continue
                subs.discard(sub)
                if not subs:
                    del self._watchers[device]
                    self._renew_at.pop(device, None)
                    self._last_status.pop(device, None)
                    gone.append(device)
            if gone and self._online and self._state == _RUNNING:
                self.link.unsubscribe(_topics_of(gone))
            self._update_gauges()
        log.info("live watcher left", devices=sorted(sub.device_ids), released=sorted(gone))

    def _update_gauges(self) -> None:
        # Under the lock.
        self.metrics.devices.set(len(self._watchers))
        self.metrics.watchers.set(len({s for subs in self._watchers.values() for s in subs}))

    # -- commands -----------------------------------------------------------------------

    def _send_live(self, device: str) -> bool:
        """Publish one live command to ``device`` (under the lock)."""
        minutes = self.config.minutes
        command = {
            "cmd": CMD_LIVE,
            "minutes": minutes,
            "id": "portal-" + secrets.token_hex(6),
            # A command that waited in a queue longer than the window it asks for
            # is of no use to anybody.
            "exp": int(self._clock()) + minutes * 60,
        }
        sent = self.link.publish(
            topics.command(device),
            encode_command(command),
            qos=topics.COMMAND_QOS,
            retain=topics.COMMAND_RETAIN,
        )
        if sent:
            self.commands_sent += 1
            self.metrics.commands.inc()
            log.debug("live command sent", device=device, id=command["id"])
        return sent

    def _renew_loop(self) -> None:
        """Renewal thread: repeats the command to every watched device when due."""
        with self._cond:
            while self._state == _RUNNING:
                now = self._monotonic()
                for device, due in list(self._renew_at.items()):
                    if due <= now:
                        if self._online:
                            self._send_live(device)
                        # Offline: the next connect sends it; keep the rhythm meanwhile.
                        self._renew_at[device] = now + self.config.renew_interval_s
                wait = min(self._renew_at.values(), default=now + 3600.0) - now
                self._cond.wait(max(wait, 0.0))

    # -- paho callbacks (network thread) ----------------------------------------------

    def _on_connect(self) -> None:
        with self._cond:
            if self._state != _RUNNING:
                return
            devices = sorted(self._watchers)
            if devices:
                self.link.subscribe(_topics_of(devices), topics.LIVE_QOS)
            now = self._monotonic()
            for device in devices:
                self._send_live(device)
                self._renew_at[device] = now + self.config.renew_interval_s
            self._online = True
            self._cond.notify_all()
        if devices:
            log.info("live link resubscribed", devices=devices)

    def _on_disconnect(self) -> None:
        with self._cond:
            self._online = False

    def _on_message(self, topic: str, payload: bytes) -> None:
        try:
            events = decode_message(topic, payload)
        except ValueError as exc:
            self.metrics.invalid.inc()
            log.warning("live message refused", topic=topic, error=str(exc))
            return
        if not events:
            return
        device = events[0].device_id
        with self._cond:
            subs = list(self._watchers.get(device, ()))
            for event in events:
                if isinstance(event, LiveStatus) and subs:
                    self._last_status[device] = event
        _fan_out(subs, events)


def _fan_out(subs: list[LiveSubscription], events: list[LiveEvent]) -> None:
    for sub in subs:
        for event in events:
            sub.offer(event)


def _topics_of(devices: Iterable[str]) -> list[str]:
    out: list[str] = []
    for device in devices:
        out += [topics.live(device), topics.status(device)]
    return out
