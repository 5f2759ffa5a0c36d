"""From the portal's ``[mqtt]`` and ``[live]`` settings to a :class:`LiveHubConfig`.

``portal_api.config`` validates the file and the environment; this is the one
place that maps its sections onto the hub's settings (the password file is read
here, at start, like ingest reads its own at each connect).
"""

from __future__ import annotations

from portal_api.config import LiveSection, PortalMqttSection
from portal_api.live.config import LiveHubConfig, LiveTlsConfig

__all__ = ["hub_config"]


def hub_config(mqtt: PortalMqttSection, live: LiveSection) -> LiveHubConfig:
    """The hub's settings from the portal's validated ``mqtt`` and ``live`` sections."""
    return LiveHubConfig(
        host=mqtt.host,
        port=mqtt.port,
        tls=LiveTlsConfig(
            enabled=mqtt.tls.enabled,
            ca_file=mqtt.tls.ca_file,
            cert_file=mqtt.tls.cert_file,
            key_file=mqtt.tls.key_file,
        ),
        username=mqtt.username,
        password=mqtt.password_value(),
        client_id=mqtt.client_id,
        keepalive_s=mqtt.keepalive_s,
        protocol=mqtt.protocol,
        minutes=live.minutes,
        renew_s=live.renew_s,
    )
