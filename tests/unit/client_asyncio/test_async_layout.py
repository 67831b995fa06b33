"""The asyncio client follows the published layout: new layouts, keys pulled while a reshard moves them (migration
mode), and LayoutUnavailableError once the layout could not be read for its lease."""

from __future__ import annotations

import asyncio

import pytest

from async_writers import run
from test_layout_following import holders, mark, publish  # pylint: disable=import-error
from shardinel import LayoutUnavailableError, key_slot
from shardinel.asyncio import ShardedSentinelClient
from shardinel.layout import LAYOUT_DB, LAYOUT_KEY, Layout

TWO = ["shard1", "shard2"]
THREE = ["shard1", "shard2", "shard3"]


async def wait_for_version(client, version, timeout=10.0):
    async def until():
        while client.layout.version < version:
            await asyncio.sleep(0.05)
    await asyncio.wait_for(until(), timeout)


def test_layouts_are_followed_keys_are_pulled_while_they_move_and_the_lease_is_kept(topology_factory):
    topology = topology_factory(3)
    publish(topology, Layout(1, TWO, lease_s=2.0))
    migrating = Layout(2, THREE, TWO, lease_s=2.0)
    keys = []
    index = 0
    while len(keys) < 30:
        if migrating.is_moving(key_slot(f"move:{index}")):
            keys.append(f"move:{index}")
        index += 1

    async def main():
        async with ShardedSentinelClient(topology.sentinel_addresses, **topology.client_kwargs()) as client:
            assert (client.layout.version, client.shards) == (1, TWO)
            await client.mset({key: i for i, key in enumerate(keys)})
            await client.set("{move:0}:n", 41)
            old_owners = {key: client.shard_for(key) for key in keys}
            await asyncio.to_thread(publish, topology, migrating)
            await wait_for_version(client, 2)
            assert client.shards == THREE
            # Until the previous owners are marked, commands on moving keys run there.
            assert await client.get(keys[0]) == b"0"
            assert await asyncio.to_thread(holders, topology, keys[0]) == [old_owners[keys[0]]]
            await asyncio.to_thread(mark, topology, migrating)
            assert await client.mget(keys[:15]) == [str(i).encode() for i in range(15)]
            for key in keys[:15]:
                assert await asyncio.to_thread(holders, topology, key) == [migrating.owners[key_slot(key)]]
            assert await client.incr("{move:0}:n") == 42
            assert await client.delete(*keys[15:20]) == 5
            async with client.pipeline(transaction=False) as pipe:
                for key in keys[20:25]:
                    pipe.get(key)
                assert await pipe.execute() == [str(i).encode() for i in range(20, 25)]

            async def add_100(pipe):
                value = int(await pipe.get(keys[25]))
                pipe.multi()
                pipe.set(keys[25], value + 100)
            await client.transaction(add_100, keys[25])
            assert await client.get(keys[25]) == b"125"
            assert await asyncio.to_thread(holders, topology, keys[25]) == [migrating.owners[key_slot(keys[25])]]

            await asyncio.to_thread(publish, topology, Layout(3, THREE, lease_s=1.0))
            await wait_for_version(client, 3)
            breakers = [topology.redis_client(shard.master.address, db=LAYOUT_DB) for shard in topology.shards]
            for breaker in breakers:
                breaker.set(LAYOUT_KEY, "not json")
            await asyncio.sleep(2.5)
            with pytest.raises(LayoutUnavailableError, match="could not be read"):
                await client.get(keys[0])
            with pytest.raises(LayoutUnavailableError):
                await client.pipeline().get(keys[0]).execute()
            for breaker in breakers:
                breaker.delete(LAYOUT_KEY)
                breaker.close()
            await asyncio.to_thread(publish, topology, Layout(4, THREE, lease_s=1.0))
            assert await client.get(keys[0]) == b"0"

    run(main(), timeout=120)
