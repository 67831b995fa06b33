"""The witness scenario's hosts, addresses, shards and secrets, read from its molecule.yml and inventory vars."""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

SCENARIO = Path(__file__).resolve().parent.parent
ROOT = SCENARIO.parent.parent
# The client package and the writer thread the unit tests and benchmarks use.
sys.path[:0] = [str(ROOT / "plugins" / "module_utils"), str(ROOT / "tests" / "unit" / "client")]


def _load(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8")) or {}


_PLATFORMS = _load(SCENARIO / "molecule.yml")["platforms"]
_TOPOLOGY = _load(SCENARIO / "group_vars" / "all" / "topology.yml")
SECRETS = _load(SCENARIO / "group_vars" / "all" / "test-secrets.yml")
_HOST_VARS = {path.stem: _load(path) for path in sorted((SCENARIO / "host_vars").glob("*.yml"))}

DATA_HOSTS = [p["name"] for p in _PLATFORMS if "redis_servers" in p["groups"]]
SENTINEL_HOSTS = [p["name"] for p in _PLATFORMS if "redis_sentinels" in p["groups"]]
WITNESS = next(h for h in SENTINEL_HOSTS if h not in DATA_HOSTS)
IPS = {host: str(_HOST_VARS[host]["shardinel_announce_ip"]) for host in SENTINEL_HOSTS}
HOST_OF_IP = {ip: host for host, ip in IPS.items()}

# shardinel_shards lists names only, so shard i listens on 6379 + i (the role's shardinel_redis_port default).
SHARDS = {shard["name"]: 6379 + index for index, shard in enumerate(_TOPOLOGY["shardinel_shards"])}
DOWN_AFTER_S = _TOPOLOGY["shardinel_sentinel_down_after_milliseconds"] / 1000
FAILOVER_TIMEOUT_S = _TOPOLOGY["shardinel_sentinel_failover_timeout"] / 1000

SENTINELS = [(IPS[host], 26379 + k) for host in SENTINEL_HOSTS
             for k in range(int(_HOST_VARS[host].get("shardinel_sentinel_count", 2)))]
# The witness is on the majority side of every drill: its view is the reference for "failed over".
REFERENCE_SENTINEL = (IPS[WITNESS], 26379)


def instance(host: str, shard: str) -> tuple[str, int]:
    return (IPS[host], SHARDS[shard])


def label(address: tuple[str, int]) -> str:
    return f"{HOST_OF_IP.get(address[0], address[0])}:{address[1]}"
