"""Issue 10's proof: the shard set grows and shrinks under live traffic through clients built before any change.

One topology goes 2 -> 3 -> 2 shards, then 2 -> 3 again with that run killed mid-way and re-run, then 3 -> 5,
each step a run of the reshard module. A writer (SET of a growing version, INCR, DEL) and a reader (GET, which
checks it never sees nothing or an older version than one acknowledged before it asked) run on two clients
built at the start, and never rebuilt. At the end: 0 failed commands, 0 missed reads, 0 stale reads, every
acknowledged write present with its last value (no stale overwrite), every deleted key gone, every key on its
owner under the final layout and on no other shard.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from module_runner import COLLECTIONS, ModuleRunner, connection_args  # pylint: disable=import-error
from shardinel import ShardedSentinelClient, key_slot  # pylint: disable=import-error
from shardinel.layout import LAYOUT_DB, read_layout  # pylint: disable=import-error

KEYS = 1500
COUNTERS = 200
DELETABLE = 300
COLD = 3000  # keys no thread touches: the migrator moves these, most of the threads' keys are pulled by the clients


class Traffic:
    """A writer and a reader thread on their own long-lived clients; everything they saw is counted."""

    def __init__(self, writer: ShardedSentinelClient, reader: ShardedSentinelClient) -> None:
        self.writer, self.reader = writer, reader
        self.acknowledged: dict[str, int] = {}
        self.increments: dict[str, int] = {}
        self.deleted: set[str] = set()
        self.errors: list[str] = []
        self.missed: list[str] = []
        self.stale: list[str] = []
        self.reads = self.writes = 0
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._write, daemon=True), threading.Thread(target=self._read, daemon=True)]

    def preload(self) -> None:
        pipe = self.writer.pipeline(transaction=False)
        for index in range(KEYS):
            pipe.set(f"value:{index}", 0)
        for index in range(COUNTERS):
            pipe.set(f"count:{index}", 0)
        for index in range(DELETABLE):
            pipe.set(f"gone:{index}", "x")
        for index in range(COLD):
            pipe.set(f"cold:{index}", index, ex=86400)
        pipe.execute()
        self.acknowledged = {f"value:{index}": 0 for index in range(KEYS)}
        self.increments = {f"count:{index}": 0 for index in range(COUNTERS)}

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def finish(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=60)

    def _write(self) -> None:
        step = 0
        while not self.stop.is_set():
            step += 1
            key = f"value:{step % KEYS}"
            try:
                if step % 7 == 0:
                    counter = f"count:{step % COUNTERS}"
                    self.writer.incr(counter)
                    self.increments[counter] += 1
                elif step % 11 == 0 and len(self.deleted) < DELETABLE:
                    gone = f"gone:{len(self.deleted)}"
                    self.writer.delete(gone)
                    self.deleted.add(gone)
                else:
                    version = self.acknowledged[key] + 1
                    self.writer.set(key, version)
                    with self.lock:
                        self.acknowledged[key] = version
                self.writes += 1
            except Exception as exc:  # pylint: disable=broad-except
                self.errors.append(f"write {key}: {type(exc).__name__}: {exc}")
            time.sleep(0.0005)

    def _read(self) -> None:
        step = 0
        while not self.stop.is_set():
            step += 1
            key = f"value:{(step * 7919) % KEYS}"
            with self.lock:
                floor = self.acknowledged[key]
            try:
                value = self.reader.get(key)
                self.reads += 1
            except Exception as exc:  # pylint: disable=broad-except
                self.errors.append(f"read {key}: {type(exc).__name__}: {exc}")
                continue
            if value is None:
                self.missed.append(key)
            elif int(value) < floor:
                self.stale.append(f"{key}: read {int(value)} after {floor} was acknowledged")
            time.sleep(0.0005)


def reshard(run_module: ModuleRunner, topology: Any, shards: list[str], **extra: Any) -> dict[str, Any]:
    result = run_module("reshard", connection_args(topology) | {"shards": shards, "lease": 1.0, "batch": 50} | extra)
    assert result.rc == 0, result.output
    print(f"{shards}: changed={result['changed']} version={result['version']} keys_moved={result.get('keys_moved')} "
          f"slots_moved={result.get('slots_moved')} duration_s={result.get('duration_s')}")
    return result


def start_reshard(work: Path, topology: Any, shards: list[str]) -> subprocess.Popen:
    args = work / "killed-reshard.json"
    args.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": connection_args(topology)
                                | {"shards": shards, "lease": 1.0, "batch": 10, "rate": 200}}))
    return subprocess.Popen([sys.executable, "-m", "ansible_collections.shardinel.redis.plugins.modules.reshard", str(args)],
                            env=dict(os.environ, PYTHONPATH=str(COLLECTIONS)), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, cwd=work)


def masters(topology: Any) -> dict[str, Any]:
    return {shard.name: topology.redis_client(topology.wait_for_master_agreement(shard.name)) for shard in topology.shards}


def published(topology: Any):
    layouts = []
    for shard in topology.shards:
        client = topology.redis_client(topology.wait_for_master_agreement(shard.name), db=LAYOUT_DB)
        layouts.append(read_layout(client))
        client.close()
    return max((layout for layout in layouts if layout), key=lambda layout: layout.version)


def test_grow_and_shrink_under_traffic_from_clients_built_before(topology_factory: Any, run_module: ModuleRunner,
                                                                 tmp_path: Path) -> None:
    topology = topology_factory(2)
    assert reshard(run_module, topology, ["shard1", "shard2"], adopt=True)["changed"] is True
    writer = ShardedSentinelClient(topology.sentinel_addresses, **topology.client_kwargs())
    reader = ShardedSentinelClient(topology.sentinel_addresses, **topology.client_kwargs())
    traffic = Traffic(writer, reader)
    traffic.preload()
    traffic.start()
    try:
        topology.add_shard("shard3")
        assert reshard(run_module, topology, ["shard1", "shard2", "shard3"])["keys_moved"] > 0
        assert reshard(run_module, topology, ["shard1", "shard2"])["keys_moved"] > 0
        assert reshard(run_module, topology, ["shard1", "shard2"])["changed"] is False

        process = start_reshard(tmp_path, topology, ["shard1", "shard2", "shard3"])
        deadline = time.monotonic() + 60
        while sum(1 for _key in masters(topology)["shard3"].scan_iter(match="cold:*", count=1000)) < 30:
            assert process.poll() is None and time.monotonic() < deadline, "the reshard ended before it could be killed"
            time.sleep(0.05)
        process.kill()
        process.communicate()
        assert published(topology).migrating, "the killed run had finished"
        time.sleep(1.0)
        assert reshard(run_module, topology, ["shard1", "shard2", "shard3"])["resumed"] is True

        topology.add_shard("shard4")
        topology.add_shard("shard5")
        final = ["shard1", "shard2", "shard3", "shard4", "shard5"]
        assert reshard(run_module, topology, final)["keys_moved"] > 0
        time.sleep(1.5)
    finally:
        traffic.finish()
    print(f"{traffic.writes} writes and {traffic.reads} reads through clients built before the first reshard; "
          f"{len(traffic.errors)} failed, {len(traffic.missed)} missed reads, {len(traffic.stale)} stale reads")
    try:
        assert traffic.errors == [] and traffic.missed == [] and traffic.stale == []
        assert (writer.layout.version, reader.layout.version) == (published(topology).version,) * 2
        values = writer.mget(list(traffic.acknowledged))
        assert {k: v for k, v, got in zip(traffic.acknowledged, traffic.acknowledged.values(), values)
                if got is None or int(got) != v} == {}
        counts = writer.mget(list(traffic.increments))
        assert [int(c) for c in counts] == list(traffic.increments.values())
        assert not any(writer.exists(key) for key in traffic.deleted)
        assert writer.mget([f"cold:{index}" for index in range(COLD)]) == [str(index).encode() for index in range(COLD)]
        assert 86000 < writer.ttl("cold:0") <= 86400
        owners = published(topology).owners
        misplaced = {}
        seen: dict[bytes, str] = {}
        for name, client in masters(topology).items():
            for key in client.scan_iter(count=1000):
                if owners[key_slot(key)] != name or key in seen:
                    misplaced[key] = (name, seen.get(key))
                seen[key] = name
        assert misplaced == {}
        assert len(seen) == KEYS + COUNTERS + DELETABLE + COLD - len(traffic.deleted)
    finally:
        writer.close()
        reader.close()
