"""Routing, hash tags and mapping stability against the shared topology."""

import pytest

from shardinel import DisredisClient, ShardedSentinelClient, UnknownShardError


@pytest.fixture(scope="module")
def client(shared_topology):
    with ShardedSentinelClient(shared_topology.sentinel_addresses, **shared_topology.client_kwargs()) as c:
        yield c


def test_shards_are_the_monitored_masters(client, shared_topology):
    assert client.shards == sorted(shared_topology.shard_names)
    for shard in shared_topology.shards:
        assert client.master_for_shard(shard.name) == shard.master.address


def test_keys_land_on_the_master_of_their_shard(client, shared_topology):
    keys = [f"route:{i}" for i in range(60)]
    for key in keys:
        assert client.set(key, key)
    used = set()
    for key in keys:
        shard = client.shard_for(key)
        used.add(shard)
        direct = shared_topology.redis_client(client.master_for_shard(shard), role="app")
        assert direct.get(key) == key.encode()
        direct.close()
        assert client.get(key) == key.encode()
    assert used == set(client.shards)


def test_hash_tags_keep_keys_together(client):
    assert len({client.shard_for(f"{{order:7}}:{part}") for part in ("lines", "total", "owner")}) == 1
    assert client.mset({"{order:7}:a": 1, "{order:7}:b": 2})
    assert client.rename("{order:7}:a", "{order:7}:c")
    assert client.mget(["{order:7}:b", "{order:7}:c"]) == [b"2", b"1"]


def test_mapping_is_the_same_from_every_sentinel_and_order(shared_topology):
    keys = [f"stable:{i}" for i in range(2000)]
    addresses = shared_topology.sentinel_addresses
    variants = [addresses, list(reversed(addresses)), [addresses[1]], [tuple(addresses[2].split(":"))]]
    mappings = []
    for variant in variants:
        with DisredisClient(variant, **shared_topology.client_kwargs()) as c:
            mappings.append([c.shard_for(k) for k in keys])
    assert all(m == mappings[0] for m in mappings)


def test_service_names_subset_and_unknown(shared_topology):
    kwargs = shared_topology.client_kwargs()
    with ShardedSentinelClient(shared_topology.sentinel_addresses, service_names=["shard2"], **kwargs) as c:
        assert c.shards == ["shard2"] and c.shard_for("anything") == "shard2"
    with pytest.raises(UnknownShardError, match="nope"):
        ShardedSentinelClient(shared_topology.sentinel_addresses, service_names=["nope"], **kwargs)


@pytest.mark.parametrize("kwargs, argument", [
    ({"sentinels": "127.0.0.1:1"}, "sentinels"),
    ({"sentinels": ["localhost"]}, "sentinels"),
    ({"sentinels": ["127.0.0.1:99999"]}, "sentinels"),
    ({"sentinels": []}, "sentinels"),
    ({"sentinels": ["127.0.0.1:1"], "service_names": "shard1"}, "service_names"),
    ({"sentinels": ["127.0.0.1:1"], "failover_timeout": 0}, "failover_timeout"),
    ({"sentinels": ["127.0.0.1:1"], "host": "x"}, "host"),
])
def test_bad_arguments_name_the_argument(kwargs, argument):
    with pytest.raises(ValueError, match=argument):
        ShardedSentinelClient(**kwargs)
