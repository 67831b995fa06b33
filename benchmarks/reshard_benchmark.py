"""Resharding benchmark (issue 10), on demand, not a test. Starts its own local servers.

1. Keys migrated per second, 2 -> 3 shards: the shardinel.redis.reshard module (run as Ansible runs it) against a plain
   SCAN + DUMP / RESTORE + DEL loop (pipelined per SCAN page) on the same data, in the same run.
2. p99 GET latency of a shardinel client built before the reshard (no service_names, so it follows the layout) while the
   module migrates, against its p99 just before; also the GETs that missed a key that exists.

Run: cd /work/main && .venv/bin/python benchmarks/reshard_benchmark.py [--keys N] [--latency RATE:BATCH ...]
(defaults: 1,000,000 keys; two latency runs, unthrottled with batch 1000 (the module's default) and with batch 100;
each run reloads the keys.)
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "plugins" / "module_utils"), str(ROOT / "tests" / "unit"),
                str(ROOT / "tests" / "unit" / "plugins" / "modules")]

from figures import print_table, row  # noqa: E402
from module_runner import COLLECTIONS, connection_args  # noqa: E402
from redis_topology import RedisTopology  # noqa: E402
from shardinel import ShardedSentinelClient, build_slot_table, key_slot  # noqa: E402
from shardinel.layout import LEASE_MARGIN_S  # noqa: E402

TWO = ["shard1", "shard2"]
THREE = ["shard1", "shard2", "shard3"]
LOAD_BATCH = 10000
BASELINE_S = 5.0
LEASE_S = 5.0
FOLLOW_S = 1.5


def key_name(index: int) -> str:
    return f"key:{index}"


def masters(topology: RedisTopology) -> dict[str, Any]:
    return {shard.name: topology.redis_client(topology.wait_for_master_agreement(shard.name)) for shard in topology.shards}


def load(topology: RedisTopology, count: int) -> None:
    """FLUSHALL every master (the layout included), then ``count`` 16-byte strings placed by the two-shard table."""
    table = build_slot_table(TWO)
    clients = masters(topology)
    for client in clients.values():
        client.flushall()
    started = time.perf_counter()
    for first in range(0, count, LOAD_BATCH):
        pipes = {name: clients[name].pipeline(transaction=False) for name in TWO}
        for index in range(first, min(count, first + LOAD_BATCH)):
            key = key_name(index)
            pipes[table[key_slot(key)]].set(key, f"value-{index:010d}")
        for pipe in pipes.values():
            pipe.execute()
    for client in clients.values():
        client.execute_command("WAIT", 1, 1500)
        client.close()
    print(f"  loaded {count:,} keys in {time.perf_counter() - started:.1f} s", flush=True)


def reference_loop(topology: RedisTopology) -> tuple[int, float]:
    """SCAN each source; per page DUMP + PTTL the keys that move (one pipeline), RESTORE them at their new owner (one
    pipeline per target) and DEL them at the source. Returns (keys moved, seconds)."""
    table = build_slot_table(THREE)
    clients = masters(topology)
    moved = 0
    started = time.perf_counter()
    for source in TWO:
        cursor = 0
        while True:
            cursor, keys = clients[source].scan(cursor, count=1000)
            moving = [key for key in keys if table[key_slot(key)] != source]
            if moving:
                pipe = clients[source].pipeline(transaction=False)
                for key in moving:
                    pipe.dump(key)
                    pipe.pttl(key)
                replies = pipe.execute()
                targets: dict[str, Any] = {}
                for key, payload, ttl in zip(moving, replies[0::2], replies[1::2]):
                    target = table[key_slot(key)]
                    if target not in targets:
                        targets[target] = clients[target].pipeline(transaction=False)
                    targets[target].restore(key, max(ttl, 0), payload)
                for pipe in targets.values():
                    pipe.execute()
                clients[source].delete(*moving)
                moved += len(moving)
            if cursor == 0:
                break
    elapsed = time.perf_counter() - started
    for client in clients.values():
        client.close()
    return moved, elapsed


def reshard_module(topology: RedisTopology, work_dir: Path, **options: Any) -> subprocess.Popen[str]:
    args_file = work_dir / "reshard-args.json"
    args_file.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": connection_args(topology) | options}))
    return subprocess.Popen(  # pylint: disable=consider-using-with
        [sys.executable, "-m", "ansible_collections.shardinel.redis.plugins.modules.reshard", str(args_file)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=work_dir,
        env=dict(os.environ, PYTHONPATH=str(COLLECTIONS)))


def finish(process: subprocess.Popen[str]) -> dict[str, Any]:
    output, _unused = process.communicate(timeout=3600)
    result: dict[str, Any] = json.loads(output.strip().splitlines()[-1])
    if process.returncode != 0 or result.get("failed"):
        sys.exit(f"reshard failed: {result.get('msg')}\n{output[-2000:]}")
    return result


class Reader(threading.Thread):
    """GETs of random loaded keys, one after another, each timed: (start, seconds); a None reply is a miss."""

    def __init__(self, client: ShardedSentinelClient, count: int) -> None:
        super().__init__(daemon=True)
        self.client = client
        self.count = count
        self.samples: list[tuple[float, float]] = []
        self.misses = 0
        self.errors = 0
        self.halt = threading.Event()

    def run(self) -> None:
        rnd = random.Random(7)
        while not self.halt.is_set():
            key = key_name(rnd.randrange(self.count))
            started = time.perf_counter()
            try:
                value = self.client.get(key)
            except Exception:  # pylint: disable=broad-except  # counted, the benchmark goes on
                self.errors += 1
                continue
            self.samples.append((started, time.perf_counter() - started))
            if value is None:
                self.misses += 1

    def p99(self, start: float, end: float) -> tuple[float, int]:
        window = sorted(latency for moment, latency in self.samples if start <= moment <= end)
        return (window[int(len(window) * 0.99)] if window else float("nan")), len(window)


def bench_throughput(topology: RedisTopology, work_dir: Path, count: int) -> None:
    load(topology, count)
    moved, elapsed = reference_loop(topology)
    print(f"  reference loop: {moved:,} keys in {elapsed:.1f} s", flush=True)
    load(topology, count)
    finish(reshard_module(topology, work_dir, shards=TWO, adopt=True))
    result = finish(reshard_module(topology, work_dir, shards=THREE, lease=1.0))
    ours = result["keys_moved"] / result["migration_s"]
    theirs = moved / elapsed
    print(f"  reshard: {result['keys_moved']:,} keys, migration {result['migration_s']:.1f} s, whole run "
          f"{result['duration_s']:.1f} s (plan scan and 2 s lease wait included), {result['retries']} retries", flush=True)
    row(f"1. keys migrated per second, {count:,} keys, 2 -> 3 shards", f"{ours:,.0f}",
        f"{theirs:,.0f} (SCAN + DUMP/RESTORE + DEL loop)", f"{ours / theirs:.2f}", "target >= 1.0")
    total = result["keys_moved"] / result["duration_s"]
    row("1b. same, whole module run (plan scan, lease wait)", f"{total:,.0f}", f"{theirs:,.0f}", f"{total / theirs:.2f}",
        "information")


def bench_latency(topology: RedisTopology, work_dir: Path, count: int, rate: int, batch: int) -> None:
    load(topology, count)
    finish(reshard_module(topology, work_dir, shards=TWO, adopt=True))
    client = ShardedSentinelClient(topology.sentinel_addresses, **topology.client_kwargs())
    reader = Reader(client, count)
    try:
        reader.start()
        time.sleep(BASELINE_S)
        process = reshard_module(topology, work_dir, shards=THREE, rate=rate, batch=batch, lease=LEASE_S)
        started = time.perf_counter()
        result = finish(process)
        ended = time.perf_counter()
        reader.halt.set()
        reader.join()
    finally:
        client.close()
    before, before_n = reader.p99(started - BASELINE_S, started)
    during, during_n = reader.p99(ended - result["migration_s"], ended)
    # the lease wait: the client routes in migration mode (it follows a new layout within about a second) but no key moves
    moves_from = ended - result["migration_s"]
    waiting, waiting_n = reader.p99(moves_from - LEASE_S - LEASE_MARGIN_S + FOLLOW_S, moves_from)
    print(f"  GETs: {before_n:,} before, {during_n:,} during the migration ({result['migration_s']:.1f} s, "
          f"{result['keys_moved']:,} keys moved, rate {rate or 'unthrottled'}, batch {batch}); "
          f"misses {reader.misses}, errors {reader.errors}", flush=True)
    row(f"2. p99 GET during / before the migration (rate {rate or 'unthrottled'}, batch {batch})",
        f"{during * 1000:.2f} ms", f"{before * 1000:.2f} ms (same client, before)", f"{during / before:.2f}", "target <= 2.0")
    row(f"2b. p99 GET in migration mode while no key moves ({waiting_n:,} GETs in the lease wait)", f"{waiting * 1000:.2f} ms",
        f"{before * 1000:.2f} ms", f"{waiting / before:.2f}", "information: the guard script on the previous owner before it is marked")
    row(f"2c. GETs that missed an existing key / errors, whole run (batch {batch})", f"{reader.misses} / {reader.errors}",
        "-", "-", "target 0")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, default=1000000)
    parser.add_argument("--latency", nargs="*", default=["0:1000", "0:100"], metavar="RATE:BATCH",
                        help="reshard rate (keys/s, 0 = unthrottled) and batch of each latency run; none: no latency run")
    options = parser.parse_args()
    runs = [tuple(int(n) for n in run.split(":")) for run in options.latency]
    with tempfile.TemporaryDirectory() as tmp:
        topology = RedisTopology.start(Path(tmp) / "topology", shard_count=2)
        try:
            topology.add_shard("shard3")
            print("1. keys migrated per second")
            bench_throughput(topology, Path(tmp), options.keys)
            for rate, batch in runs:
                print(f"2. GET latency during the migration, rate {rate or 'unthrottled'}, batch {batch}")
                bench_latency(topology, Path(tmp), options.keys, rate, batch)
        finally:
            topology.stop()
    print_table()


if __name__ == "__main__":
    main()
