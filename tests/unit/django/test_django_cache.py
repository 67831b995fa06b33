"""ShardedSentinelCache: Django's cache API semantics on the shared 3-shard topology (each test its own KEY_PREFIX)."""

from __future__ import annotations

import asyncio
import datetime
import threading
import time
from decimal import Decimal

import pytest
from django.core.cache import caches
from django.core.cache.backends.base import CacheKeyWarning

from shardinel import ShardedSentinelClient


def commandstats(topology, client, *commands):
    """Calls of each command summed over the masters, from INFO commandstats (admin user)."""
    totals = dict.fromkeys(commands, 0)
    for shard in client.shards:
        admin = topology.redis_client(client.master_for_shard(shard))
        stats = admin.info("commandstats")
        admin.close()
        for command in commands:
            totals[command] += stats.get(f"cmdstat_{command}", {}).get("calls", 0)
    return totals


def keys_on_every_shard(cache, count=60, prefix="k"):
    keys = [f"{prefix}{i}" for i in range(count)]
    shards = {cache.client.shard_for(cache.make_key(key)) for key in keys}
    assert shards == set(cache.client.shards)
    return keys


def pttl(cache, key, version=None):
    return cache.client.pttl(cache.make_key(key, version=version))


def test_get_set_add_delete_has_key(make_cache):
    cache = make_cache()
    assert cache.get("missing") is None
    assert cache.get("missing", "fallback") == "fallback"
    cache.set("a", {"x": [1, 2]})
    assert cache.get("a") == {"x": [1, 2]}
    assert cache.has_key("a") and "a" in cache and not cache.has_key("missing")
    assert cache.add("a", "other") is False
    assert cache.get("a") == {"x": [1, 2]}
    assert cache.add("b", "new") is True and cache.get("b") == "new"
    assert cache.delete("a") is True
    assert cache.delete("a") is False
    assert cache.get("a") is None


def test_values_round_trip_with_pickle(make_cache):
    cache = make_cache()
    values = {
        "int": 42, "big": 2 ** 70, "negative": -7, "float": 1.5, "true": True, "false": False, "str": "héllo",
        "bytes": b"\x80\x00raw", "list": [1, "two", None], "tuple": (1, 2), "set": {3, 4}, "decimal": Decimal("1.10"),
        "datetime": datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc), "empty": "",
    }
    for key, value in values.items():
        cache.set(key, value)
    for key, value in values.items():
        got = cache.get(key)
        assert got == value and type(got) is type(value), key
    assert cache.client.get(cache.make_key("int")) == b"42"


def test_values_round_trip_with_json(make_cache):
    cache = make_cache(OPTIONS={"SERIALIZER": "json"})
    cache.set("doc", {"a": [1, 2.5, "x", None, True]})
    assert cache.get("doc") == {"a": [1, 2.5, "x", None, True]}
    assert cache.client.get(cache.make_key("doc")) == b'{"a":[1,2.5,"x",null,true]}'
    cache.set("n", 5)
    assert cache.incr("n", 3) == 8 and cache.get("n") == 8


def test_timeout_none_keeps_forever_zero_expires_now_default_is_timeout(make_cache):
    cache = make_cache(TIMEOUT=120)
    cache.set("default", 1)
    assert 0 < pttl(cache, "default") <= 120_000
    cache.set("forever", 1, timeout=None)
    assert pttl(cache, "forever") == -1
    cache.set("half", 1, timeout=1.5)
    assert 0 < pttl(cache, "half") <= 1500
    cache.set("zero", 1, timeout=0)
    assert not cache.has_key("zero")
    cache.set("forever", 2, timeout=0)
    assert cache.get("forever") is None
    cache.set("negative", 1, timeout=-5)
    assert not cache.has_key("negative")
    assert cache.add("zero", 1, timeout=0) is True and not cache.has_key("zero")
    cache.set("present", 1)
    assert cache.add("present", 2, timeout=0) is False and cache.get("present") == 1
    cache.set("short", 1, timeout=0.2)
    time.sleep(0.4)
    assert cache.get("short") is None


def test_default_timeout_none_means_forever(make_cache):
    cache = make_cache(TIMEOUT=None)
    cache.set("k", 1)
    assert pttl(cache, "k") == -1
    assert cache.add("k2", 1) and pttl(cache, "k2") == -1


def test_touch(make_cache):
    cache = make_cache(TIMEOUT=60)
    assert cache.touch("missing") is False
    cache.set("k", 1, timeout=None)
    assert cache.touch("k", 30) is True and 0 < pttl(cache, "k") <= 30_000
    assert cache.touch("k") is True and 30_000 < pttl(cache, "k") <= 60_000
    assert cache.touch("k", None) is True and pttl(cache, "k") == -1
    assert cache.touch("k", None) is True and pttl(cache, "k") == -1
    assert cache.touch("missing", None) is False
    assert cache.touch("k", 0) is True and not cache.has_key("k")


def test_key_prefix_version_and_incr_version(make_cache):
    cache = make_cache(KEY_PREFIX="app1", VERSION=3)
    cache.set("k", "v3")
    assert cache.client.get("app1:3:k") is not None
    cache.set("k", "v2", version=2)
    assert cache.get("k") == "v3" and cache.get("k", version=2) == "v2"
    cache.set("k", "ttl", timeout=None)
    assert cache.incr_version("k") == 4
    assert cache.get("k") is None and cache.get("k", version=4) == "ttl"
    assert cache.decr_version("k", version=4) == 3 and cache.get("k") == "ttl"
    with pytest.raises(ValueError):
        cache.incr_version("missing")
    cache.clear()


def key_function(key, key_prefix, version):
    return f"custom|{key_prefix}|{version}|{key}"


def test_key_function(make_cache):
    cache = make_cache(KEY_PREFIX="kf", KEY_FUNCTION=f"{__name__}.key_function")
    cache.set("a", 1)
    assert cache.client.get("custom|kf|1|a") == b"1"
    assert cache.get_many(["a", "b"]) == {"a": 1}
    cache.clear()
    assert cache.client.get("custom|kf|1|a") is None


def test_memcached_unsafe_key_warns_like_django(make_cache):
    cache = make_cache()
    with pytest.warns(CacheKeyWarning):
        cache.set("with space", 1)
    with pytest.warns(CacheKeyWarning):
        assert cache.get("with space") == 1


def test_get_many_set_many_delete_many_are_split_by_shard(make_cache, django_topology):
    cache = make_cache()
    keys = keys_on_every_shard(cache)
    client = cache.client
    before = commandstats(django_topology, client, "mset", "mget", "set", "get", "del")
    assert cache.set_many({key: f"v{key}" for key in keys}, timeout=None) == []
    middle = commandstats(django_topology, client, "mset", "mget", "set", "get", "del")
    assert cache.get_many(keys + ["absent"]) == {key: f"v{key}" for key in keys}
    cache.delete_many(keys[:30])
    after = commandstats(django_topology, client, "mset", "mget", "set", "get", "del")
    shards = len(client.shards)
    assert middle["mset"] - before["mset"] == shards and middle["set"] == before["set"]
    assert after["mget"] - middle["mget"] == shards and after["get"] == middle["get"]
    assert after["del"] - middle["del"] <= shards
    assert cache.get_many(keys) == {key: f"v{key}" for key in keys[30:]}
    assert cache.get_many([]) == {} and cache.set_many({}) == []
    cache.delete_many([])


def test_set_many_with_timeout_sets_every_ttl(make_cache):
    cache = make_cache()
    keys = keys_on_every_shard(cache, prefix="t")
    cache.set_many(dict.fromkeys(keys, 1), timeout=50)
    assert all(0 < pttl(cache, key) <= 50_000 for key in keys)
    cache.set_many(dict.fromkeys(keys, 2))
    assert all(0 < pttl(cache, key) <= 300_000 for key in keys)
    cache.set_many(dict.fromkeys(keys, 3), timeout=None)
    assert all(pttl(cache, key) == -1 for key in keys)
    cache.set_many(dict.fromkeys(keys, 4), timeout=0)
    assert cache.get_many(keys) == {}


def test_incr_decr_are_atomic_and_keep_the_ttl(make_cache):
    cache = make_cache()
    with pytest.raises(ValueError, match="'missing' not found"):
        cache.incr("missing")
    assert not cache.has_key("missing")
    cache.set("n", 10, timeout=100)
    assert cache.incr("n") == 11 and cache.incr("n", 5) == 16 and cache.decr("n", 20) == -4
    assert cache.get("n") == -4 and 0 < pttl(cache, "n") <= 100_000
    cache.set("counter", 0)

    def count_to_100():
        for _step in range(100):
            cache.incr("counter")
    threads = [threading.Thread(target=count_to_100) for _thread in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert cache.get("counter") == 400


def test_get_or_set(make_cache):
    cache = make_cache()
    assert cache.get_or_set("k", lambda: "computed") == "computed"
    assert cache.get_or_set("k", "other") == "computed"
    assert cache.get_or_set("short", "x", timeout=30) == "x" and 0 < pttl(cache, "short") <= 30_000


def test_clear_removes_only_this_cache_keys_on_every_shard(make_cache):
    mine = make_cache(alias="mine", KEY_PREFIX="clear-me")
    other = make_cache(alias="other", KEY_PREFIX="clear-me-not")
    keys = keys_on_every_shard(mine)
    mine.set_many(dict.fromkeys(keys, 1))
    mine.set_many(dict.fromkeys(keys, 1), version=7)
    other.set_many(dict.fromkeys(keys, 2))
    mine.client.set("clear-me-raw", 3)
    assert mine.clear() is True
    assert mine.get_many(keys) == {} and mine.get_many(keys, version=7) == {}
    assert not list(mine.client.scan_iter(match="clear-me:*"))
    assert other.get_many(keys) == dict.fromkeys(keys, 2)
    assert mine.client.get("clear-me-raw") == b"3"
    other.clear()
    mine.client.delete("clear-me-raw")


def test_one_client_per_process_and_settings(make_cache):
    first = make_cache(alias="one", KEY_PREFIX="p1")
    second = make_cache(alias="two", KEY_PREFIX="p2")
    assert isinstance(first.client, ShardedSentinelClient)
    assert first.client is second.client
    other_thread = []

    def in_thread():
        backend = caches["one"]
        other_thread.append((backend is first, backend.client))
    thread = threading.Thread(target=in_thread)
    thread.start()
    thread.join()
    assert other_thread == [(False, first.client)]
    first.close()
    assert first.get("after-close", "ok") == "ok"


def test_durable_writes_and_read_from_replicas_reach_the_client(make_cache, django_topology):
    cache = make_cache(OPTIONS={"DURABLE_WRITES": 1, "DURABLE_TIMEOUT": 2, "READ_FROM_REPLICAS": True})
    client = cache.client
    shard = django_topology.shard(client.shard_for(cache.make_key("d")))
    master, replica = client.master_for_shard(shard.name), next(
        m.address for m in shard.members if m.address != client.master_for_shard(shard.name))
    waits, master_gets = calls(django_topology, master, "wait"), calls(django_topology, master, "get")
    replica_gets = calls(django_topology, replica, "get")
    cache.set("d", "durable")
    assert cache.get("d") == "durable"
    assert calls(django_topology, master, "wait") > waits, "DURABLE_WRITES: the SET was followed by WAIT"
    assert calls(django_topology, replica, "get") > replica_gets, "READ_FROM_REPLICAS: the GET went to the replica"
    assert calls(django_topology, master, "get") == master_gets


def calls(topology, address, command):
    admin = topology.redis_client(address)
    stats = admin.info("commandstats")
    admin.close()
    return stats.get(f"cmdstat_{command}", {}).get("calls", 0)


def test_async_variants(make_cache):
    cache = make_cache()
    keys = keys_on_every_shard(cache, count=30, prefix="a")

    async def scenario():
        await cache.aset("k", "v")
        assert await cache.aget("k") == "v"
        assert await cache.aadd("k", "w") is False
        assert await cache.ahas_key("k") and not await cache.ahas_key("nope")
        assert await cache.atouch("k", 10) and 0 < pttl(cache, "k") <= 10_000
        await cache.aset_many(dict.fromkeys(keys, 1), timeout=None)
        assert await cache.aget_many(keys) == dict.fromkeys(keys, 1)
        await cache.adelete_many(keys)
        assert await cache.aget_many(keys) == {}
        await cache.aset("n", 1)
        assert await cache.aincr("n", 4) == 5 and await cache.adecr("n") == 4
        assert await cache.aget_or_set("g", "x") == "x"
        assert await cache.aincr_version("g") == 2
        assert await cache.adelete("k") is True
        await cache.aclear()
        assert await cache.aget("n") is None
    asyncio.run(scenario())
