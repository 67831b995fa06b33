"""django-redis's RedisCache with CLIENT_CLASS shardinel_django.django_redis.ShardedSentinelClient on 3 shards.

A representative part of django-redis's own behaviour (its API and semantics), written for this project.
"""

from __future__ import annotations

import datetime

import pytest
from django_redis import get_redis_connection
from django_redis.cache import RedisCache

from shardinel import CrossShardError, ShardedSentinelClient

CLIENT_CLASS = "shardinel_django.django_redis.ShardedSentinelClient"


@pytest.fixture()
def dr_cache(make_cache):
    def make(**entry):
        options = {"CLIENT_CLASS": CLIENT_CLASS, **entry.pop("OPTIONS", {})}
        return make_cache(alias=entry.pop("alias", "djredis"), BACKEND="django_redis.cache.RedisCache", OPTIONS=options,
                          **entry)
    return make


def spread(cache, count=40, prefix="k"):
    keys = [f"{prefix}{i}" for i in range(count)]
    client = cache.client.get_client()
    assert {client.shard_for(cache.make_key(k)) for k in keys} == set(client.shards)
    return keys


def two_shards(cache, prefix="s"):
    """Two keys of this cache that live on different shards."""
    client = cache.client.get_client()
    first = f"{prefix}0"
    other = next(f"{prefix}{i}" for i in range(1, 100)
                 if client.shard_for(cache.make_key(f"{prefix}{i}")) != client.shard_for(cache.make_key(first)))
    return first, other


def test_backend_is_django_redis_on_the_sharded_client(dr_cache):
    cache = dr_cache()
    assert isinstance(cache, RedisCache)
    assert isinstance(get_redis_connection("djredis"), ShardedSentinelClient)
    assert cache.client.get_client(write=False) is cache.client.get_client(write=True)


def test_set_get_add_delete_nx_xx(dr_cache):
    cache = dr_cache()
    assert cache.get("missing", "dflt") == "dflt"
    assert cache.set("a", {"n": 1}) is True and cache.get("a") == {"n": 1}
    assert cache.add("a", 2) is False and cache.add("b", 2) is True
    assert cache.set("a", 3, nx=True) is False and cache.get("a") == {"n": 1}
    assert cache.set("c", 3, xx=True) is False and cache.get("c") is None
    assert cache.set("a", 4, xx=True) is True and cache.get("a") == 4
    assert cache.delete("a") is True and cache.delete("a") is False
    assert cache.has_key("b") and not cache.has_key("a")


def test_timeouts_ttl_persist_expire(dr_cache):
    cache = dr_cache(TIMEOUT=100)
    cache.set("default", 1)
    assert 0 < cache.ttl("default") <= 100 and 0 < cache.pttl("default") <= 100_000
    cache.set("forever", 1, timeout=None)
    assert cache.ttl("forever") is None and cache.pttl("forever") is None
    assert cache.ttl("missing") == 0
    cache.set("zero", 1, timeout=0)
    assert not cache.has_key("zero")
    assert cache.expire("forever", 20) and 0 < cache.ttl("forever") <= 20
    assert cache.persist("forever") and cache.ttl("forever") is None
    assert cache.pexpire("forever", 5000) and 0 < cache.pttl("forever") <= 5000
    assert cache.expire_at("forever", datetime.datetime.now() + datetime.timedelta(seconds=30))
    assert 0 < cache.ttl("forever") <= 30
    assert cache.pexpire_at("forever", datetime.datetime.now() + datetime.timedelta(seconds=40))
    assert 30 < cache.ttl("forever") <= 40
    assert cache.touch("forever", 10) and 0 < cache.ttl("forever") <= 10
    assert cache.touch("forever", None) and cache.ttl("forever") is None
    assert not cache.touch("missing", 10)


def test_incr_decr_and_incr_version(dr_cache):
    cache = dr_cache()
    cache.set("n", 1)
    assert cache.incr("n") == 2 and cache.incr("n", 10) == 12 and cache.decr("n", 2) == 10
    with pytest.raises(ValueError):
        cache.incr("missing")
    cache.set("v", "value", timeout=None)
    assert cache.incr_version("v") == 2
    assert cache.get("v") is None and cache.get("v", version=2) == "value"


def test_many_operations_across_shards(dr_cache):
    cache = dr_cache()
    keys = spread(cache)
    cache.set_many({k: k.upper() for k in keys}, timeout=60)
    assert cache.get_many(keys + ["absent"]) == {k: k.upper() for k in keys}
    assert all(0 < cache.ttl(k) <= 60 for k in keys)
    assert cache.delete_many(keys[:10]) == 10
    assert cache.get_many(keys) == {k: k.upper() for k in keys[10:]}


def test_keys_iter_keys_and_delete_pattern_span_every_shard(dr_cache):
    cache = dr_cache()
    keys = spread(cache, prefix="user:")
    cache.set_many(dict.fromkeys(keys, 1))
    cache.set("other", 1)
    assert sorted(cache.keys("user:*")) == sorted(keys)
    assert sorted(cache.iter_keys("user:*")) == sorted(keys)
    assert sorted(cache.keys("*")) == sorted(keys + ["other"])
    assert cache.delete_pattern("user:*") == len(keys)
    assert cache.keys("user:*") == [] and cache.get("other") == 1


def test_lock_on_every_shard(dr_cache):
    cache = dr_cache()
    for name in spread(cache, count=12, prefix="lock"):
        lock = cache.lock(name, timeout=5)
        assert lock.acquire(blocking=False)
        assert not cache.lock(name, timeout=5).acquire(blocking=False)
        assert lock.locked() and lock.owned()
        assert lock.extend(5) and 5 < cache.ttl(name) <= 10
        assert lock.reacquire()
        lock.release()
        assert not lock.locked()
    with cache.lock("ctx", timeout=5, blocking_timeout=1):
        assert cache.has_key("ctx")
    assert not cache.has_key("ctx")


def test_lock_blocks_until_released(dr_cache):
    cache = dr_cache()
    holder = cache.lock("busy", timeout=0.3)
    assert holder.acquire()
    waiter = cache.lock("busy", timeout=5, sleep=0.05, blocking_timeout=5)
    assert waiter.acquire()
    assert waiter.owned() and not holder.owned()
    waiter.release()


def test_clear_removes_only_this_cache_keys(dr_cache):
    mine = dr_cache(alias="dr-mine", KEY_PREFIX="drclear")
    other = dr_cache(alias="dr-other", KEY_PREFIX="drclear-not")
    keys = spread(mine)
    mine.set_many(dict.fromkeys(keys, 1))
    mine.set("versioned", 1, version=9)
    other.set_many(dict.fromkeys(keys, 2))
    mine.clear()
    assert mine.get_many(keys) == {} and mine.get("versioned", version=9) is None
    assert other.get_many(keys) == dict.fromkeys(keys, 2)
    other.clear()


def test_sets_hashes_sorted_sets_on_one_key(dr_cache):
    cache = dr_cache()
    assert cache.sadd("set", "a", "b", "c") == 3
    assert cache.smembers("set") == {"a", "b", "c"} and cache.scard("set") == 3
    assert cache.sismember("set", "a") and cache.srem("set", "a") == 1
    assert cache.hset("hash", "f1", "v1") == 1 and cache.hset("hash", "f2", "v2") == 1
    assert cache.hlen("hash") == 2 and sorted(cache.hkeys("hash")) == ["f1", "f2"]
    assert cache.hexists("hash", "f1") and cache.hdel("hash", "f1") == 1
    assert cache.zadd("z", {"x": 1.0, "y": 2.0}) == 2
    assert cache.zrange("z", 0, -1) == ["x", "y"] and cache.zscore("z", "y") == 2.0


def test_multi_key_set_commands_on_one_shard_work_and_across_shards_name_the_method(dr_cache):
    cache = dr_cache()
    cache.sadd("{team}:a", 1, 2, 3)
    cache.sadd("{team}:b", 2, 3, 4)
    assert cache.sinter("{team}:a", "{team}:b") == {2, 3}
    assert cache.sunion("{team}:a", "{team}:b") == {1, 2, 3, 4}
    first, other = two_shards(cache)
    cache.sadd(first, 1)
    cache.sadd(other, 1)
    for method, args in (("sinter", (first, other)), ("sunion", (first, other)), ("sdiff", (first, other)),
                         ("sinterstore", (first, first, other)), ("smove", (first, other, 1))):
        with pytest.raises(CrossShardError, match=rf"django-redis {method}\(\)"):
            getattr(cache, method)(*args)


def test_json_serializer(dr_cache):
    cache = dr_cache(OPTIONS={"SERIALIZER": "json"})
    cache.set("doc", {"a": [1, 2]})
    assert cache.get("doc") == {"a": [1, 2]}
    assert cache.client.get_client().get(cache.make_key("doc")) == b'{"a": [1, 2]}'
