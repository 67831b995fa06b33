"""The asyncio client follows failovers: a forced SENTINEL FAILOVER of every shard under concurrent writer tasks loses
no acknowledged write, a SIGKILLed master is replaced, and a client that missed a switch while its subscriptions
were down catches up from the re-sync after it resubscribes."""

from __future__ import annotations

import asyncio
import signal
import time

from async_writers import AsyncWriter, run
from failover_writer import tag_on
from shardinel.asyncio import ShardedSentinelClient

# As for the sync client: the shard waits from the leader's +elected-leader to +switch-master (about 1.1 s here).
GAP_LIMIT = 2.5


def _missing(topology, client, writers):
    """{writer's tag: (acknowledged writes missing, replica-acknowledged writes missing)} on the shards' masters now."""
    missing = {}
    for writer in writers:
        reader = topology.redis_client(client.master_for_shard(client.shard_for(writer.tag)))
        missing[writer.tag] = writer.report.missing(reader)
        reader.close()
    return missing


def test_forced_failover_of_every_shard_under_async_writers_loses_no_acknowledged_write(fresh_topology):
    topology = fresh_topology

    async def main():
        async with ShardedSentinelClient(topology.sentinel_addresses, **topology.client_kwargs()) as client:
            assert await client.wait_for_switch_listener(5)
            writers = []
            for shard in client.shards:
                writers += [AsyncWriter(client, tag_on(client, shard, f"p{i}-")).start() for i in range(4)]
                writers.append(AsyncWriter(client, tag_on(client, shard, "w-"), wait_ms=200).start())
            await asyncio.sleep(0.5)
            gaps = {}
            for shard in client.shards:
                started = time.monotonic()
                old = await asyncio.to_thread(topology.force_failover, shard)
                new = await asyncio.to_thread(topology.settle_after_failover, shard, old)
                assert client.master_for_shard(shard) == new != old
                gaps[shard] = max(writer.report.gap(after=started) for writer in writers
                                  if client.shard_for(writer.tag) == shard)
            await asyncio.sleep(0.3)
            for writer in writers:
                await writer.stop()
            missing = await asyncio.to_thread(_missing, topology, client, writers)
            acked = sum(len(writer.report.acked) for writer in writers)
            print(f"\nasync forced failovers: acked={acked} errors={sum(w.report.errors for w in writers)} "
                  f"gaps={ {k: round(v, 2) for k, v in gaps.items()} } missing={missing}")
            assert acked > 2000
            assert all(values == (0, 0) for values in missing.values()), missing
            assert all(gap < GAP_LIMIT for gap in gaps.values()), gaps
            assert await client.set(f"{{{writers[0].tag}}}:after", 1)

    run(main(), timeout=180)


def test_sigkilled_master_is_replaced(fresh_topology):
    topology = fresh_topology

    async def main():
        async with ShardedSentinelClient(topology.sentinel_addresses, **topology.client_kwargs()) as client:
            assert await client.wait_for_switch_listener(5)
            shard = "shard2"
            old = client.master_for_shard(shard)
            writers = [AsyncWriter(client, tag_on(client, shard, f"k{i}-"), wait_ms=200).start() for i in range(3)]
            await asyncio.sleep(0.5)
            started = time.monotonic()
            topology.process_at(old).kill(signal.SIGKILL)
            new = await asyncio.to_thread(topology.wait_for_master_agreement, shard, old)
            await asyncio.sleep(1.0)
            for writer in writers:
                await writer.stop()
            assert client.master_for_shard(shard) == new != old
            gap = max(writer.report.gap(after=started) for writer in writers)
            missing = await asyncio.to_thread(_missing, topology, client, writers)
            print(f"\nasync SIGKILL: gap={gap:.2f}s missing={missing}")
            assert all(writer.report.success_times[-1] > started + gap for writer in writers)
            assert gap < 6
            assert all(replica_missing == 0 for _acked, replica_missing in missing.values())

    run(main(), timeout=120)


def test_a_switch_missed_while_unsubscribed_is_caught_up_by_the_resync(fresh_topology):
    """The event loop is blocked while every Sentinel drops the client's subscriptions and shard1 fails over, so
    +switch-master reaches no subscriber; once the tasks resubscribe, the re-sync finds the new master (no command
    is sent meanwhile, so no error leads the client there)."""
    topology = fresh_topology
    admins = [topology.sentinel_client(sentinel) for sentinel in topology.sentinels]

    async def main():
        async with ShardedSentinelClient(topology.sentinel_addresses, **topology.client_kwargs()) as client:
            assert await client.wait_for_switch_listener(5)
            old = client.master_for_shard("shard1")
            for admin in admins:  # blocking calls: the client's tasks do not run until this coroutine awaits
                admin.execute_command("CLIENT", "KILL", "TYPE", "pubsub")
            topology.force_failover("shard1")
            new = topology.settle_after_failover("shard1", old)
            assert client.master_for_shard("shard1") == old
            deadline = time.monotonic() + 5
            while client.master_for_shard("shard1") != new:
                assert time.monotonic() < deadline, "the re-sync after resubscribing did not find the new master"
                await asyncio.sleep(0.05)
            assert await client.wait_for_switch_listener(5)
            assert client.subscribed_sentinels == sorted(topology.sentinel_addresses)

    try:
        run(main(), timeout=120)
    finally:
        for admin in admins:
            admin.close()
