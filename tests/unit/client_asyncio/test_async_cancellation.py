"""A task cancelled in the middle of a command leaves no connection in a bad state: the next command works, gets its
own reply (not a reply left unread by the cancelled one), and no connection leaks out of the pools (each shard's
pool allows 2 here, so a leak shows as "Too many connections")."""

from __future__ import annotations

import asyncio
import random
import signal
import uuid

from async_writers import run
from shardinel.asyncio import ShardedSentinelClient


async def _cancel_after(coroutine, delay: float) -> bool:
    """Start the coroutine as a task, cancel it after ``delay`` s: True if the cancel hit it while it ran."""
    task = asyncio.ensure_future(coroutine)
    await asyncio.sleep(delay)
    task.cancel()
    await asyncio.wait([task])
    return task.cancelled()


def test_cancelled_commands_pipelines_and_transactions_leave_the_client_working(shared_topology):
    prefix = uuid.uuid4().hex[:8]
    keys = [f"{prefix}:{i}" for i in range(3000)]
    rng = random.Random(7)

    def bump(pipe):
        pipe.multi()
        pipe.incr(f"{{{prefix}}}:n")

    async def main():
        kwargs = dict(shared_topology.client_kwargs(), max_connections=2, socket_timeout=5)
        async with ShardedSentinelClient(shared_topology.sentinel_addresses, durable_writes=1, **kwargs) as client:
            await client.mset({key: key for key in keys})
            assert await _cancel_after(client.blpop([f"{{{prefix}}}:empty"], timeout=5), 0.2)
            hits = 0
            for round_number in range(40):
                delay = rng.uniform(0, 0.004)
                if round_number % 3 == 0:
                    work = client.mget(keys)
                elif round_number % 3 == 1:
                    pipe = client.pipeline(transaction=False)
                    for key in keys[:500]:
                        pipe.get(key)
                    work = pipe.execute()
                else:
                    work = client.transaction(bump, f"{{{prefix}}}:n")
                hits += await _cancel_after(work, delay)
                probe = rng.choice(keys)
                assert await client.get(probe) == probe.encode()
            assert hits > 10
            assert await client.mget(keys[:100]) == [key.encode() for key in keys[:100]]
            assert await asyncio.gather(*(client.get(key) for key in keys[:20])) == [key.encode() for key in keys[:20]]
            await client.rpush(f"{{{prefix}}}:empty", "x")
            assert await client.blpop([f"{{{prefix}}}:empty"], timeout=1) == (f"{{{prefix}}}:empty".encode(), b"x")
            assert await client.delete(*keys, f"{{{prefix}}}:n") >= len(keys)

    run(main(), timeout=120)


def test_a_task_cancelled_while_a_failover_pause_expires_releases_it(fresh_topology):
    """The pause's deadline passes while the Sentinels do not answer (stopped): the waiter that claimed the expiry is
    cancelled in the middle of asking them; the pause must still end, so that the next command goes through."""
    topology = fresh_topology

    async def main():
        async with ShardedSentinelClient(topology.sentinel_addresses, failover_timeout=2, sentinel_socket_timeout=1,
                                         follow_switch_events=False, **topology.client_kwargs()) as client:
            await client.set("{p}:k", 1)
            shard = client._core.shards[client.shard_for("{p}:k")]  # pylint: disable=protected-access
            shard.pause.hold("test", 0.2)  # as a Sentinel's +elected-leader would, with a 0.2 s deadline
            for sentinel in topology.sentinels:
                sentinel.kill(signal.SIGSTOP)
            try:
                assert await _cancel_after(client.get("{p}:k"), 0.6)  # 0.2 s wait, then 1 s asking the Sentinels
            finally:
                for sentinel in topology.sentinels:
                    sentinel.kill(signal.SIGCONT)
            assert not shard.pause.paused
            assert await asyncio.wait_for(client.get("{p}:k"), 2) == b"1"

    run(main(), timeout=60)
