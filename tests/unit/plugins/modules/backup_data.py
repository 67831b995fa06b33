"""A known data set for the backup and restore tests, and what a topology holds (to show a restore put it back, or
that a refused one changed nothing)."""

from __future__ import annotations

import json
from typing import Any

from module_runner import connection_args  # pylint: disable=import-error
from redis_topology import RedisTopology

DATABASES = (0, 1)
PER_KIND = 25
TTL_S = 3600
LAYOUT = {"version": 3, "shards": ["shard1", "shard2"], "lease_s": 5.0}
WRITE_COMMANDS = ("restore", "swapdb", "flushdb", "flushall", "del", "unlink", "set", "hset", "rpush", "sadd", "zadd",
                  "xadd", "config|set", "acl|setuser", "replicaof", "slaveof", "shutdown")


def module_args(topology: RedisTopology, directory: Any, **extra: Any) -> dict[str, Any]:
    """backup / restore arguments: the discovery Sentinel user, the Redis admin user, the backup directory."""
    args = connection_args(topology)
    for option in ("connect_timeout", "socket_timeout"):
        del args[option]
    return dict(args, directory=str(directory), **extra)


def write_data_set(client: Any, db: int) -> dict[str, Any]:
    """Strings (one binary), hashes, lists, sets, sorted sets, streams and keys with a TTL, through a shardinel client
    on database ``db``; {key: the value as redis-py reads it back}."""
    expected: dict[str, Any] = {}
    for i in range(PER_KIND):
        tag = f"{db}:{i}"
        expected[f"s:{tag}"] = f"string {tag}".encode()
        client.set(f"s:{tag}", expected[f"s:{tag}"])
        expected[f"h:{tag}"] = {b"field": tag.encode(), b"n": str(i).encode()}
        client.hset(f"h:{tag}", mapping=expected[f"h:{tag}"])
        expected[f"l:{tag}"] = [f"item{j}".encode() for j in range(i % 5 + 1)]
        client.rpush(f"l:{tag}", *expected[f"l:{tag}"])
        expected[f"S:{tag}"] = {f"member{j}".encode() for j in range(i % 4 + 1)}
        client.sadd(f"S:{tag}", *expected[f"S:{tag}"])
        expected[f"z:{tag}"] = [(f"m{j}".encode(), float(j) + 0.5) for j in range(i % 3 + 1)]
        client.zadd(f"z:{tag}", dict(expected[f"z:{tag}"]))
        ids = [client.xadd(f"x:{tag}", {"event": str(j)}) for j in range(2)]
        expected[f"x:{tag}"] = [(entry_id, {b"event": str(j).encode()}) for j, entry_id in enumerate(ids)]
        expected[f"t:{tag}"] = f"expiring {tag}".encode()
        client.set(f"t:{tag}", expected[f"t:{tag}"], ex=TTL_S)
    binary = bytes(range(256))
    client.set(f"b:{db}", binary)
    expected[f"b:{db}"] = binary
    client.rpush(f"big:{db}", *[f"element {j}" for j in range(5000)])
    expected[f"big:{db}"] = [f"element {j}".encode() for j in range(5000)]
    return expected


def read_back(client: Any, key: str) -> Any:
    """A key's value as write_data_set records it."""
    kind = key.split(":", 1)[0]
    if kind in ("s", "t", "b"):
        return client.get(key)
    if kind == "h":
        return client.hgetall(key)
    if kind in ("l", "big"):
        return client.lrange(key, 0, -1)
    if kind == "S":
        return client.smembers(key)
    if kind == "z":
        return client.zrange(key, 0, -1, withscores=True)
    if kind == "x":
        return list(client.xrange(key))
    raise KeyError(key)


def value_of(client: Any, key: bytes) -> Any:
    """A key's type and value, comparable whatever order the server keeps a hash or a set in."""
    kind = client.type(key).decode()
    if kind == "string":
        return kind, client.get(key)
    if kind == "hash":
        return kind, client.hgetall(key)
    if kind == "list":
        return kind, client.lrange(key, 0, -1)
    if kind == "set":
        return kind, frozenset(client.smembers(key))
    if kind == "zset":
        return kind, client.zrange(key, 0, -1, withscores=True)
    if kind == "stream":
        return kind, client.xrange(key)
    raise AssertionError(f"unexpected type {kind} of {key!r}")


def holdings(topology: RedisTopology, address: tuple[str, int], skip_prefix: str = "w:") -> dict[tuple[int, bytes], Any]:
    """{(db, key): (type and value, absolute expiry in ms)} of every database of one instance (keys written by the
    writer thread left out)."""
    found: dict[tuple[int, bytes], Any] = {}
    for db in range(16):
        client = topology.redis_client(address, db=db)
        try:
            for key in client.scan_iter(count=1000):
                if key.startswith(skip_prefix.encode()):
                    continue
                found[(db, key)] = (value_of(client, key), client.execute_command("PEXPIRETIME", key))
        finally:
            client.close()
    return found


def everything(topology: RedisTopology) -> dict[str, Any]:
    """What every instance holds, its ACL users and run id, and each shard's master and config epochs."""
    state: dict[str, Any] = {}
    for shard in topology.shards:
        for member in shard.members:
            client = topology.redis_client(member.address)
            try:
                state[member.name] = dict(data=holdings(topology, member.address), acl=client.acl_list(),
                                          run_id=client.info("server")["run_id"])
            finally:
                client.close()
    state["sentinels"] = {shard.name: topology.sentinel_masters(shard.name) for shard in topology.shards}
    return state


def write_calls(topology: RedisTopology) -> dict[str, int]:
    """Calls of the write commands so far on every instance, by instance and command."""
    calls = {}
    for shard in topology.shards:
        for member in shard.members:
            client = topology.redis_client(member.address)
            try:
                stats = client.info("commandstats")
            finally:
                client.close()
            for command in WRITE_COMMANDS:
                calls[f"{member.name} {command}"] = int(stats.get(f"cmdstat_{command}", {}).get("calls", 0))
    return calls


def publish(topology: RedisTopology, layout: dict[str, Any], moving: int = 0) -> None:
    """Store a published layout (and a previous owner's mark) in database 15 of every master."""
    for shard in topology.shards:
        client = topology.redis_client(shard.master.address, db=15)
        try:
            client.set("shardinel:layout", json.dumps(layout))
            if moving:
                client.set("shardinel:moving", moving)
            client.execute_command("WAIT", 1, 2000)
        finally:
            client.close()
