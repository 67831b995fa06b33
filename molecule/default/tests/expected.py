"""The scenario's hosts, ports and bootstrap placement, as molecule.yml and converge set them up."""

from pathlib import Path

SCENARIO = Path(__file__).resolve().parent.parent
FAILOVER_MARKER = "/etc/shardinel-molecule-failover"
HOSTS = {"server1": "127.0.1.1", "server2": "127.0.2.1"}
SENTINEL_PORTS = (26379, 26380)
# Bootstrap placement of the scenario: shard i's master on host i, replica on the next host.
BOOTSTRAP = {"shard1": (6379, "server1", "server2"), "shard2": (6380, "server2", "server1")}


def address(host, port):
    return f"{HOSTS[host]}:{port}"


def sentinel_addresses():
    return [address(host, port) for host in HOSTS for port in SENTINEL_PORTS]
