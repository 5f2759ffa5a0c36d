"""Portal configuration: the sample loads, env overrides, every problem at once."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.config import StoreSection
from portal_api.config import SAMPLE_CONFIG, ConfigError, PortalConfig, load_config

KEY = "k" * 40
ENV = {"MYENERGY_PORTAL_SECURITY_SECRET_KEY": KEY}


def test_sample_config_loads_with_a_secret_key_from_the_environment() -> None:
    config = load_config(SAMPLE_CONFIG, ENV)
    assert config.http.base_url == "https://myenergy.energo-pro.bg"
    assert config.http.trusted_proxies == ("127.0.0.1",)
    assert config.security.login_max_failures == 5
    assert config.security.lockout_s == 900
    assert config.security.session_ttl_s == 8 * 3600
    assert config.security.cookie_secure is True
    assert config.live.minutes == 5 and config.live.renew_interval_s == 150
    assert isinstance(config.store, StoreSection)
    assert config.smtp.sender == "MyEnergy <noreply@energo-pro.bg>"
    assert KEY not in repr(config)


def test_the_secret_key_is_required_and_never_echoed() -> None:
    with pytest.raises(ConfigError) as info:
        load_config(SAMPLE_CONFIG, {})
    assert [p.key for p in info.value.problems] == ["security.secret_key"]
    with pytest.raises(ConfigError) as info:
        load_config(None, {"MYENERGY_PORTAL_SECURITY_SECRET_KEY": "short-secret"})
    assert "short-secret" not in str(info.value)
    assert "invalid portal configuration" in str(info.value)


def test_secret_key_file_and_derived_keys(tmp_path: Path) -> None:
    path = tmp_path / "portal.secret"
    path.write_text(KEY + "\n")
    config = load_config(None, {"MYENERGY_PORTAL_SECURITY_SECRET_KEY_FILE": str(path)})
    keys = config.security.identifier_keys()
    same = load_config(None, ENV).security.identifier_keys()
    assert keys == same  # the trailing newline of the file does not count
    assert keys.pepper != keys.fernet_key


def test_defaults_without_a_file() -> None:
    config = load_config(None, ENV)
    assert config.database.url == "sqlite:///var/portal.sqlite3"
    assert config.mqtt.port == 1883 and config.smtp.port == 25
    assert config.security.password_min_length == 10
    assert config.security.reset_ttl_s == 3600


def test_env_overrides_and_lists_from_the_environment() -> None:
    env = {
        **ENV,
        "MYENERGY_PORTAL_HTTP_TRUSTED_PROXIES": "10.0.0.1, 10.1.0.0/16",
        "MYENERGY_PORTAL_SECURITY_COOKIE_SECURE": "false",
        "MYENERGY_PORTAL_SMTP_STARTTLS": "true",
        "MYENERGY_PORTAL_SMTP_USERNAME": "mailer",
        "MYENERGY_PORTAL_SMTP_PASSWORD": "smtp-pw-1",
        "MYENERGY_PORTAL_DATABASE_URL": "postgresql+psycopg://u@db/portal",
        "MYENERGY_PORTAL_CONFIG": "/ignored/path.toml",
    }
    config = load_config(SAMPLE_CONFIG, env)
    assert config.http.trusted_proxies == ("10.0.0.1", "10.1.0.0/16")
    assert config.security.cookie_secure is False
    assert config.smtp.port == 25  # the sample states 25
    assert config.smtp.password_value() == "smtp-pw-1"
    assert "smtp-pw-1" not in repr(config)
    assert config.database.url.startswith("postgresql+psycopg://")


def test_all_problems_reported_at_once(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(
        "version = 1\n"
        '[http]\nport = 70000\nbase_url = "ftp://x"\ntrusted_proxies = ["not-an-ip"]\n'
        "[smtp]\nssl = true\nstarttls = true\n"
        "[security]\nlogin_max_failures = 0\ntypo = 1\n"
        "[live]\nminutes = 1\nrenew_s = 90\n"
    )
    env = {**ENV, "MYENERGY_PORTAL_NOPE": "1", "MYENERGY_PORTAL_SMTP_PASSWORD": "pw-42"}
    with pytest.raises(ConfigError) as info:
        load_config(path, env)
    keys = {p.key for p in info.value.problems}
    assert {
        "http.port",
        "http.base_url",
        "http.trusted_proxies",
        "security.login_max_failures",
        "security.typo",
        "live.renew_s",
        "MYENERGY_PORTAL_NOPE",
    } <= keys
    assert "pw-42" not in str(info.value)
    sources = {p.key: p.source for p in info.value.problems}
    assert sources["http.port"] == f"file {path}"


def test_missing_version(tmp_path: Path) -> None:
    path = tmp_path / "x.toml"
    path.write_text("[http]\n")
    with pytest.raises(ConfigError, match="version"):
        load_config(path, ENV)


def test_sections_are_frozen() -> None:
    config = PortalConfig.model_validate({"security": {"secret_key": KEY}})
    with pytest.raises(ValueError, match="frozen"):
        config.http.port = 1
