"""shardinel.asyncio's client on the shared 3-shard topology: routing, split and fan-out commands, SCAN, refusals,
pipelines, transactions, pub/sub, locks, durable writes, replica reads, closing; the same answers as the sync client."""

from __future__ import annotations

import asyncio
import signal
import uuid

import pytest
import redis

from async_writers import run
from test_credentials_and_resources import _sockets  # pylint: disable=import-error
from shardinel import CrossShardError, DurabilityError, KeylessCommandError
from shardinel import ShardedSentinelClient as SyncClient
from shardinel.asyncio import ShardedSentinelClient


def prefix() -> str:
    return f"as{uuid.uuid4().hex[:8]}"


def test_keys_route_as_with_the_sync_client_and_split_commands_merge(shared_topology):
    p = prefix()
    keys = [f"{p}:{i}" for i in range(300)]

    async def main():
        async with ShardedSentinelClient(shared_topology.sentinel_addresses, **shared_topology.client_kwargs()) as r:
            assert r.shards == ["shard1", "shard2", "shard3"]
            assert await r.mset({key: i for i, key in enumerate(keys)}) is True
            assert await r.mget(keys + [f"{p}:missing"]) == [str(i).encode() for i in range(300)] + [None]
            assert await r.exists(*keys[:50]) == 50
            assert await r.set(f"{{{p}}}:one", "x", ex=60) and await r.get(f"{{{p}}}:one") == b"x"
            assert await r.incr(f"{p}:n") == 1 and await r.hset(f"{p}:h", mapping={"a": 1}) == 1
            assert await r.ping() is True and await r.echo("hi") == b"hi"
            assert await r.dbsize() >= 300
            assert await r.delete(*keys[:100]) == 100
            return {key: r.shard_for(key) for key in keys}

    routes = run(main())
    with SyncClient(shared_topology.sentinel_addresses, **shared_topology.client_kwargs()) as sync:
        assert routes == {key: sync.shard_for(key) for key in keys}
        assert set(routes.values()) == {"shard1", "shard2", "shard3"}
        assert sync.mget(keys[98:102]) == [None, None, b"100", b"101"]


def test_scan_walks_every_shard_and_refusals_match_the_sync_client(shared_topology):
    p = prefix()
    apart = ("a{0}", "a{3}")  # shard3 and shard1

    async def main():
        async with ShardedSentinelClient(shared_topology.sentinel_addresses, **shared_topology.client_kwargs()) as r:
            await r.mset({f"{p}:{i}": i for i in range(120)})
            found = [key async for key in r.scan_iter(match=f"{p}:*", count=50)]
            assert sorted(found) == sorted(f"{p}:{i}".encode() for i in range(120))
            cursor, first = await r.scan(0, match=f"{p}:*", count=1000)
            assert len(first) == 120 and cursor == 0
            errors = []
            assert r.shard_for(apart[0]) != r.shard_for(apart[1])
            for call in (lambda: r.rename(*apart), r.info, lambda: r.client_setname("x"),
                         lambda: r.eval("return 1", 0)):
                with pytest.raises((CrossShardError, KeylessCommandError)) as raised:
                    await call()
                errors.append((type(raised.value), str(raised.value)))
            return errors

    errors = run(main())
    with SyncClient(shared_topology.sentinel_addresses, **shared_topology.client_kwargs()) as sync:
        expected = []
        for call in (lambda: sync.rename(*apart), sync.info, lambda: sync.client_setname("x"),
                     lambda: sync.eval("return 1", 0)):
            with pytest.raises((CrossShardError, KeylessCommandError)) as raised:
                call()
            expected.append((type(raised.value), str(raised.value)))
    assert errors == expected


def test_pipelines_group_by_shard_and_transactions_stay_on_one(shared_topology):
    p = prefix()

    async def main():
        async with ShardedSentinelClient(shared_topology.sentinel_addresses, **shared_topology.client_kwargs()) as r:
            async with r.pipeline(transaction=False) as pipe:
                for i in range(60):
                    pipe.set(f"{p}:{i}", i)
                pipe.mget([f"{p}:{i}" for i in range(5)]).incr(f"{p}:counter").lpush(f"{p}:0", "x")
                results = await pipe.execute(raise_on_error=False)
            assert results[:60] == [True] * 60 and results[60] == [b"0", b"1", b"2", b"3", b"4"] and results[61] == 1
            assert isinstance(results[62], redis.ResponseError)
            async with r.pipeline() as pipe:
                pipe.set(f"{{{p}}}:a", 1).incr(f"{{{p}}}:a").get(f"{{{p}}}:a")
                assert await pipe.execute() == [True, 2, b"2"]
            with pytest.raises(CrossShardError, match="MULTI/EXEC"):
                async with r.pipeline() as pipe:
                    await pipe.set(f"{p}:1", 1).set(f"{p}:2", 2).set(f"{p}:3", 3).execute()
            with pytest.raises(redis.ResponseError, match=r"Command # 2 \(LPUSH"):
                async with r.pipeline(transaction=False) as pipe:
                    await pipe.set(f"{p}:w", 1).lpush(f"{p}:w", 2).execute()

            async def double(pipe):
                value = int(await pipe.get(f"{{{p}}}:a"))
                pipe.multi()
                pipe.set(f"{{{p}}}:a", value * 2)
                return value
            assert await r.transaction(double, f"{{{p}}}:a", value_from_callable=True) == 2
            assert await r.get(f"{{{p}}}:a") == b"4"

            async with r.pipeline() as pipe:
                await pipe.watch(f"{{{p}}}:a")
                await r.set(f"{{{p}}}:a", 100)
                pipe.multi()
                pipe.set(f"{{{p}}}:a", 5)
                with pytest.raises(redis.WatchError):
                    await pipe.execute()
            assert await r.get(f"{{{p}}}:a") == b"100"
            async with r.pipeline() as pipe:
                await pipe.watch(f"{{{p}}}:a")
                with pytest.raises(CrossShardError, match="watches keys on shard"):
                    await pipe.get(next(f"{p}:{i}" for i in range(99) if r.shard_for(f"{p}:{i}") != r.shard_for(f"{{{p}}}")))

    run(main())


def test_pubsub_reaches_subscribers_on_every_shard_and_shard_channels_their_owner(shared_topology):
    p = prefix()

    async def main():
        async with ShardedSentinelClient(shared_topology.sentinel_addresses, **shared_topology.client_kwargs()) as r:
            listeners = [r.pubsub(ignore_subscribe_messages=True) for _unused in range(3)]
            assert {listener.shard for listener in listeners} == {"shard1", "shard2", "shard3"}
            for listener in listeners:
                await listener.subscribe(f"{p}:news")
                assert (await listener.get_message(timeout=2)) is None
            assert await r.publish(f"{p}:news", "hello") == 3
            for listener in listeners:
                message = await listener.get_message(timeout=2)
                assert message["data"] == b"hello"
            channels = [f"{p}:c{i}" for i in range(12)]
            sharded = r.pubsub(ignore_subscribe_messages=True)
            await sharded.ssubscribe(*channels)
            assert {r.shard_for(channel) for channel in channels} == {"shard1", "shard2", "shard3"}
            for channel in channels:
                assert await r.spublish(channel, channel) == 1
            got = set()
            while len(got) < len(channels):
                message = await sharded.get_message(timeout=2)
                assert message is not None, f"missing {set(channels) - got}"
                got.add(message["data"].decode())
            for pubsub in listeners + [sharded]:
                await pubsub.aclose()

    run(main())


def test_lock_and_scripts_work_on_every_shard(shared_topology):
    p = prefix()

    async def main():
        async with ShardedSentinelClient(shared_topology.sentinel_addresses, **shared_topology.client_kwargs()) as r:
            for i in range(6):
                lock = r.lock(f"{p}:lock{i}", timeout=5, blocking_timeout=1)
                assert await lock.acquire()
                assert not await r.lock(f"{p}:lock{i}", blocking_timeout=0.1).acquire()
                await lock.release()
            script = r.register_script("return redis.call('INCRBY', KEYS[1], ARGV[1])")
            assert [await script(keys=[f"{p}:s{i}"], args=[i]) for i in range(6)] == list(range(6))

    run(main())


def test_durable_writes_wait_in_the_same_round_trip_and_refuse_more_than_the_replicas(shared_topology):
    p = prefix()

    async def main():
        kwargs = dict(shared_topology.client_kwargs(), socket_timeout=5)
        async with ShardedSentinelClient(shared_topology.sentinel_addresses, durable_writes=1, **kwargs) as r:
            assert await r.set(f"{p}:a", 1) is True
            assert await r.mset({f"{p}:{i}": i for i in range(30)}) is True
            async with r.pipeline() as pipe:
                assert await pipe.incr(f"{{{p}}}:x").incr(f"{{{p}}}:x").execute() == [1, 2]
            async with r.pipeline() as pipe:
                await pipe.watch(f"{{{p}}}:x")
                assert await pipe.set(f"{{{p}}}:y", 1) is True
                pipe.multi()
                pipe.incr(f"{{{p}}}:x")
                assert await pipe.execute() == [3]
        r = ShardedSentinelClient(shared_topology.sentinel_addresses, durable_writes=2, **kwargs)
        with pytest.raises(ValueError, match="more than the replicas"):
            await r.initialize()
        with pytest.raises(redis.RedisError, match="closed"):
            await r.get(f"{p}:a")
        replica = shared_topology.shard("shard1").replica
        async with ShardedSentinelClient(shared_topology.sentinel_addresses, durable_writes=1, durable_timeout=0.2,
                                         **kwargs) as r:
            key = next(f"{p}:d{i}" for i in range(999) if r.shard_for(f"{p}:d{i}") == "shard1")
            replica.kill(signal.SIGSTOP)  # the replica cannot acknowledge the write for a while
            try:
                with pytest.raises(DurabilityError) as raised:
                    await r.set(key, 1)
            finally:
                replica.kill(signal.SIGCONT)
            assert (raised.value.shard, raised.value.acknowledged, raised.value.required) == ("shard1", 0, 1)

    run(main())


def test_reads_from_replicas_and_clients_of_one_shard(shared_topology):
    p = prefix()

    async def main():
        async with ShardedSentinelClient(shared_topology.sentinel_addresses, read_from_replicas=True,
                                         **shared_topology.client_kwargs()) as r:
            await r.set(f"{p}:r", "v")
            await r.wait(1, 1000)
            assert await r.get(f"{p}:r") == b"v"
            assert (await r.shard_client("shard2").ping()) is True
            assert sorted(r.connection_pool) == ["shard1", "shard2", "shard3"]
            assert r.get_connection_kwargs()["username"] == shared_topology.users["app"].username
            assert r.master_for_shard("shard3") == shared_topology.shard("shard3").master.address

    run(main())


def test_aclose_ends_every_task_and_connection(shared_topology):
    async def main():
        tasks_before, sockets_before = set(asyncio.all_tasks()), _sockets()
        r = ShardedSentinelClient.from_url(
            f"redis+sentinel://{shared_topology.users['app'].username}:{shared_topology.users['app'].password}@"
            + ",".join(shared_topology.sentinel_addresses)
            + f"?sentinel_username={shared_topology.sentinel_users['client'].username}"
            + f"&sentinel_password={shared_topology.sentinel_users['client'].password}&read_from_replicas=yes")
        assert await r.wait_for_switch_listener(5)
        assert r.subscribed_sentinels == sorted(shared_topology.sentinel_addresses)
        await r.mset({f"close:{i}": i for i in range(30)})
        await r.mget([f"close:{i}" for i in range(30)])
        assert set(asyncio.all_tasks()) - tasks_before
        assert _sockets() - sockets_before
        await r.aclose()
        await asyncio.sleep(0.05)
        assert set(asyncio.all_tasks()) - tasks_before == set()
        assert _sockets() - sockets_before == set()
        with pytest.raises(redis.RedisError, match="closed"):
            await r.get("close:1")

    run(main())
