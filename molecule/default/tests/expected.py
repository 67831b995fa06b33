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
TLS = bool(GROUP_VARS.get("shardinel_tls", False))
TLS_ONLY = TLS and bool(GROUP_VARS.get("shardinel_tls_only", False))
TLS_DIR = f"/etc/{ENGINE}/shardinel-tls"
# What the command-line tool needs to reach the scenario's instances and Sentinels.
CLI_TLS_ARGS = ["--tls", "--cacert", f"{TLS_DIR}/ca.crt"] if TLS else []


# Metrics (role redis_exporter): on where the scenario's group_vars give the monitor user a password.
MONITOR_PASSWORD = GROUP_VARS.get("shardinel_monitor_password", "")
EXPORTER = bool(MONITOR_PASSWORD)
EXPORTER_PORT = int(GROUP_VARS.get("redis_exporter_port", 9121))
EXPORTER_SENTINEL_PORT = int(GROUP_VARS.get("redis_exporter_sentinel_port", 9321))


def address(host, port):
    return f"{HOSTS[host]}:{port}"


def sentinel_addresses():
    return [address(host, port) for host in HOSTS for port in SENTINEL_PORTS]
