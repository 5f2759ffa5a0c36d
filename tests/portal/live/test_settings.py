"""The portal's [mqtt] and [live] sections become the hub's settings, nothing lost."""

from __future__ import annotations

from pathlib import Path

from portal_api.config import SAMPLE_CONFIG, load_config
from portal_api.live.config import LiveTlsConfig
from portal_api.live.settings import hub_config

SECRET = "k" * 48


def test_sample_config_maps_onto_the_hub() -> None:
    config = load_config(SAMPLE_CONFIG, {"MYENERGY_PORTAL_SECURITY_SECRET_KEY": SECRET})
    hub = hub_config(config.mqtt, config.live)
    assert (hub.host, hub.broker_port, hub.client_id) == ("127.0.0.1", 1883, "myenergy-portal-1")
    assert hub.tls == LiveTlsConfig()
    assert hub.minutes == config.live.minutes
    assert hub.renew_interval_s == config.live.renew_interval_s


def test_environment_overrides_reach_the_hub(tmp_path: Path) -> None:
    password_file = tmp_path / "mqtt.password"
    password_file.write_text("s3cret-pw\n")
    env = {
        "MYENERGY_PORTAL_SECURITY_SECRET_KEY": SECRET,
        "MYENERGY_PORTAL_MQTT_HOST": "broker.internal",
        "MYENERGY_PORTAL_MQTT_PORT": "18830",
        "MYENERGY_PORTAL_MQTT_USERNAME": "svc_portal",
        "MYENERGY_PORTAL_MQTT_PASSWORD_FILE": str(password_file),
        "MYENERGY_PORTAL_MQTT_CLIENT_ID": "myenergy-portal-2",
        "MYENERGY_PORTAL_LIVE_MINUTES": "3",
        "MYENERGY_PORTAL_LIVE_RENEW_S": "45",
    }
    config = load_config(SAMPLE_CONFIG, env)
    hub = hub_config(config.mqtt, config.live)
    assert (hub.host, hub.broker_port) == ("broker.internal", 18830)
    assert (hub.username, hub.password) == ("svc_portal", "s3cret-pw")
    assert hub.client_id == "myenergy-portal-2"
    assert (hub.minutes, hub.renew_interval_s) == (3, 45.0)
