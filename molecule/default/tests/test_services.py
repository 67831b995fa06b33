"""Every shard member and Sentinel runs as its own systemd unit and listens on its host's own address."""

import pytest

from expected import BOOTSTRAP, HOSTS, SENTINEL_PORTS, SENTINEL_PROCESS, SERVER_PROCESS


@pytest.mark.parametrize("host_name", HOSTS)
def test_shard_units_active_and_listening(hosts, host_name):
    host = hosts[host_name]
    for shard, (port, master, replica) in BOOTSTRAP.items():
        assert host_name in (master, replica)
        unit = host.service(f"shardinel-redis@{shard}")
        assert unit.is_running and unit.is_enabled
        assert host.socket(f"tcp://{HOSTS[host_name]}:{port}").is_listening
        assert not host.socket(f"tcp://0.0.0.0:{port}").is_listening


@pytest.mark.parametrize("host_name", HOSTS)
def test_sentinel_units_active_and_listening(hosts, host_name):
    host = hosts[host_name]
    for port in SENTINEL_PORTS:
        unit = host.service(f"shardinel-sentinel@{port}")
        assert unit.is_running and unit.is_enabled
        assert host.socket(f"tcp://{HOSTS[host_name]}:{port}").is_listening


@pytest.mark.parametrize("host_name", HOSTS)
def test_distribution_units_masked(hosts, host_name):
    host = hosts[host_name]
    for unit in (SERVER_PROCESS, SENTINEL_PROCESS):
        assert host.file(f"/etc/systemd/system/{unit}.service").linked_to == "/dev/null"
        assert not host.service(unit).is_running
    # Masking links to /dev/null; a mode set on the link would change /dev/null itself (apt's _apt user then fails).
    assert host.file("/dev/null").mode == 0o666
