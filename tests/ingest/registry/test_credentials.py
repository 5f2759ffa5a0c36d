"""Password generation and hashes: ours must be what mosquitto_passwd writes."""

from __future__ import annotations

import subprocess
from pathlib import Path

from ingest.registry import credentials
from tests.fixtures.mosquitto import find_executable


def test_generated_passwords_are_long_random_and_file_safe() -> None:
    passwords = {credentials.generate_password() for _ in range(100)}
    assert len(passwords) == 100
    for password in passwords:
        assert len(password) == 32
        assert not set(password) & set(": \t\n$#")


def test_mosquitto_hash_has_mosquitto_passwd_format() -> None:
    stored = credentials.mosquitto_hash("secret", salt=b"\x00" * 12)
    kind, iterations, salt, digest = stored.split("$")[1:]
    assert (kind, iterations, salt) == ("7", "101", "AAAAAAAAAAAAAAAA")
    assert len(digest) == 88  # base64 of a 64-byte SHA-512 digest
    assert credentials.mosquitto_verify(stored, "secret")
    assert not credentials.mosquitto_verify(stored, "Secret")


def test_hashes_written_by_mosquitto_passwd_verify_with_ours(tmp_path: Path) -> None:
    password_file = tmp_path / "passwd"
    password_file.touch(mode=0o600)
    subprocess.run(
        [find_executable("mosquitto_passwd"), "-b", str(password_file), "dev-001", "s3cret"],
        check=True,
        capture_output=True,
    )
    _, stored = password_file.read_text().strip().split(":", 1)
    assert credentials.mosquitto_verify(stored, "s3cret")
    assert not credentials.mosquitto_verify(stored, "other")


def test_malformed_mosquitto_hashes_never_verify() -> None:
    for stored in ("", "plain", "$6$abc$def", "$7$x$y$z", "$7$101$!!$!!"):
        assert not credentials.mosquitto_verify(stored, "secret")


def test_argon2_round_trip_and_salting() -> None:
    first, second = credentials.argon2_hash("pw"), credentials.argon2_hash("pw")
    assert first != second and first.startswith("$argon2id$")
    assert credentials.argon2_verify(first, "pw")
    assert not credentials.argon2_verify(first, "PW")
    assert not credentials.argon2_verify("not a hash", "pw")
