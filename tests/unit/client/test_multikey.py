"""Multi-key split and merge, keyless fan-out, cross-shard errors."""

import pytest

from shardinel import CrossShardError, KeylessCommandError, ShardedSentinelClient


@pytest.fixture(scope="module")
def client(shared_topology):
    with ShardedSentinelClient(shared_topology.sentinel_addresses, **shared_topology.client_kwargs()) as c:
        yield c


@pytest.fixture(scope="module")
def admin(shared_topology):
    admin_user = shared_topology.users["admin"]
    kwargs = dict(shared_topology.client_kwargs(), username=admin_user.username, password=admin_user.password)
    with ShardedSentinelClient(shared_topology.sentinel_addresses, decode_responses=True, **kwargs) as c:
        yield c


def test_mset_mget_across_shards_keep_order(client):
    data = {f"multi:{i}": str(i) for i in range(200)}
    assert client.mset(data)
    assert len({client.shard_for(k) for k in data}) == 3
    keys = list(data) + ["multi:missing"]
    assert client.mget(keys) == [v.encode() for v in data.values()] + [None]
    assert client.mget([]) == [] if hasattr(client, "mget") else True


def test_counting_commands_sum_over_shards(client):
    keys = [f"count:{i}" for i in range(50)]
    client.mset({k: 1 for k in keys})
    assert client.exists(*keys, "count:none") == 50
    assert client.touch(*keys) == 50
    assert client.unlink(*keys[:20]) == 20
    assert client.delete(*keys) == 30
    assert client.exists(*keys) == 0


def test_keyless_fanout(admin):
    keys = [f"fan:{i}" for i in range(30)]
    admin.mset({k: "x" for k in keys})
    assert admin.ping() is True
    assert sorted(admin.keys("fan:*")) == sorted(keys)
    assert sorted(admin.scan_iter(match="fan:*", count=7)) == sorted(keys)
    assert admin.dbsize() >= 30
    with pytest.raises(KeylessCommandError, match="INFO .*one server's own state.*shard_client"):
        admin.info("server")
    assert all(admin.shard_client(name).info("server")["redis_version"] for name in admin.shards)


def test_cross_shard_commands_name_the_shards(client):
    a, b = "cross:a", next(f"cross:b{i}" for i in range(100) if client.shard_for(f"cross:b{i}") != client.shard_for("cross:a"))
    with pytest.raises(CrossShardError) as raised:
        client.rename(a, b)
    assert client.shard_for(a) in str(raised.value) and client.shard_for(b) in str(raised.value)
    with pytest.raises(CrossShardError, match="SUNIONSTORE"):
        client.sunionstore(a, [b])
    with pytest.raises(KeylessCommandError, match="CONFIG GET"):
        client.config_get("maxmemory")


def test_movable_key_commands(client):
    client.delete("{z}a", "{z}b", "{z}out")
    client.zadd("{z}a", {"m": 1})
    client.zadd("{z}b", {"m": 2})
    assert client.zunionstore("{z}out", ["{z}a", "{z}b"]) == 1
    assert client.zscore("{z}out", "m") == 3.0
    assert client.eval("return redis.call('incr', KEYS[1])", 1, "{z}counter") >= 1
