"""shardinel_tls in the scenarios that turn it on: the generated certificates are private to the service user,
every port speaks TLS only, and a plaintext client is refused. The other tests of this directory reach every
instance and Sentinel over TLS there (their command-line tool gets --tls), and the verify playbook drills over TLS."""

import shlex

import pytest

from expected import BOOTSTRAP, CLI, HOSTS, SENTINEL_PORTS, SERVICE_USER, TLS, TLS_DIR, TLS_ONLY

pytestmark = pytest.mark.skipif(not TLS, reason="the scenario does not turn shardinel_tls on")
OFFSET = 1000


@pytest.mark.parametrize("host_name", HOSTS)
def test_generated_certificates_are_private(hosts, host_name):
    host = hosts[host_name]
    key = host.file(f"{TLS_DIR}/host.key")
    assert key.user == SERVICE_USER and key.mode == 0o600, oct(key.mode)
    for name in ("ca.crt", "host.crt"):
        certificate = host.file(f"{TLS_DIR}/{name}")
        assert certificate.user == SERVICE_USER and certificate.mode & 0o7027 == 0, (name, oct(certificate.mode))
    assert host.file(TLS_DIR).mode == 0o750
    subject = host.check_output(f"openssl x509 -in {TLS_DIR}/host.crt -noout -ext subjectAltName")
    assert f"IP Address:{HOSTS[host_name]}" in subject, subject


@pytest.mark.parametrize("host_name", HOSTS)
def test_plaintext_is_refused_and_plaintext_ports_are_closed(hosts, host_name, secrets):
    host = hosts[host_name]
    ip = HOSTS[host_name]
    ports = [port for port, _master, _replica in BOOTSTRAP.values()] + list(SENTINEL_PORTS)
    for port in ports:
        assert host.socket(f"tcp://{ip}:{port}").is_listening
        plain = host.run(f"REDISCLI_AUTH={shlex.quote(secrets['shardinel_admin_password'])} "
                         f"timeout 5 {CLI} --no-auth-warning --user admin -h {ip} -p {port} PING")
        assert "PONG" not in plain.stdout, (port, plain.stdout)
        if TLS_ONLY:
            assert not host.socket(f"tcp://{ip}:{port + OFFSET}").is_listening, port + OFFSET


def test_replication_runs_over_tls(admin, expected_layout):
    for port, master, _replica in expected_layout.values():
        info = admin(f"{HOSTS[master]}:{port}", "INFO", "replication")
        assert "connected_slaves:1" in info, info
