"""Settings the failure drills rely on: links leave from the host's own address, a crashed instance waits
before systemd restarts it, and a replica's full sync starts at once."""

import pytest

from expected import BOOTSTRAP, HOSTS, SENTINEL_PORTS, SENTINEL_PROCESS, SERVER_PROCESS, address

SERVICE_PORTS = {str(port) for port, _master, _replica in BOOTSTRAP.values()} | {str(port) for port in SENTINEL_PORTS}


def _outgoing_links(host):
    """(process, local ip, peer) of every established connection a Redis or Sentinel process opened."""
    links = []
    for line in host.check_output("ss -tnpH state established").splitlines():
        fields = line.split()
        local, peer, process = fields[2], fields[3], " ".join(fields[4:])
        name = SENTINEL_PROCESS if SENTINEL_PROCESS in process else SERVER_PROCESS if SERVER_PROCESS in process else None
        local_ip, local_port = local.rsplit(":", 1)
        if name and local_port not in SERVICE_PORTS and peer.rsplit(":", 1)[1] in SERVICE_PORTS:
            links.append((name, local_ip, peer))
    return links


@pytest.mark.parametrize("host_name", HOSTS)
def test_replication_and_sentinel_links_leave_from_the_host_address(hosts, host_name, expected_layout):
    links = _outgoing_links(hosts[host_name])
    holds_a_replica = any(replica == host_name for _port, _master, replica in expected_layout.values())
    assert {name for name, _ip, _peer in links} == {SENTINEL_PROCESS} | ({SERVER_PROCESS} if holds_a_replica else set()), links
    assert {ip for _name, ip, _peer in links} == {HOSTS[host_name]}, links
    other = next(ip for name, ip in HOSTS.items() if name != host_name)
    assert any(peer.startswith(other + ":") for _name, _ip, peer in links), links


@pytest.mark.parametrize("host_name", HOSTS)
def test_crashed_instances_wait_before_restarting(hosts, host_name):
    host = hosts[host_name]
    for shard in BOOTSTRAP:
        assert host.check_output(f"systemctl show -p RestartUSec --value shardinel-redis@{shard}") == "10s"
    for port in SENTINEL_PORTS:
        assert host.check_output(f"systemctl show -p RestartUSec --value shardinel-sentinel@{port}") == "100ms"


def test_replication_settings(admin, expected_layout):
    for port, master, replica in expected_layout.values():
        for host in (master, replica):
            settings = admin(address(host, port), "CONFIG", "GET", "*").splitlines()
            values = dict(zip(settings[::2], settings[1::2]))
            assert values["bind-source-addr"] == HOSTS[host]
            assert values["repl-diskless-sync-delay"] == "0"
            assert values["min-replicas-to-write"] == "0"
