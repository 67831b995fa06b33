"""The scenario's hosts, ports, engine and bootstrap placement, read from the scenario that runs these tests
(the default scenario, or one that reuses its tests on another platform or engine)."""

import os
from pathlib import Path

import yaml

SCENARIO = Path(os.environ.get("MOLECULE_SCENARIO_DIRECTORY") or Path(__file__).resolve().parent.parent)
FAILOVER_MARKER = "/etc/shardinel-molecule-failover"


def _group_vars():
    merged = {}
    for path in sorted((SCENARIO / "group_vars" / "all").glob("*.yml")):
        merged.update(yaml.safe_load(path.read_text(encoding="utf-8")) or {})
    return merged


GROUP_VARS = _group_vars()
HOSTS = {path.stem: yaml.safe_load(path.read_text(encoding="utf-8"))["shardinel_announce_ip"]
         for path in sorted((SCENARIO / "host_vars").glob("*.yml"))}
FIRST, SECOND = list(HOSTS)
SENTINEL_PORTS = (26379, 26380)
# Bootstrap placement of the scenario: shard i's master on host i, replica on the next host.
BOOTSTRAP = {"shard1": (6379, FIRST, SECOND), "shard2": (6380, SECOND, FIRST)}
ENGINE = GROUP_VARS.get("shardinel_engine", "redis")
CLI = f"{ENGINE}-cli"
SERVICE_USER = ENGINE
CONFIG_DIR = f"/etc/{ENGINE}/shardinel"
DATA_DIR = f"/var/lib/{ENGINE}/shardinel"
SERVER_PROCESS = f"{ENGINE}-server"
SENTINEL_PROCESS = f"{ENGINE}-sentinel"


def address(host, port):
    return f"{HOSTS[host]}:{port}"


def sentinel_addresses():
    return [address(host, port) for host in HOSTS for port in SENTINEL_PORTS]
