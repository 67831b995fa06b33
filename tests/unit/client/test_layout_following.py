"""The client's side of resharding: following the published layout, pulling moving keys, the lease.

Layouts are written here with shardinel.layout.write_layout, as the reshard step writes them, on a
topology of three shards of which the published layouts name two or three.
"""

import threading
import time

import pytest

from shardinel import LayoutUnavailableError, ShardedSentinelClient, key_slot
from shardinel.layout import LAYOUT_DB, LAYOUT_KEY, Layout, mark_moving, write_layout

TWO = ["shard1", "shard2"]
THREE = ["shard1", "shard2", "shard3"]


def publish(topology, layout):
    for shard in topology.shards:
        client = topology.redis_client(topology.sentinel_masters(shard.name)[0] or shard.master.address, db=LAYOUT_DB)
        assert write_layout(client, layout, 1, 2.0) == 1
        client.close()


def mark(topology, layout):
    """What the reshard step does once the lease has passed: let clients pull keys off every master."""
    for shard in topology.shards:
        client = topology.redis_client(shard.master.address, db=LAYOUT_DB)
        assert mark_moving(client, layout.version, 1, 2.0) == 1
        client.close()


def wait_for_version(client, version, timeout=10.0):
    deadline = time.monotonic() + timeout
    while client.layout.version < version:
        assert time.monotonic() < deadline, f"the client still routes on {client.layout}, not version {version}"
        time.sleep(0.05)


def holders(topology, key):
    """Names of the shards whose master holds key."""
    found = []
    for shard in topology.shards:
        direct = topology.redis_client(shard.master.address)
        if direct.exists(key):
            found.append(shard.name)
        direct.close()
    return found


def moving_keys(layout, count, prefix):
    keys = []
    index = 0
    while len(keys) < count:
        key = f"{prefix}:{index}"
        if layout.is_moving(key_slot(key)):
            keys.append(key)
        index += 1
    return keys


@pytest.fixture()
def topology(topology_factory):
    return topology_factory(3)


def test_without_a_published_layout_the_client_routes_on_every_monitored_master(topology):
    with ShardedSentinelClient(topology.sentinel_addresses, **topology.client_kwargs()) as client:
        assert client.layout.version == 0
        assert client.shards == THREE


def test_a_published_layout_decides_the_shards_and_running_clients_follow_a_new_one(topology):
    publish(topology, Layout(1, TWO))
    with ShardedSentinelClient(topology.sentinel_addresses, **topology.client_kwargs()) as client, \
            ShardedSentinelClient(topology.sentinel_addresses, service_names=TWO, **topology.client_kwargs()) as fixed:
        assert (client.layout.version, client.shards) == (1, TWO)
        assert {client.shard_for(f"spread:{i}") for i in range(200)} == set(TWO)
        publish(topology, Layout(2, THREE))
        wait_for_version(client, 2)
        assert client.shards == THREE
        assert {client.shard_for(f"spread:{i}") for i in range(200)} == set(THREE)
        assert (fixed.layout.version, fixed.shards) == (0, TWO)


def test_while_keys_move_every_command_finds_them_on_their_new_owner(topology):
    publish(topology, Layout(1, TWO))
    migrating = Layout(2, THREE, TWO)
    keys = moving_keys(migrating, 40, "move")
    with ShardedSentinelClient(topology.sentinel_addresses, **topology.client_kwargs()) as client:
        for index, key in enumerate(keys):
            client.set(key, index, ex=3600)
        client.hset("{move:0}:h", mapping={"a": 1})
        client.set("{move:0}:n", 41)
        old_owners = {key: client.shard_for(key) for key in keys}
        publish(topology, migrating)
        wait_for_version(client, 2)
        # Until the previous owners are marked, commands on moving keys still run there.
        assert client.get(keys[0]) == b"0" and holders(topology, keys[0]) == [old_owners[keys[0]]]
        assert client.incr("{move:0}:n") == 42 and client.set("{move:0}:n", 41)
        mark(topology, migrating)
        # Reads pull the key first, so none misses; the TTL travels with it.
        assert client.mget(keys[:20]) == [str(i).encode() for i in range(20)]
        for key in keys[:20]:
            assert holders(topology, key) == [migrating.owners[key_slot(key)]] != [old_owners[key]]
            assert 3000 < client.ttl(key) <= 3600
        # A read-modify-write keeps the value it started from.
        assert client.incr("{move:0}:n") == 42
        assert client.hincrby("{move:0}:h", "a", 2) == 3
        # A delete is not undone by the copy left on the previous owner.
        assert client.delete(*keys[20:30]) == 10
        assert all(holders(topology, key) == [] for key in keys[20:30])
        # Pipelines and WATCH transactions pull their keys too.
        pipe = client.pipeline(transaction=False)
        for key in keys[30:35]:
            pipe.get(key)
        assert pipe.execute() == [str(i).encode() for i in range(30, 35)]
        with client.pipeline(transaction=True) as pipe:
            pipe.watch(keys[35])
            value = int(pipe.get(keys[35]))
            pipe.multi()
            pipe.set(keys[35], value + 100)
            pipe.execute()
        assert client.get(keys[35]) == b"135"
        assert holders(topology, keys[35]) == [migrating.owners[key_slot(keys[35])]]


def test_a_newer_copy_on_the_new_owner_wins_over_the_previous_owners(topology):
    publish(topology, Layout(1, TWO))
    migrating = Layout(2, THREE, TWO)
    key = moving_keys(migrating, 1, "busy")[0]
    old, new = migrating.previous_owners[key_slot(key)], migrating.owners[key_slot(key)]
    old_master = topology.redis_client(topology.shard(old).master.address)
    new_master = topology.redis_client(topology.shard(new).master.address)
    old_master.set(key, "stale")
    new_master.set(key, "fresh")
    publish(topology, migrating)
    mark(topology, migrating)
    with ShardedSentinelClient(topology.sentinel_addresses, **topology.client_kwargs()) as client:
        assert client.get(key) == b"fresh"
    assert (old_master.exists(key), new_master.get(key)) == (0, b"fresh")


def test_concurrent_readers_and_writers_of_moving_keys_lose_nothing(topology):
    publish(topology, Layout(1, TWO))
    migrating = Layout(2, THREE, TWO)
    keys = moving_keys(migrating, 200, "race")
    with ShardedSentinelClient(topology.sentinel_addresses, **topology.client_kwargs()) as client:
        for key in keys:
            client.set(key, 0)
        publish(topology, migrating)
        wait_for_version(client, 2)
        marker = threading.Timer(0.3, mark, (topology, migrating))
        marker.start()
        errors = []

        def increment(start):
            try:
                for key in keys[start::4]:
                    client.incr(key)
            except Exception as exc:  # pylint: disable=broad-except
                errors.append(exc)

        threads = [threading.Thread(target=increment, args=(i % 4,)) for i in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        marker.join()
        assert not errors
        assert client.mget(keys) == [b"2"] * len(keys)
        assert all(len(holders(topology, key)) == 1 for key in keys[:20])


def test_a_client_that_cannot_read_the_layout_refuses_keyed_commands_after_the_lease(topology):
    publish(topology, Layout(1, TWO, lease_s=1.0))
    with ShardedSentinelClient(topology.sentinel_addresses, **topology.client_kwargs()) as client:
        assert client.set("lease:key", 1)
        breakers = [topology.redis_client(shard.master.address, db=LAYOUT_DB) for shard in topology.shards]
        for breaker in breakers:
            breaker.set(LAYOUT_KEY, "not json")
        time.sleep(2.5)
        with pytest.raises(LayoutUnavailableError, match="could not be read"):
            client.get("lease:key")
        with pytest.raises(LayoutUnavailableError):
            client.pipeline().get("lease:key").execute()
        for breaker in breakers:
            breaker.delete(LAYOUT_KEY)
            breaker.close()
        publish(topology, Layout(3, TWO, lease_s=1.0))
        assert client.get("lease:key") == b"1"


def test_a_layout_naming_an_unmonitored_shard_is_not_followed(topology):
    publish(topology, Layout(1, TWO, lease_s=1.0))
    with ShardedSentinelClient(topology.sentinel_addresses, **topology.client_kwargs()) as client:
        publish(topology, Layout(2, TWO + ["nowhere"], lease_s=1.0))
        time.sleep(2.5)
        assert client.layout.version == 1
        with pytest.raises(LayoutUnavailableError, match="nowhere"):
            client.get("any")


def test_a_pipeline_on_moving_keys_waits_for_the_mark(topology):
    publish(topology, Layout(1, TWO))
    migrating = Layout(2, THREE, TWO)
    keys = moving_keys(migrating, 3, "wait")
    with ShardedSentinelClient(topology.sentinel_addresses, **topology.client_kwargs()) as client:
        for key in keys:
            client.set(key, key)
        publish(topology, migrating)
        wait_for_version(client, 2)
        marker = threading.Timer(0.5, mark, (topology, migrating))
        marker.start()
        pipe = client.pipeline(transaction=False)
        for key in keys:
            pipe.get(key)
        assert pipe.execute() == [key.encode() for key in keys]
        marker.join()
        assert all(holders(topology, key) == [migrating.owners[key_slot(key)]] for key in keys)
