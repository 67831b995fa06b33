"""Issue 20: a reshard (the reshard module's engine, 2 -> 3 -> 2 shards) under asyncio clients built before it.

A writer task (SET of a growing version, INCR, DEL) and a reader task (GET, which must never see nothing or an
older version than one acknowledged before it asked) run on two shardinel.asyncio clients built at the start and
never rebuilt, while each reshard runs in a thread. At the end: 0 failed commands, 0 missed or stale reads, every
acknowledged write present with its last value, every deleted key gone, every key on its owner only.
"""

from __future__ import annotations

import asyncio
from typing import Any

from module_runner import ModuleRunner, connection_args  # pylint: disable=import-error
from shardinel import key_slot  # pylint: disable=import-error
from shardinel.asyncio import ShardedSentinelClient  # pylint: disable=import-error
from shardinel.layout import LAYOUT_DB, read_layout  # pylint: disable=import-error

KEYS = 600
COUNTERS = 100
DELETABLE = 200
COLD = 1500


class AsyncTraffic:
    def __init__(self, writer: Any, reader: Any) -> None:
        self.writer, self.reader = writer, reader
        self.acknowledged = {f"value:{index}": 0 for index in range(KEYS)}
        self.increments = {f"count:{index}": 0 for index in range(COUNTERS)}
        self.deleted: set[str] = set()
        self.errors: list[str] = []
        self.missed: list[str] = []
        self.stale: list[str] = []
        self.reads = self.writes = 0
        self.stop = asyncio.Event()

    async def preload(self) -> None:
        async with self.writer.pipeline(transaction=False) as pipe:
            for key in self.acknowledged:
                pipe.set(key, 0)
            for key in self.increments:
                pipe.set(key, 0)
            for index in range(DELETABLE):
                pipe.set(f"gone:{index}", "x")
            for index in range(COLD):
                pipe.set(f"cold:{index}", index, ex=86400)
            await pipe.execute()

    async def write(self) -> None:
        step = 0
        while not self.stop.is_set():
            step += 1
            key = f"value:{step % KEYS}"
            try:
                if step % 7 == 0:
                    counter = f"count:{step % COUNTERS}"
                    await self.writer.incr(counter)
                    self.increments[counter] += 1
                elif step % 11 == 0 and len(self.deleted) < DELETABLE:
                    gone = f"gone:{len(self.deleted)}"
                    await self.writer.delete(gone)
                    self.deleted.add(gone)
                else:
                    version = self.acknowledged[key] + 1
                    await self.writer.set(key, version)
                    self.acknowledged[key] = version
                self.writes += 1
            except Exception as exc:  # pylint: disable=broad-except
                self.errors.append(f"write {key}: {type(exc).__name__}: {exc}")
            await asyncio.sleep(0.0005)

    async def read(self) -> None:
        step = 0
        while not self.stop.is_set():
            step += 1
            key = f"value:{(step * 7919) % KEYS}"
            floor = self.acknowledged[key]
            try:
                value = await self.reader.get(key)
                self.reads += 1
            except Exception as exc:  # pylint: disable=broad-except
                self.errors.append(f"read {key}: {type(exc).__name__}: {exc}")
                continue
            if value is None:
                self.missed.append(key)
            elif int(value) < floor:
                self.stale.append(f"{key}: read {int(value)} after {floor} was acknowledged")
            await asyncio.sleep(0.0005)


def published(topology: Any):
    layouts = []
    for shard in topology.shards:
        client = topology.redis_client(topology.wait_for_master_agreement(shard.name), db=LAYOUT_DB)
        layouts.append(read_layout(client))
        client.close()
    return max((layout for layout in layouts if layout), key=lambda layout: layout.version)


def test_grow_and_shrink_under_async_clients_built_before(topology_factory: Any, run_module: ModuleRunner) -> None:
    topology = topology_factory(2)

    def reshard(shards: list[str], **extra: Any) -> dict[str, Any]:
        result = run_module("reshard", connection_args(topology) | {"shards": shards, "lease": 1.0, "batch": 50} | extra)
        assert result.rc == 0, result.output
        return result

    assert reshard(["shard1", "shard2"], adopt=True)["changed"] is True

    async def main() -> None:
        writer = ShardedSentinelClient(topology.sentinel_addresses, **topology.client_kwargs())
        reader = ShardedSentinelClient(topology.sentinel_addresses, **topology.client_kwargs())
        await writer.initialize()
        await reader.initialize()
        traffic = AsyncTraffic(writer, reader)
        await traffic.preload()
        tasks = [asyncio.ensure_future(traffic.write()), asyncio.ensure_future(traffic.read())]
        try:
            await asyncio.to_thread(topology.add_shard, "shard3")
            assert (await asyncio.to_thread(reshard, ["shard1", "shard2", "shard3"]))["keys_moved"] > 0
            assert (await asyncio.to_thread(reshard, ["shard1", "shard2"]))["keys_moved"] > 0
            await asyncio.sleep(1.5)
        finally:
            traffic.stop.set()
            await asyncio.gather(*tasks)
        print(f"\n{traffic.writes} writes and {traffic.reads} reads through asyncio clients built before the reshards; "
              f"{len(traffic.errors)} failed, {len(traffic.missed)} missed reads, {len(traffic.stale)} stale reads")
        try:
            assert traffic.errors == [] and traffic.missed == [] and traffic.stale == []
            final = await asyncio.to_thread(published, topology)
            assert writer.layout.version == reader.layout.version == final.version
            values = await writer.mget(list(traffic.acknowledged))
            assert {k: v for (k, v), got in zip(traffic.acknowledged.items(), values) if got is None or int(got) != v} == {}
            assert [int(c) for c in await writer.mget(list(traffic.increments))] == list(traffic.increments.values())
            assert await writer.exists(*traffic.deleted) == 0
            assert await writer.mget([f"cold:{i}" for i in range(COLD)]) == [str(i).encode() for i in range(COLD)]
            misplaced = {}
            for shard in topology.shards:
                direct = topology.redis_client(topology.wait_for_master_agreement(shard.name))
                for key in direct.scan_iter(count=1000):
                    if final.owners[key_slot(key)] != shard.name:
                        misplaced[key] = shard.name
                direct.close()
            assert misplaced == {}
        finally:
            await writer.aclose()
            await reader.aclose()

    asyncio.run(asyncio.wait_for(main(), 240))
