"""The portal's live link: live-mode commands while watched, samples to SSE watchers.

config.py        LiveHubConfig (broker, window minutes, renewal interval)
mqtt_link.py     the paho-mqtt 2 connection (MQTT v5, clean start, reconnects)
hub.py           LiveHub: one per process; subscribe(device_ids) -> LiveSubscription
subscription.py  LiveSubscription: async iterator of LiveSample | LiveStatus
events.py        LiveSample, LiveStatus and their decoding from MQTT messages
sse.py           the server-sent events of a subscription (decision 0004)
settings.py      hub_config(): the portal's [mqtt] and [live] sections -> LiveHubConfig
metrics.py       Prometheus metrics of the hub
"""

from portal_api.live.config import LiveHubConfig, LiveTlsConfig
from portal_api.live.events import LiveEvent, LiveSample, LiveStatus
from portal_api.live.hub import LiveHub
from portal_api.live.sse import live_events, live_response
from portal_api.live.subscription import LiveClosedError, LiveSubscription

__all__ = [
    "LiveClosedError",
    "LiveEvent",
    "LiveHub",
    "LiveHubConfig",
    "LiveSample",
    "LiveStatus",
    "LiveSubscription",
    "LiveTlsConfig",
    "live_events",
    "live_response",
]
