"""The asyncio client on TLS-only Redis and Sentinel processes (plaintext ports closed)."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from async_writers import run
from failover_writer import tag_on
from redis_topology import RedisTopology
from shardinel import NoSentinelAvailableError
from shardinel.asyncio import ShardedSentinelClient


def tls_client(topology, **kwargs):
    return ShardedSentinelClient(topology.sentinel_addresses, **topology.client_kwargs(), **topology.tls_client_kwargs(),
                                 **kwargs)


def test_commands_pipelines_durable_writes_and_failovers_over_tls(tls_topology):
    topology = tls_topology
    prefix = uuid.uuid4().hex

    async def main():
        async with tls_client(topology, decode_responses=True, durable_writes=1, durable_timeout=2.0,
                              socket_timeout=5) as client:
            assert client.shards == topology.shard_names
            values = {f"{prefix}:{i}": str(i) for i in range(40)}
            assert {client.shard_for(key) for key in values} == set(client.shards)
            assert await client.mset(values)
            assert await client.mget(list(values)) == list(values.values())
            assert sorted([key async for key in client.scan_iter(match=f"{prefix}:*")]) == sorted(values)
            async with client.pipeline(transaction=False) as pipe:
                assert await pipe.get(f"{prefix}:1").incr(f"{prefix}:n").execute() == ["1", 1]
            async with client.pipeline() as pipe:
                assert await pipe.incr(f"{{{prefix}}}:a").incr(f"{{{prefix}}}:a").execute() == [1, 2]
            assert await client.wait_for_switch_listener(5)
            assert client.subscribed_sentinels == sorted(topology.sentinel_addresses)
            shard = "shard1"
            key = f"{{{tag_on(client, shard, prefix)}}}:after"
            old = await asyncio.to_thread(topology.force_failover, shard)
            new = await asyncio.to_thread(topology.settle_after_failover, shard, old)
            assert client.master_for_shard(shard) == new != old  # followed from the TLS event subscriptions
            assert await client.set(key, "after") and await client.get(key) == "after"
            assert await client.delete(*values, key, f"{prefix}:n", f"{{{prefix}}}:a") == len(values) + 3
        await asyncio.to_thread(topology.wait_until_sentinels_ready)
        with pytest.raises(NoSentinelAvailableError) as refused:
            await ShardedSentinelClient(topology.sentinel_addresses, follow_switch_events=False).initialize()
        assert "ssl=True" in str(refused.value) and refused.value.hint

    run(main(), timeout=120)


def test_mutual_tls_with_the_client_certificate(tmp_path):
    topology = RedisTopology.start(tmp_path / "mtls", shard_count=1, tls=True, tls_auth_clients="yes")

    async def main():
        with pytest.raises(NoSentinelAvailableError):
            await tls_client(topology, follow_switch_events=False).initialize()
        async with ShardedSentinelClient(topology.sentinel_addresses, **topology.client_kwargs(),
                                         **topology.tls_client_kwargs(client_cert=True)) as client:
            assert await client.wait_for_switch_listener(5) and client.subscribed_sentinels
            assert await client.set("mtls", "yes") and await client.get("mtls") == b"yes"

    try:
        run(main())
    finally:
        topology.stop()
