"""Reads of the live topology from the controller (admin users, loopback addresses) and waits for it to settle."""

from __future__ import annotations

import threading
import time
from typing import Any, Optional

import redis

from scenario import DATA_HOSTS, IPS, SECRETS, SENTINELS, SHARDS, instance, label

_CLIENTS: dict[tuple[str, int], redis.Redis] = {}
_LOCK = threading.Lock()


def _client(address: tuple[str, int], sentinel: bool) -> redis.Redis:
    with _LOCK:
        if address not in _CLIENTS:
            user, password = (("sentinel-admin", SECRETS["shardinel_sentinel_admin_password"]) if sentinel
                              else ("admin", SECRETS["shardinel_admin_password"]))
            _CLIENTS[address] = redis.Redis(host=address[0], port=address[1], username=user, password=password,
                                            socket_timeout=1.0, socket_connect_timeout=1.0, decode_responses=True)
        return _CLIENTS[address]


def redis_admin(address: tuple[str, int]) -> redis.Redis:
    return _client(address, sentinel=False)


def sentinel_admin(address: tuple[str, int]) -> redis.Redis:
    return _client(address, sentinel=True)


def ask(call: Any) -> Any:
    """call() or None when the process does not answer (down, frozen, cut off)."""
    try:
        return call()
    except (redis.RedisError, OSError):
        return None


def role(address: tuple[str, int]) -> Optional[list]:
    return ask(lambda: redis_admin(address).execute_command("ROLE"))


def sentinel_master(sentinel: tuple[str, int], shard: str) -> Optional[tuple[str, int]]:
    reply = ask(lambda: sentinel_admin(sentinel).execute_command("SENTINEL", "GET-MASTER-ADDR-BY-NAME", shard))
    return (reply[0], int(reply[1])) if reply else None


def tilted_sentinels() -> list[str]:
    """Sentinels in TILT mode (they do not vote until it ends, 30 s after the stall)."""
    out = []
    for sentinel in SENTINELS:
        info = ask(lambda s=sentinel: sentinel_admin(s).info("sentinel"))
        if info is not None and int(info.get("sentinel_tilt", 0)):
            out.append(label(sentinel))
    return out


def masters() -> dict[str, list[str]]:
    """For each shard, the hosts whose instance answers ROLE as master."""
    out: dict[str, list[str]] = {}
    for shard in SHARDS:
        out[shard] = []
        for host in DATA_HOSTS:
            reply = role(instance(host, shard))
            if reply and reply[0] == "master":
                out[shard].append(host)
    return out


def _shard_problems(shard: str) -> list[str]:
    problems = []
    views = {label(s): sentinel_master(s, shard) for s in SENTINELS}
    known = {v for v in views.values() if v is not None}
    if len(known) != 1 or None in views.values():
        return [f"{shard}: Sentinels disagree or do not answer: {views}"]
    master = known.pop()
    master_role = role(master)
    if not master_role or master_role[0] != "master":
        return [f"{shard}: Sentinels name {label(master)} but it answers ROLE {master_role}"]
    for host in DATA_HOSTS:
        address = instance(host, shard)
        if address == master:
            continue
        reply = role(address)
        if not reply or reply[0] != "slave" or (reply[1], int(reply[2])) != master or reply[3] != "connected":
            problems.append(f"{shard}: {label(address)} is not a connected replica of {label(master)}: ROLE {reply}")
        elif master_role[1] - int(reply[4]) > 0:
            problems.append(f"{shard}: replica {label(address)} is {master_role[1] - int(reply[4])} bytes behind")
    for sentinel in SENTINELS:
        others = ask(lambda s=sentinel: sentinel_admin(s).execute_command("SENTINEL", "SENTINELS", shard))
        if others is None:
            problems.append(f"{shard}: Sentinel {label(sentinel)} does not answer SENTINEL SENTINELS")
            continue
        flags = [(o if isinstance(o, dict) else dict(zip(o[::2], o[1::2]))).get("flags", "") for o in others]
        down = [f for f in flags if "s_down" in f or "disconnected" in f]
        if len(flags) != len(SENTINELS) - 1 or down:
            problems.append(f"{shard}: Sentinel {label(sentinel)} sees {len(flags)} other Sentinels, flags {flags}")
    return problems


def problems(tilt_allowed: bool = False) -> list[str]:
    """Why the topology is not settled: one master per shard that every Sentinel names, its replica connected
    and caught up, every Sentinel seeing every other one, and (unless tilt_allowed) no Sentinel in TILT."""
    out = [p for shard in SHARDS for p in _shard_problems(shard)]
    if not tilt_allowed:
        out += [f"Sentinel {s} is in TILT" for s in tilted_sentinels()]
    return out


def wait_settled(timeout: float, tilt_allowed: bool = False) -> float:
    """Seconds it took to settle; RuntimeError naming what is still wrong after timeout."""
    started = time.monotonic()
    while True:
        found = problems(tilt_allowed)
        if not found:
            return time.monotonic() - started
        if time.monotonic() - started > timeout:
            raise RuntimeError(f"topology not settled after {timeout:.0f} s: " + "; ".join(found))
        time.sleep(0.5)


def layout() -> dict[str, str]:
    """{shard: host of its master} as the reference Sentinels see it (first answering Sentinel)."""
    out = {}
    for shard in SHARDS:
        for sentinel in SENTINELS:
            address = sentinel_master(sentinel, shard)
            if address is not None:
                out[shard] = next(h for h, ip in IPS.items() if ip == address[0])
                break
    return out
