"""Benchmarks of shardinel.asyncio (issue 20), each beside a reference measured in the same run (not tests).

Starts 4 shards (master + replica each) and 3 Sentinels on 127.0.0.1 (tests/unit/redis_topology.py), then:

- A1. single-key SET and GET ops/s through shardinel.asyncio's client ÷ redis.asyncio.Redis on the same master,
  the same 3,000 keys, with 1 task and with 50 concurrent tasks (best of 9 interleaved rounds): target >= 0.95;
- A2. MSET and MGET of 10,000 keys over the 4 shards ÷ one redis.asyncio.Redis MSET/MGET of the same keys on one
  server (median of 7 interleaved rounds): target <= 1.0 (the four servers work at once);
- A3. three forced SENTINEL FAILOVERs of shard1, each under two plain-SET writer tasks in one event loop, one through
  shardinel.asyncio and one through redis.asyncio's Sentinel.master_for: the longest gap between acknowledged
  writes that survived (median) and the acknowledged writes lost (sum), read back once the old master is a replica;
- A4. the same writers while shard2's master is SIGKILLed (one round; the killed server is started again after).

Run: .venv/bin/python benchmarks/asyncio_benchmark.py (about 2 minutes); in ``make bench``.
"""

from __future__ import annotations

import asyncio
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "plugins" / "module_utils"), str(ROOT / "tests" / "unit"), str(ROOT / "tests" / "unit" / "client"),
                str(ROOT / "tests" / "unit" / "client_asyncio")]

import redis.asyncio as aioredis  # noqa: E402
from redis.asyncio.sentinel import Sentinel  # noqa: E402

from async_writers import AsyncWriter  # noqa: E402
from failover_writer import tag_on  # noqa: E402
from figures import print_table, row  # noqa: E402
from redis_topology import RedisTopology  # noqa: E402
from shardinel.asyncio import ShardedSentinelClient  # noqa: E402

ROUNDS = 9
FAILOVER_ROUNDS = 3


async def ops_per_second(call, keys: list[str], tasks: int) -> float:
    """Every key once, spread over ``tasks`` concurrent tasks: keys per second."""
    async def worker(share: list[str]) -> None:
        for key in share:
            await call(key)
    started = time.perf_counter()
    await asyncio.gather(*(worker(keys[index::tasks]) for index in range(tasks)))
    return len(keys) / (time.perf_counter() - started)


async def bench_single_key(topology: RedisTopology, client: ShardedSentinelClient) -> None:
    keys = [f"{{{tag_on(client, 'shard1', 'a')}}}:{i}" for i in range(3000)]
    app = topology.users["app"]
    host, port = client.master_for_shard("shard1")
    plain = aioredis.Redis(host=host, port=port, username=app.username, password=app.password)
    for tasks in (1, 50):
        for label, ours, theirs in (("SET", lambda k: client.set(k, "v"), lambda k: plain.set(k, "v")),
                                    ("GET", client.get, plain.get)):
            ours_rate, plain_rate = [], []
            for _unused in range(ROUNDS):
                ours_rate.append(await ops_per_second(ours, keys, tasks))
                plain_rate.append(await ops_per_second(theirs, keys, tasks))
            a, b = max(ours_rate), max(plain_rate)
            row(f"A1. single-key {label} ops/s, {tasks} task{'s' if tasks > 1 else ''}", f"{a:,.0f}",
                f"{b:,.0f} (redis.asyncio Redis)", f"{a / b:.3f}", "target >= 0.95")
    await plain.aclose()


async def bench_multi_key(topology: RedisTopology, client: ShardedSentinelClient) -> None:
    keys = [f"amk:{i}" for i in range(10000)]
    mapping = {key: "x" * 16 for key in keys}
    app = topology.users["app"]
    host, port = client.master_for_shard("shard1")
    plain = aioredis.Redis(host=host, port=port, username=app.username, password=app.password)
    for label, ours, theirs in (("MSET", lambda: client.mset(mapping), lambda: plain.mset(mapping)),
                                ("MGET", lambda: client.mget(keys), lambda: plain.mget(keys))):
        ours_t, plain_t = [], []
        for _unused in range(7):
            started = time.perf_counter()
            await ours()
            ours_t.append(time.perf_counter() - started)
            started = time.perf_counter()
            await theirs()
            plain_t.append(time.perf_counter() - started)
        a, b = statistics.median(ours_t), statistics.median(plain_t)
        row(f"A2. {label} 10,000 keys / {len(client.shards)} shards", f"{a * 1000:.1f} ms",
            f"{b * 1000:.1f} ms (redis.asyncio, one server)", f"{a / b:.2f}x", "target <= 1.0x")
    await plain.aclose()


async def writers_through_a_fault(topology: RedisTopology, ours: ShardedSentinelClient, theirs, shard: str, label: str,
                                  fault) -> dict[str, tuple[float, int, int]]:
    """Plain-SET writer tasks through both clients while ``fault()`` runs in a thread: {name: (gap, lost, acked)}."""
    writers = {"ours": AsyncWriter(ours, tag_on(ours, shard, f"{label}-")).start(),
               "theirs": AsyncWriter(theirs, f"redis-py-{label}").start()}
    await asyncio.sleep(1)
    started = time.monotonic()
    await asyncio.to_thread(fault)
    await asyncio.sleep(1)
    for writer in writers.values():
        await writer.stop()
    reader = topology.redis_client(ours.master_for_shard(shard))
    outcome = {}
    for name, writer in writers.items():
        gap = writer.report.durable_gap(reader, started)
        missing, _replica_missing = writer.report.missing(reader)
        outcome[name] = (gap, missing, len(writer.report.acked))
        print(f"  {label} {name}: acknowledged {len(writer.report.acked)}, lost {missing}, durable gap {gap:.2f} s",
              flush=True)
    reader.close()
    return outcome


async def bench_faults(topology: RedisTopology) -> None:
    app, sentinel_user = topology.users["app"], topology.sentinel_users["client"]
    async with ShardedSentinelClient(topology.sentinel_addresses, **topology.client_kwargs()) as ours:
        await ours.wait_for_switch_listener(5)
        sentinel = Sentinel([p.address for p in topology.sentinels], socket_timeout=1,
                            sentinel_kwargs={"username": sentinel_user.username, "password": sentinel_user.password})
        results: dict[str, list[tuple[float, int, int]]] = {"ours": [], "theirs": []}
        theirs = sentinel.master_for("shard1", username=app.username, password=app.password, socket_timeout=1)

        def forced() -> None:
            old = topology.force_failover("shard1")
            topology.settle_after_failover("shard1", old)

        for number in range(FAILOVER_ROUNDS):
            outcome = await writers_through_a_fault(topology, ours, theirs, "shard1", f"failover{number + 1}", forced)
            for name, values in outcome.items():
                results[name].append(values)
        await theirs.aclose()
        gaps = {name: statistics.median(gap for gap, _lost, _acked in values) for name, values in results.items()}
        lost = {name: (sum(v[1] for v in values), sum(v[2] for v in values)) for name, values in results.items()}
        row(f"A3. write gap, forced failover (median of {FAILOVER_ROUNDS})", f"{gaps['ours']:.2f} s",
            f"{gaps['theirs']:.2f} s (redis.asyncio master_for)",
            f"{gaps['ours'] / gaps['theirs']:.3f}" if gaps["theirs"] else "-", "target <= 0.5")
        row(f"A3b. acknowledged plain SETs lost ({FAILOVER_ROUNDS} failovers)", f"{lost['ours'][0]:,} of {lost['ours'][1]:,}",
            f"{lost['theirs'][0]:,} of {lost['theirs'][1]:,} (redis.asyncio master_for)", "-", "target 0")

        theirs = sentinel.master_for("shard2", username=app.username, password=app.password, socket_timeout=1)
        victim = topology.process_at(ours.master_for_shard("shard2"))

        def killed() -> None:
            old = victim.address
            victim.kill(signal.SIGKILL)
            topology.wait_for_master_agreement("shard2", not_address=old)
            topology.restart(victim)
            topology.settle_after_failover("shard2", old)

        outcome = await writers_through_a_fault(topology, ours, theirs, "shard2", "sigkill", killed)
        await theirs.aclose()
        for sentinel_client in sentinel.sentinels:
            await sentinel_client.aclose()
        row("A4. write gap, SIGKILLed master", f"{outcome['ours'][0]:.2f} s",
            f"{outcome['theirs'][0]:.2f} s (redis.asyncio master_for)",
            f"{outcome['ours'][0] / outcome['theirs'][0]:.3f}" if outcome["theirs"][0] else "-", "none (down-after + election)")
        row("A4b. acknowledged plain SETs lost, SIGKILLed master", f"{outcome['ours'][1]:,} of {outcome['ours'][2]:,}",
            f"{outcome['theirs'][1]:,} of {outcome['theirs'][2]:,} (redis.asyncio master_for)", "-", "target 0")


async def bench(topology: RedisTopology) -> None:
    async with ShardedSentinelClient(topology.sentinel_addresses, **topology.client_kwargs()) as client:
        print("A1. single-key GET/SET, 1 and 50 tasks")
        await bench_single_key(topology, client)
        print("A2. MGET/MSET of 10,000 keys")
        await bench_multi_key(topology, client)
    print("A3/A4. failovers under writer tasks")
    await bench_faults(topology)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        topology = RedisTopology.start(Path(tmp), shard_count=4)
        try:
            asyncio.run(bench(topology))
        finally:
            topology.stop()
    print_table("shardinel.asyncio", "reference")


if __name__ == "__main__":
    main()
