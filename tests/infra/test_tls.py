"""The test certificate authority: chains that a TLS peer would accept."""

import ipaddress
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.verification import PolicyBuilder, Store, VerificationError

from tests.fixtures.tls import issue_cert, make_ca


def test_server_certificate_verifies_for_localhost_and_loopback_ips() -> None:
    ca = make_ca()
    server = issue_cert(ca, "localhost", server=True)
    builder = PolicyBuilder().store(Store([ca.cert]))
    for name in (
        x509.DNSName("localhost"),
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
        x509.IPAddress(ipaddress.ip_address("::1")),
    ):
        builder.build_server_verifier(name).verify(server.cert, [])
    with pytest.raises(VerificationError):
        builder.build_server_verifier(x509.DNSName("example.com")).verify(server.cert, [])


def test_client_certificate_carries_the_device_id_and_needs_its_own_ca() -> None:
    ca, other_ca = make_ca(), make_ca("Another CA")
    device = issue_cert(ca, "dev-001")
    assert device.common_name == "dev-001"
    PolicyBuilder().store(Store([ca.cert])).build_client_verifier().verify(device.cert, [])
    with pytest.raises(VerificationError):
        verifier = PolicyBuilder().store(Store([other_ca.cert])).build_client_verifier()
        verifier.verify(device.cert, [])


def test_written_key_is_private(tmp_path: Path) -> None:
    files = issue_cert(make_ca(), "dev-001").write(tmp_path, "dev-001")
    assert files.certfile.read_bytes().startswith(b"-----BEGIN CERTIFICATE-----")
    assert files.keyfile.stat().st_mode & 0o077 == 0
